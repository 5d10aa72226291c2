"""Record and replay at the HTTP level: bodies byte for byte, streams frame by frame.

With fixtures configured, a chat request is first offered to the tape: a matching stub
still wins; then a recorded interaction replays; then, when the record mode allows, the
request goes to the upstream and what comes back is streamed to the client as it arrives
and recorded; otherwise the miss is answered with the nearest interaction named (or
the generator answers, if configured so).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from mockserver.api.keys import EFFECTS, NO_CONTENT_TYPE, STATE
from mockserver.config import Settings
from mockserver.errors import AzureError
from mockserver.fixtures import (
    UPSTREAM_PLACEHOLDER,
    Frame,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    append_interaction,
)
from mockserver.matching import RequestView
from mockserver.redaction import fixture_policy, redact_interaction
from mockserver.replay import Recorded
from mockserver.state import AppState

log = logging.getLogger("mockserver")
# Not forwarded either way: hop-by-hop, recomputed, or the mock's own control headers.
_DROPPED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "accept-encoding",
        "content-encoding",
        "date",
        "server",
    }
)


async def offer_to_tape(request: web.Request, surface: str) -> web.StreamResponse | None:
    """Answer from the tape (replay or record), or None to let the pipeline answer."""
    state: AppState = request.config_dict[STATE]
    tape = state.tape
    if tape is None:
        return None
    recorded_request = await _recorded_request(request)
    if _stub_would_answer(state, recorded_request, surface):
        return None
    settings = state.settings
    if settings.record_mode != "all":
        hit = tape.take(recorded_request)
        if hit is not None:
            request[EFFECTS].source = f"fixture:{hit.source}"
            return await replay(request, hit, settings)
    if state.may_record():
        return await record(request, state, recorded_request)
    if settings.replay_miss == "generate":
        return None
    request[EFFECTS].source = "fixture-miss"
    raise _miss_error(settings, tape.explain_miss(recorded_request))


async def _recorded_request(request: web.Request) -> RecordedRequest:
    raw = await request.read()
    try:
        body: Any = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        body = raw.decode("utf-8", "replace")
    return RecordedRequest(
        method=request.method,
        path=request.path,
        query=dict(request.query),
        headers=dict(request.headers),
        body=body,
    )


def _stub_would_answer(state: AppState, recorded: RecordedRequest, surface: str) -> bool:
    """Stubs come first in the chain: a matching stub answers even when fixtures could."""
    if not state.stubs.stubs:
        return False
    body = recorded.body if isinstance(recorded.body, dict) else {}
    parts = recorded.path.split("/")
    deployment = parts[3] if surface == "dated" and len(parts) > 3 else str(body.get("model"))
    view = RequestView(
        surface, deployment, recorded.query.get("api-version"), recorded.headers, body
    )
    return state.stubs.would_answer(view)


def _miss_error(settings: Settings, explanation: str) -> AzureError:
    message = f"No recorded interaction matches this request. {explanation}"
    body = orjson.dumps({"error": {"code": "FixtureNotFound", "message": message}})
    return AzureError(settings.replay_miss_status, body, name="FixtureNotFound")


# --- replay -----------------------------------------------------------------------------


async def replay(
    request: web.Request, recorded: Recorded, settings: Settings
) -> web.StreamResponse:
    answer = recorded.interaction.response
    headers = {k: v for k, v in answer.headers.items() if k.lower() not in _DROPPED_HEADERS}
    if answer.frames is None:
        return _exact_response(answer.status, (answer.body or "").encode(), headers)
    response = web.StreamResponse(status=answer.status, headers=headers)
    try:
        await response.prepare(request)
        previous = 0.0
        for frame in answer.frames:
            await asyncio.sleep(_pause(frame.offset_ms - previous, settings.replay_timing))
            previous = frame.offset_ms
            await response.write(frame.data.encode())
        if answer.cut and request.transport is not None:
            request.transport.abort()  # the upstream cut this stream; so does the replay
            return response
        await response.write_eof()
    except ConnectionError:
        log.info("client disconnected during a replayed stream on %s", request.path)
    return response


def _pause(milliseconds: float, timing: str) -> float:
    if timing == "none" or milliseconds <= 0:
        return 0.0
    scale = 1.0 if timing == "original" else float(timing)
    return milliseconds * scale / 1000


# --- record -----------------------------------------------------------------------------


async def record(
    request: web.Request, state: AppState, recorded_request: RecordedRequest
) -> web.StreamResponse:
    settings = state.settings
    request[EFFECTS].source = "upstream"
    url = (settings.upstream or "").rstrip("/") + request.path_qs
    headers = {
        k: v
        for k, v in request.headers.items()
        if k.lower() not in _DROPPED_HEADERS and not k.lower().startswith("x-mock-")
    }
    body = await request.read()
    started = time.perf_counter()
    try:
        upstream = await state.http_session().request(
            request.method, url, data=body, headers=headers
        )
    except (aiohttp.ClientError, TimeoutError) as error:
        raise _upstream_error(
            f"the upstream {settings.upstream} could not be reached: {error}"
        ) from None
    async with upstream:
        if upstream.headers.get("Content-Type", "").startswith("text/event-stream"):
            response, recorded = await _relay_stream(request, upstream, started)
        else:
            response, recorded = await _relay_body(upstream)
    _save(state, recorded_request, recorded)
    return response


async def _relay_body(
    upstream: aiohttp.ClientResponse,
) -> tuple[web.StreamResponse, RecordedResponse]:
    text = await upstream.text()
    headers = _kept(upstream)
    recorded = RecordedResponse(status=upstream.status, headers=headers, body=text)
    return _exact_response(upstream.status, text.encode(), headers), recorded


def _exact_response(status: int, body: bytes, headers: dict[str, str]) -> web.Response:
    """The body and headers as given: no Content-Type added where the original had none."""
    response = web.Response(status=status, body=body, headers=headers)
    if not any(name.lower() == "content-type" for name in headers):
        response[NO_CONTENT_TYPE] = True
    return response


async def _relay_stream(
    request: web.Request, upstream: aiohttp.ClientResponse, started: float
) -> tuple[web.StreamResponse, RecordedResponse]:
    """Pass each chunk on as it arrives (recording adds no delay), keep whole events."""
    headers = _kept(upstream)
    response = web.StreamResponse(status=upstream.status, headers=headers)
    await response.prepare(request)
    frames: list[Frame] = []
    pending, cut = b"", False
    try:
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
            pending += chunk
            offset = round((time.perf_counter() - started) * 1000, 1)
            while b"\n\n" in pending:
                event, pending = pending.split(b"\n\n", 1)
                frames.append(Frame(offset_ms=offset, data=event.decode() + "\n\n"))
    except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError):
        cut = True
    if cut and request.transport is not None:
        request.transport.abort()
    else:
        await response.write_eof()
    return response, RecordedResponse(
        status=upstream.status, headers=headers, frames=frames, cut=cut
    )


def _kept(upstream: aiohttp.ClientResponse) -> dict[str, str]:
    return {k: v for k, v in upstream.headers.items() if k.lower() not in _DROPPED_HEADERS}


def _save(state: AppState, request: RecordedRequest, response: RecordedResponse) -> None:
    """Redact, then write: secrets never reach the file."""
    interaction = Interaction(
        request=request.model_copy(update={"headers": _without_mock_headers(request.headers)}),
        response=response,
        recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        upstream=UPSTREAM_PLACEHOLDER,
    )
    interaction = redact_interaction(interaction, fixture_policy(state.settings))
    append_interaction(state.cassette_path(), interaction)


def _without_mock_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if not k.lower().startswith("x-mock-")}


def _upstream_error(message: str) -> AzureError:
    body = orjson.dumps({"error": {"code": "UpstreamUnavailable", "message": message}})
    return AzureError(502, body, name="UpstreamUnavailable")
