"""The gateway's checks past the key: which deployment a request is for, and whether its
model serves the api-version asked."""

from __future__ import annotations

from typing import Any

from mockserver.config import Deployment, Settings
from mockserver.contract.api_versions import ApiVersion, resolve_dated, resolve_v1
from mockserver.contract.errors import catalogue_error, invalid_request
from mockserver.contract.model_card import ModelCard, load_model_card
from mockserver.contract.request import decode_body
from mockserver.support.values import value


@value
class Target:
    """Where a request goes once the gateway let it through."""

    version: ApiVersion
    deployment_name: str
    deployment: Deployment
    card: ModelCard


def route(
    settings: Settings,
    dated: bool,
    api_version: str | None,
    in_path: str | None,
    raw_body: bytes,
    decoded: Any = None,
) -> tuple[Target, dict[str, Any]]:
    """The deployment (named by the path, or by the body's `model`), its model gate, and
    the decoded body. When the body names the deployment it is decoded first; when the
    path does, a body that is not JSON is reported only after the gateway let it through.
    `decoded`: the body's JSON when someone decoded it already (it is not decoded twice)."""
    version = resolve_dated(api_version) if dated else resolve_v1(api_version)
    known = decoded if isinstance(decoded, dict) else None
    body = None if in_path is not None else known or decode_body(raw_body)
    name = in_path if in_path is not None else _deployment_in_body(body or {})
    deployment = settings.deployments.get(name)
    if deployment is None:
        raise catalogue_error("DeploymentNotFound")
    card = load_model_card(deployment.model)
    if settings.server.model_api_version_gate and version.date < card.min_api_version[:10]:
        raise catalogue_error("ModelApiVersionTooOld", min_api_version=card.min_api_version)
    target = Target(version, name, deployment, card)
    return target, body if body is not None else known or decode_body(raw_body)


def _deployment_in_body(body: dict[str, Any]) -> str:
    """On v1 (and for the Responses API) the body's `model` names the deployment."""
    model = body.get("model")
    if not isinstance(model, str):
        raise invalid_request("you must provide a model parameter", None, None)
    return model
