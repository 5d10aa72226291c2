"""Record and replay at the HTTP level: bodies byte for byte, streams frame by frame.

With fixtures configured, a chat request is first offered to the tape: a matching stub
still wins; then a recorded interaction replays; then, when the record mode allows, the
request goes to the upstream and what comes back is relayed and recorded (bytes as they
are, within the upstream_* timeouts and size bound); otherwise the miss is answered with
the nearest interaction named (or the generator answers, if configured so).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from mockserver.admin.metrics import note_record, note_replay
from mockserver.config import Settings
from mockserver.contract.errors import AzureError, catalogue_error
from mockserver.engines.matching import RequestView
from mockserver.http.keys import EFFECTS, NO_CONTENT_TYPE, STATE
from mockserver.recordings.capture import BodyTooLargeError, Capture
from mockserver.recordings.content_coding import (
    CorruptEncodingError,
    Decoder,
    UnsupportedEncodingError,
)
from mockserver.recordings.fixtures import (
    UPSTREAM_PLACEHOLDER,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)
from mockserver.recordings.tape import Recorded
from mockserver.redaction.masking import scrub_urls
from mockserver.redaction.rules import fixture_policy, redact_interaction, scrub_text
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
        note_replay(request, hit is not None)
        if hit is not None:
            request[EFFECTS].source = f"fixture:{hit.source}"
            return await replay(request, hit, settings)
    if state.may_record():
        return await record(request, state, recorded_request)
    if settings.replay_miss == "generate":
        return None
    request[EFFECTS].source = "fixture-miss"
    request[EFFECTS].replay_miss = tape.nearest(recorded_request)
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
    answer = await recorded.answer()
    headers = {k: v for k, v in answer.headers.items() if k.lower() not in _DROPPED_HEADERS}
    if answer.frames is None:
        return _exact_response(answer.status, answer.body_bytes(), headers)
    response = web.StreamResponse(status=answer.status, headers=headers)
    try:
        await response.prepare(request)
        previous = 0.0
        for frame in answer.frames:
            await asyncio.sleep(_pause(frame.offset_ms - previous, settings.replay_timing))
            previous = frame.offset_ms
            await response.write(answer.frame_bytes(frame))
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

# The upstream's answer failed: nothing of it is recorded.
_UPSTREAM_FAILURES = (aiohttp.ClientError, CorruptEncodingError, BodyTooLargeError, TimeoutError)


async def record(
    request: web.Request, state: AppState, recorded_request: RecordedRequest
) -> web.StreamResponse:
    """Ask the upstream; relay and record its answer. A stream is passed on as it
    arrives; any other answer is taken whole (spooled, bounded) first, so that one too
    large, cut or silent is still answered with an Azure error instead of a torn body."""
    request[EFFECTS].source = "upstream"
    started = time.perf_counter()
    upstream = await _ask_upstream(request, state)
    async with upstream:
        _refuse_a_declared_excess(upstream, state.settings)
        decoder = _decoder(upstream)
        streamed = upstream.headers.get("Content-Type", "").startswith("text/event-stream")
        capture = Capture(state.settings.upstream_max_body_bytes, streamed)
        exchange = _Exchange(request, state, recorded_request, upstream, decoder, capture, started)
        try:
            return await (_relay_stream(exchange) if streamed else _relay_body(exchange))
        finally:
            capture.close()


@dataclass(frozen=True)
class _Exchange:
    """One recording under way: the client's request, the upstream's answer, the capture."""

    request: web.Request
    state: AppState
    asked: RecordedRequest
    upstream: aiohttp.ClientResponse
    decoder: Decoder
    capture: Capture
    started: float

    def since(self) -> float:
        """Milliseconds since the request went upstream: when each frame arrived."""
        return round((time.perf_counter() - self.started) * 1000, 1)


async def _ask_upstream(request: web.Request, state: AppState) -> aiohttp.ClientResponse:
    settings = state.settings
    url = (settings.upstream or "").rstrip("/") + request.path_qs
    headers = {
        k: v
        for k, v in request.headers.items()
        if k.lower() not in _DROPPED_HEADERS and not k.lower().startswith("x-mock-")
    }
    # What is only relayed is not transformed: ask for the bytes as they are.
    headers["Accept-Encoding"] = "identity"
    timeout = aiohttp.ClientTimeout(
        total=settings.upstream_total_timeout_seconds,
        sock_connect=settings.upstream_connect_timeout_seconds,
        sock_read=settings.upstream_read_timeout_seconds,
    )
    body = await request.read()
    try:
        return await state.http_session().request(
            request.method, url, data=body, headers=headers, timeout=timeout
        )
    except aiohttp.ConnectionTimeoutError:
        raise _upstream_error(
            f"the upstream {settings.upstream} could not be reached within "
            f"{settings.upstream_connect_timeout_seconds} s"
        ) from None
    except TimeoutError:
        raise _silent_upstream(settings) from None
    except aiohttp.ClientError as error:
        raise _upstream_error(
            f"the upstream {settings.upstream} could not be reached: {error}"
        ) from None


def _refuse_a_declared_excess(upstream: aiohttp.ClientResponse, settings: Settings) -> None:
    """An answer that says it is too large is refused before any of it is read."""
    encoded = upstream.headers.get("Content-Encoding", "identity").lower() != "identity"
    if not encoded and (upstream.content_length or 0) > settings.upstream_max_body_bytes:
        raise _too_large(settings)


def _decoder(upstream: aiohttp.ClientResponse) -> Decoder:
    """How to undo the answer's Content-Encoding, or a 502 if the recorder cannot."""
    declared = upstream.headers.get("Content-Encoding", "")
    try:
        return Decoder(declared)
    except UnsupportedEncodingError:
        raise _upstream_error(
            f"the upstream answered in Content-Encoding {declared!r}, which is not recorded"
        ) from None


