"""Routes of the inference surfaces: read the HTTP request, call the pipeline, write back."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from mockserver import pipeline
from mockserver.contract.api_versions import resolve_dated, resolve_v1
from mockserver.contract.errors import AzureError
from mockserver.contract.model_card import load_model_card
from mockserver.engines.base import Effects
from mockserver.engines.tape import offer_to_tape
from mockserver.faults.kinds import mock_header_error
from mockserver.faults.latency import (
    Latency,
    LatencyHeaderError,
    latency_from_header,
    pacer_for,
    reply_seconds,
)
from mockserver.http.faults import act_on_fault
from mockserver.http.gateway import add_gated
from mockserver.http.headers import json_content_type, model_headers, stream_headers
from mockserver.http.keys import DEPLOYMENT, EFFECTS, JSON_BODY, STATE, SURFACE
from mockserver.http.streaming import write_stream
from mockserver.operations.responses import routes as responses_routes
from mockserver.pipeline import IncomingCall, Target
from mockserver.serialize.json import chat_completion_body
from mockserver.serialize.models import models_list_body
from mockserver.serialize.sse import ChunkStream, StreamOptions
from mockserver.state import AppState

API_VERSION = "api-version"


def add_routes(app: web.Application) -> None:
    """Every route is gated: its api-version, then the key, before its handler runs."""
    dated_route = "/openai/deployments/{deployment}/chat/completions"
    add_gated(app, "POST", dated_route, dated_chat, resolve_dated)
    add_gated(app, "POST", "/openai/v1/chat/completions", v1_chat, resolve_v1)
    add_gated(app, "GET", "/openai/models", dated_models, resolve_dated)
    add_gated(app, "GET", "/openai/v1/models", v1_models, resolve_v1)
    responses_routes.add_routes(app)


async def dated_chat(request: web.Request) -> web.StreamResponse:
    deployment = request.match_info["deployment"]
    return await _chat(request, "dated", deployment)


async def v1_chat(request: web.Request) -> web.StreamResponse:
    return await _chat(request, "v1", None)


async def _chat(request: web.Request, surface: str, deployment: str | None) -> web.StreamResponse:
    call = IncomingCall(
        surface=surface,
        api_version=request.query.get(API_VERSION),
        headers=request.headers,
        body=await request.read(),
        deployment=deployment,
    )
    state = request.config_dict[STATE]
    effects = Effects(source="gateway")
    request[EFFECTS], request[SURFACE] = effects, surface
    taped = await offer_to_tape(request, surface)
    if taped is not None:
        return taped
    asked_latency = _asked_latency(request)
    target, body = pipeline.route_to_deployment(state, call)
    request[DEPLOYMENT], request[JSON_BODY] = target.deployment_name, body
    effects.source = "generator"
    rolled = state.roll_fault(target.deployment_name, target.deployment)
    if rolled is not None and (early := await act_on_fault(request, rolled)) is not None:
        return early
    answer = await _answer(request, state, target, body, call)
    if (early := await _apply_effects(request, answer.effects)) is not None:
        return early
    latency = asked_latency or target.deployment.latency or state.settings.latency
    return await _respond(request, state, target, answer, latency)


async def _answer(
    request: web.Request,
    state: AppState,
    target: Target,
    body: dict[str, Any],
    call: IncomingCall,
) -> pipeline.Answer:
    try:
        return await pipeline.answer_chat(state, target, body, call, request[EFFECTS])
    except AzureError as error:
        # Past the gateway, errors come from the model and carry its headers too.
        error.headers.update(_model_headers(request, target, call.surface))
        raise


async def _respond(
    request: web.Request,
    state: AppState,
    target: Target,
    answer: pipeline.Answer,
    latency: Latency,
) -> web.StreamResponse:
    surface = request[SURFACE]
    headers = _model_headers(request, target, surface)
    usage = answer.completion.usage
    if answer.request.stream:
        options = _stream_options(state, answer)
        per_frame = options.buffer_tokens if options.chunking == "buffered" else 1
        pacer = pacer_for(latency, usage, answer.digest, per_frame)
        chunks = ChunkStream(answer.completion, answer.identity, options)
        headers.update(stream_headers(answer.completion.model))
        return await write_stream(request, chunks, headers, pacer)
    delay = reply_seconds(latency, usage, answer.digest)
    if delay > 0:
        await asyncio.sleep(delay)
    body_bytes = chat_completion_body(
        answer.completion, answer.identity, answer.request.service_tier
    )
    headers["Content-Type"] = json_content_type(surface)
    return web.Response(body=body_bytes, headers=headers)


def _asked_latency(request: web.Request) -> Latency | None:
    try:
        return latency_from_header(request.headers)
    except LatencyHeaderError as error:
        raise mock_header_error(str(error)) from None


async def _apply_effects(request: web.Request, effects: Effects) -> web.StreamResponse | None:
    """What a stub asked for besides its reply: a delay, a fault."""
    if effects.delay_ms:
        await asyncio.sleep(effects.delay_ms / 1000)
    if effects.fault is not None:
        return await act_on_fault(request, effects.fault)
    return None


def _stream_options(state: AppState, answer: pipeline.Answer) -> StreamOptions:
    settings = state.settings
    return StreamOptions(
        include_usage=answer.request.include_usage,
        chunking=settings.stream_chunking,
        buffer_tokens=settings.stream_buffer_tokens,
        obfuscation=settings.stream_obfuscation,
        service_tier=answer.request.service_tier,
    )


def _model_headers(request: web.Request, target: Target, surface: str) -> dict[str, str]:
    state = request.config_dict[STATE]
    quota = state.quota.snapshot(target.deployment_name, target.deployment)
    return model_headers(target.deployment_name, state.model_session, quota, surface)


async def dated_models(request: web.Request) -> web.Response:
    return _models(request, "dated")


async def v1_models(request: web.Request) -> web.Response:
    return _models(request, "v1")


def _models(request: web.Request, surface: str) -> web.Response:
    state = request.config_dict[STATE]
    models = sorted({d.model for d in state.settings.deployments.values()})
    body = models_list_body([load_model_card(name) for name in models])
    return web.Response(body=body, headers={"Content-Type": json_content_type(surface)})
