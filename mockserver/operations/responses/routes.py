"""Routes of the Responses API on both surfaces: create, retrieve, delete, input items."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from mockserver import pipeline
from mockserver.contract.api_versions import resolve_dated, resolve_v1
from mockserver.contract.errors import AzureError, catalogue_error, invalid_request
from mockserver.contract.request import decode_body
from mockserver.engines.base import Effects
from mockserver.engines.tape import offer_to_tape
from mockserver.faults.latency import pacer_for, reply_seconds
from mockserver.http.faults import act_on_fault
from mockserver.http.gateway import add_gated
from mockserver.http.headers import json_content_type
from mockserver.http.keys import DEPLOYMENT, EFFECTS, STATE, SURFACE
from mockserver.http.streaming import write_stream
from mockserver.operations import chat as chat_routes
from mockserver.operations.responses import service
from mockserver.operations.responses.events import ResponseEvents
from mockserver.pipeline import IncomingCall, Target
from mockserver.stores.responses import StoredResponse

API_VERSION = "api-version"
# D-LIFECYCLE: the Responses API first appears in 2025-03-01-preview.
FIRST_DATED_VERSION = "2025-03-01"
DEFAULT_PAGE = 20
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SurfaceHandler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application) -> None:
    """Gated routes: the gateway checks the api-version, then the key, before the handler."""
    for prefix, surface in (("/openai", "dated"), ("/openai/v1", "v1")):
        versions = functools.partial(check_version, surface)
        one = f"{prefix}/responses/{{response_id}}"
        add_gated(app, "POST", f"{prefix}/responses", _on(surface, create), versions)
        add_gated(app, "GET", one, _on(surface, retrieve), versions)
        add_gated(app, "DELETE", one, _on(surface, delete), versions)
        add_gated(app, "GET", f"{one}/input_items", _on(surface, input_items), versions)


def _on(surface: str, handler: SurfaceHandler) -> Handler:
    async def route(request: web.Request) -> web.StreamResponse:
        return await handler(request, surface)

    return route


def check_version(surface: str, raw: str | None) -> None:
    """v1: `v1` or `preview`; dated: a known version that has the route, else 404."""
    if surface == "v1":
        resolve_v1(raw)
    elif resolve_dated(raw).date < FIRST_DATED_VERSION:
        raise catalogue_error("ResourceNotFound")


async def create(request: web.Request, surface: str) -> web.StreamResponse:
    effects = Effects(source="gateway")
    request[EFFECTS], request[SURFACE] = effects, surface
    taped = await offer_to_tape(request, surface)
    if taped is not None:
        return taped
    asked_latency = chat_routes._asked_latency(request)
    state = request.config_dict[STATE]
    target, body, call = await _gateway(request, surface)
    request[DEPLOYMENT] = target.deployment_name
    effects.source = "generator"
    rolled = state.roll_fault(target.deployment_name, target.deployment)
    if rolled is not None and (early := await act_on_fault(request, rolled)):
        return early
    created = await _create(request, target, body, call)
    if (early := await chat_routes._apply_effects(request, effects)) is not None:
        return early
    latency = asked_latency or target.deployment.latency or state.settings.latency
    return await _respond(request, target, created, latency)


async def _gateway(
    request: web.Request, surface: str
) -> tuple[Target, dict[str, Any], IncomingCall]:
    """The chat gateway's checks; on the dated surface the body's `model` is the deployment."""
    state = request.config_dict[STATE]
    raw_version, raw = request.query.get(API_VERSION), await request.read()
    deployment = None
    if surface == "dated":  # the gateway checked the version and the key already
        deployment = _deployment_name(decode_body(raw))
    call = IncomingCall(surface, raw_version, request.headers, raw, deployment)
    target, body = pipeline.route_to_deployment(state, call)
    return target, body, call


def _deployment_name(body: dict[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str):
        raise invalid_request("you must provide a model parameter", None, None)
    return model


async def _create(
    request: web.Request, target: Target, body: dict[str, Any], call: IncomingCall
) -> service.Created:
    state = request.config_dict[STATE]
    try:
        return await service.create_response(state, target, body, call, request[EFFECTS])
    except AzureError as error:
        # Past the gateway, errors come from the model and carry its headers too.
        error.headers.update(chat_routes._model_headers(request, target, call.surface))
        raise


async def _respond(
    request: web.Request, target: Target, created: service.Created, latency: Any
) -> web.StreamResponse:
    surface = request[SURFACE]
    headers = chat_routes._model_headers(request, target, surface)
    answer = created.answer
    usage = answer.completion.usage
    if answer.request.stream:
        settings = request.config_dict[STATE].settings
        buffered = settings.stream_chunking == "buffered"
        per_frame = settings.stream_buffer_tokens if buffered else 1
        pacer = pacer_for(latency, usage, answer.digest, per_frame)
        events = ResponseEvents(created.response, per_frame)
        return await write_stream(request, events, headers, pacer)
    delay = reply_seconds(latency, usage, answer.digest)
    if delay > 0:
        await asyncio.sleep(delay)
    headers["Content-Type"] = json_content_type(surface)
    return web.Response(body=orjson.dumps(created.response), headers=headers)


def _checked(request: web.Request, surface: str) -> StoredResponse:
    state = request.config_dict[STATE]  # the gateway checked the version and the key
    request[SURFACE] = surface
    return service.stored_or_404(state, request.match_info["response_id"])


async def retrieve(request: web.Request, surface: str) -> web.StreamResponse:
    stored = _checked(request, surface)
    return _json(stored.response, surface)


async def delete(request: web.Request, surface: str) -> web.StreamResponse:
    stored = _checked(request, surface)
    response_id = stored.response["id"]
    request.config_dict[STATE].responses.delete(response_id)
    return _json({"id": response_id, "object": "response.deleted", "deleted": True}, surface)


async def input_items(request: web.Request, surface: str) -> web.StreamResponse:
    stored = _checked(request, surface)
    order = request.query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid_request(
            f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.",
            "order",
            "invalid_value",
        )
    limit = _limit(request.query.get("limit"))
    return _json(service.item_list(stored, order, limit), surface)


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


def _json(payload: dict[str, Any], surface: str) -> web.Response:
    body = orjson.dumps(payload)
    return web.Response(body=body, headers={"Content-Type": json_content_type(surface)})