async def _decoded(upstream: aiohttp.ClientResponse, decoder: Decoder) -> AsyncIterator[bytes]:
    async for chunk in upstream.content.iter_any():
        for piece in decoder.feed(chunk):
            yield piece
    decoder.finish()


async def _relay_body(exchange: _Exchange) -> web.StreamResponse:
    """Take the whole answer, record it, then send it: a client that has it whole knows
    it is on disk."""
    request, upstream, capture = exchange.request, exchange.upstream, exchange.capture
    settings = exchange.state.settings
    try:
        async for piece in _decoded(upstream, exchange.decoder):
            capture.add(piece)
        capture.finish()
    except TimeoutError:
        raise _silent_upstream(settings) from None
    except BodyTooLargeError:
        raise _too_large(settings) from None
    except (aiohttp.ClientError, CorruptEncodingError) as error:
        raise _upstream_error(f"the upstream's answer broke off: {error}") from None
    headers = _kept(upstream)
    await _save(exchange, RecordedResponse(status=upstream.status, headers=headers))
    response = web.StreamResponse(status=upstream.status, headers=headers)
    response.content_length = capture.size
    if not any(name.lower() == "content-type" for name in headers):
        response[NO_CONTENT_TYPE] = True
    try:
        await response.prepare(request)
        for piece in capture.pieces():
            await response.write(piece)
        await response.write_eof()
    except ConnectionError:
        log.info("client disconnected during a recorded answer on %s", request.path)
    return response


def _exact_response(status: int, body: bytes, headers: dict[str, str]) -> web.Response:
    """The body and headers as given: no Content-Type added where the original had none."""
    response = web.Response(status=status, body=body, headers=headers)
    if not any(name.lower() == "content-type" for name in headers):
        response[NO_CONTENT_TYPE] = True
    return response


async def _relay_stream(exchange: _Exchange) -> web.StreamResponse:
    """Pass each piece on as it arrives (recording adds no delay) and keep it. The stream
    is recorded before its end is sent; one that fails on the way is cut, not recorded,
    except a cut made by the upstream itself, which is recorded as cut. A client that
    leaves early (the SDK closes once it has read [DONE]) does not stop the recording."""
    request, upstream, capture = exchange.request, exchange.upstream, exchange.capture
    headers = _kept(upstream)
    response = web.StreamResponse(status=upstream.status, headers=headers)
    await response.prepare(request)
    cut, client_here = False, True
    try:
        async for piece in _decoded(upstream, exchange.decoder):
            capture.add(piece, exchange.since())
            client_here = client_here and await _passed_on(request, response, piece)
    except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError):
        cut = True
    except _UPSTREAM_FAILURES as error:
        log.warning("a recorded stream on %s failed, not recorded: %r", request.path, error)
        _abort(request)
        return response
    capture.finish(exchange.since())
    await _save(exchange, RecordedResponse(status=upstream.status, headers=headers, cut=cut))
    if cut:
        _abort(request)  # the upstream cut this stream; so does the recorder
    elif client_here:
        await _passed_on(request, response, b"", end=True)
    return response


async def _passed_on(
    request: web.Request, response: web.StreamResponse, piece: bytes, end: bool = False
) -> bool:
    """Write to the client; False once it has gone (the recording goes on without it)."""
    try:
        await (response.write_eof() if end else response.write(piece))
    except ConnectionError:
        log.info("client left during a recorded stream on %s", request.path)
        return False
    return True


def _abort(request: web.Request) -> None:
    """End the connection with no closing chunk: the client sees the answer cut short."""
    if request.transport is not None:
        request.transport.abort()


def _kept(upstream: aiohttp.ClientResponse) -> dict[str, str]:
    return {k: v for k, v in upstream.headers.items() if k.lower() not in _DROPPED_HEADERS}


async def _save(exchange: _Exchange, response: RecordedResponse) -> None:
    """Redact, then write (on a thread: it syncs to disk): secrets never reach the file."""
    asked, capture, state = exchange.asked, exchange.capture, exchange.state
    interaction = Interaction(
        request=asked.model_copy(update={"headers": _without_mock_headers(asked.headers)}),
        response=response.model_copy(update={"encoding": capture.encoding}),
        recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        upstream=UPSTREAM_PLACEHOLDER,
    )
    interaction = redact_interaction(interaction, fixture_policy(state.settings))
    await asyncio.to_thread(state.cassette().add, interaction, capture, scrub_text)
    note_record(exchange.request)


def _without_mock_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if not k.lower().startswith("x-mock-")}


def _silent_upstream(settings: Settings) -> AzureError:
    """Azure's own answer to an operation that takes too long (408 "Timeout")."""
    log.warning(
        "the upstream was silent for %s s or took over %s s in all; answered 408",
        settings.upstream_read_timeout_seconds,
        settings.upstream_total_timeout_seconds,
    )
    return catalogue_error("request_timeout")


def _too_large(settings: Settings) -> AzureError:
    message = (
        f"The upstream's answer is larger than {settings.upstream_max_body_bytes} bytes "
        "(upstream_max_body_bytes); it was neither relayed nor recorded."
    )
    body = orjson.dumps({"error": {"code": "UpstreamResponseTooLarge", "message": message}})
    return AzureError(502, body, name="UpstreamResponseTooLarge")


def _upstream_error(message: str) -> AzureError:
    # The upstream URL (and aiohttp's text about it) may carry credentials: never echoed.
    masked = scrub_urls(message)
    body = orjson.dumps({"error": {"code": "UpstreamUnavailable", "message": masked}})
    return AzureError(502, body, name="UpstreamUnavailable")
