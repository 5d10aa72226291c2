"""Operations o3-mini does not do (completions, embeddings): Azure's 400
OperationNotSupported naming the operation and the deployment's model, once the key, the
api-version and the deployment have passed, as Azure answers them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mockserver.contract.api_versions import resolve_dated, resolve_v1
from mockserver.contract.deployments import route
from mockserver.contract.errors import catalogue_error
from mockserver.operations.base import Call, Resource, Route
from mockserver.state import AppState

Serve = Callable[[AppState, Call], Awaitable[bytes]]


def refusal(operation: str) -> Serve:
    async def refuse(state: AppState, call: Call) -> bytes:
        in_path = call.path_params.get("deployment")
        # A dated route names the deployment in its path: the body is never read (b"{}"
        # stands for it); on v1 the body's `model` names it.
        body = call.body if in_path is None else b"{}"
        target, _ = route(state.settings, in_path is not None, call.api_version, in_path, body)
        model = target.deployment.model
        raise catalogue_error("OperationNotSupported", operation=operation, model=model)

    return refuse


UNSUPPORTED = tuple(
    resource
    for operation, name in (("completion", "completions"), ("embeddings", "embeddings"))
    for resource in (
        Resource(
            Route("POST", f"/openai/deployments/{{deployment}}/{name}", "dated", resolve_dated),
            refusal(operation),
        ),
        Resource(Route("POST", f"/openai/v1/{name}", "v1", resolve_v1), refusal(operation)),
    )
)
