"""The Responses API on both surfaces: create (an inference operation), then retrieve,
delete and list the input items of what was stored (resources)."""

from __future__ import annotations

from typing import Any

import orjson

from mockserver.contract.api_versions import resolve_dated, resolve_v1
from mockserver.contract.errors import AzureError, catalogue_error, invalid_request
from mockserver.operations.base import Answer, Call, Parsed, Rendered, Resource, Route, Surface
from mockserver.operations.responses import service
from mockserver.operations.responses.events import ResponseEvents
from mockserver.serialize.sse import tokens_per_frame
from mockserver.state import AppState

# D-LIFECYCLE: the Responses API first appears in 2025-03-01-preview.
FIRST_DATED_VERSION = "2025-03-01"
DEFAULT_PAGE = 20
PREFIXES: dict[Surface, str] = {"dated": "/openai", "v1": "/openai/v1"}


def check_dated_version(raw: str | None) -> None:
    """A known version that has the route, else the routing 404."""
    if resolve_dated(raw).date < FIRST_DATED_VERSION:
        raise catalogue_error("ResourceNotFound")


VERSION_CHECKS = {"dated": check_dated_version, "v1": resolve_v1}


class CreateResponse:
    name = "responses"
    parses_the_body_alone = False  # previous_response_id reads the stored responses
    routes = tuple(
        Route("POST", f"{prefix}/responses", surface, VERSION_CHECKS[surface])
        for surface, prefix in PREFIXES.items()
    )

    def deployment_in_path(self, call: Call) -> str | None:
        return None  # the body's `model` names it, on both surfaces

    async def parse(self, state: AppState, call: Call, body: dict[str, Any]) -> Parsed:
        request = await service.parse_request(state, state.stores(call.session), body)
        return Parsed(request.translation.chat, request)

    def in_own_words(self, error: AzureError, parsed: Parsed) -> AzureError:
        request: service.Request = parsed.context
        return service.in_responses_words(error, request.translation)

    async def render(self, state: AppState, call: Call, parsed: Parsed, answer: Answer) -> Rendered:
        stores = state.stores(call.session)
        response = await service.make_response(state, stores, parsed.context, answer)
        if answer.request.stream:
            settings = state.settings
            per_frame = tokens_per_frame(
                settings.streaming.chunking, settings.streaming.buffer_tokens
            )
            return Rendered(frames=ResponseEvents(response, per_frame))
        return Rendered(body=orjson.dumps(response), written_by_orjson=True)


async def retrieve(state: AppState, call: Call) -> bytes:
    stored = await service.stored_or_404(
        state.stores(call.session), call.path_params["response_id"]
    )
    return orjson.dumps(stored.response)


async def delete(state: AppState, call: Call) -> bytes:
    stores = state.stores(call.session)
    stored = await service.stored_or_404(stores, call.path_params["response_id"])
    response_id = stored.response["id"]
    await stores.responses.delete(response_id)
    return orjson.dumps({"id": response_id, "object": "response.deleted", "deleted": True})


async def input_items(state: AppState, call: Call) -> bytes:
    stores = state.stores(call.session)
    stored = await service.stored_or_404(stores, call.path_params["response_id"])
    order = call.query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid_request(
            f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.",
            "order",
            "invalid_value",
        )
    limit = _limit(call.query.get("limit"))
    after, before = call.query.get("after"), call.query.get("before")
    return orjson.dumps(service.item_list(stored, order, limit, after, before))


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise invalid_request(
            f"Invalid 'limit': expected an integer between 1 and 100, but got '{raw}' instead.",
            "limit",
            "invalid_value",
        )
    return int(raw)


def _resources() -> tuple[Resource, ...]:
    made = []
    for surface, prefix in PREFIXES.items():
        one = f"{prefix}/responses/{{response_id}}"
        check = VERSION_CHECKS[surface]
        made += [
            Resource(Route("GET", one, surface, check), retrieve),
            Resource(Route("DELETE", one, surface, check), delete),
            Resource(Route("GET", f"{one}/input_items", surface, check), input_items),
        ]
    return tuple(made)


RESOURCES = _resources()
