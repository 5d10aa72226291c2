"""The journal step: every inference request recorded, however it ended."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Mapping
from typing import Any, NamedTuple

from aiohttp import hdrs, web

from mockserver.contract.errors import AzureError
from mockserver.http.exchange import Exchange, exchange_of
from mockserver.http.keys import BODY, DISCONNECTED, WRITTEN_BY_ORJSON
from mockserver.pipeline import Trace
from mockserver.redaction.rules import MASK, journal_policy, scrub_bytes, scrub_text
from mockserver.state import AppState
from mockserver.stores.journal_entry import as_text, kept_body, masked_head, response_body
from mockserver.stores.journal_row import JournalRow
from mockserver.stores.sessions import DEFAULT_SESSION, SessionError, session_of
from mockserver.support.content_coding import (
    CorruptEncodingError,
    TooLargeDecodedError,
    UnsupportedEncodingError,
    decoded_within,
)
from mockserver.support.cpu_work import off_loop

log = logging.getLogger("mockserver")


async def journaled(
    request: web.Request, state: AppState, answering: Awaitable[web.StreamResponse]
) -> web.StreamResponse:
    """`answering` awaited (at once), and the request journaled however it ended."""
    started = time.perf_counter()
    status, answer = 500, None
    try:
        response = await answering
        answer = _whole_body(response)
        # A connection dropped before any answer (a reset, a client that gave up) is status 0.
        answered = response.prepared or not request.get(DISCONNECTED, False)
        status = response.status if answered else 0
        return response
    except AzureError as error:
        # Kept as the client gets it: a secret it sent, echoed by the error, masked.
        status, answer = error.status, WholeAnswer(scrub_bytes(error.body))
        raise
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        duration_ms = (time.perf_counter() - started) * 1000
        body = request.get(BODY)  # read within its deadline; if not, as far as it came
        if body is None:
            body = await _body(request, state.settings.server.max_body_bytes)
        await record(exchange_of(request, body), state, status, duration_ms, answer)


def _whole_body(response: web.StreamResponse) -> WholeAnswer | None:
    """A non-streamed answer's bytes (a stream's frames are not kept)."""
    body = response.body if isinstance(response, web.Response) else None
    if not isinstance(body, bytes):
        return None
    return WholeAnswer(body, len(response) > 0 and response.get(WRITTEN_BY_ORJSON, False))


class WholeAnswer(NamedTuple):
    """A whole answer's bytes; whether they are orjson's own (kept as written)."""

    body: bytes
    written_by_orjson: bool = False


async def record(
    seen: Exchange,
    state: AppState,
    status: int,
    duration_ms: float,
    answer: WholeAnswer | None = None,
) -> None:
    """Journal one inference request, with what it was answered."""
    trace = seen.trace or Trace()  # empty when refused before the pipeline
    rules = journal_policy(state.settings)  # the credentials fixture files leave out, masked
    limit = state.settings.journal.max_body_bytes
    reply, usage = trace.reply, trace.usage
    head = masked_head(seen.query, seen.headers, rules)
    # In the fields' order, positionally: a NamedTuple takes 19 keywords at twice the cost.
    row = JournalRow(
        time.time(),
        seen.method,
        as_text(scrub_text(seen.path, MASK)),  # path: a key pasted into a URL, masked
        head.query,
        head.headers,
        # body; trace.json_body: None when refused before the body was decoded
        kept_body(seen.body, trace.json_body, limit, rules),
        status,
        trace.source,
        reply.stub_id if reply else None,  # stub_id
        reply.why if reply else None,  # why
        reply.elapsed_ms if reply else None,  # engine_ms
        trace.surface,
        trace.deployment,
        seen.disconnected,
        round(duration_ms, 3),
        None
        if usage is None
        else (usage.prompt_tokens, usage.completion_tokens, usage.reasoning_tokens),
        trace.fault,
        trace.replay_miss,
        _answer_body(answer, limit),  # response_body
        head.headers_bytes,
    )
    try:
        await state.stores(_session(seen.headers)).journal.record(row)
    except AzureError as unavailable:  # a shared store that does not answer: the answer stands
        log.warning(
            "the journal could not record %s %s: %s", seen.method, seen.path, unavailable.name
        )


def _answer_body(answer: WholeAnswer | None, limit: int) -> Any:
    if answer is None:
        return None
    return response_body(answer.body, limit, answer.written_by_orjson)


async def _body(request: web.Request, bound: int) -> bytes | None:
    """The body as the route read it; None when it has not all arrived. The journal never
    waits for a body: a request refused before its body was read (a missing key) is
    answered at once, not when the client finishes sending or gives up. A compressed one
    is decoded as the body step would have (`http.body`), within `bound`."""
    if not request.content.is_eof():
        return None
    try:
        raw = await request.read()
        coding = request.headers.get(hdrs.CONTENT_ENCODING)
        return raw if coding is None else await off_loop(decoded_within, raw, coding, bound)
    except (web.HTTPException, web.RequestPayloadError, ConnectionError, TimeoutError):
        return b""  # too large, undecodable, late, or the client is gone: nothing to keep
    except (UnsupportedEncodingError, CorruptEncodingError, TooLargeDecodedError):
        return b""  # a body that does not decode, or not within the bound


def _session(headers: Mapping[str, str]) -> str:
    """The session whose journal keeps the request; a bad id is journaled in the default."""
    try:
        return session_of(headers)
    except SessionError:
        return DEFAULT_SESSION
