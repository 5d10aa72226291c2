"""The journal middleware: every inference request recorded, however it ended."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver.contract.errors import AzureError
from mockserver.engines.base import Effects
from mockserver.http.keys import (
    DEPLOYMENT,
    DISCONNECTED,
    EFFECTS,
    JSON_BODY,
    OWN_API_PREFIXES,
    STATE,
    SURFACE,
)
from mockserver.redaction.rules import MASK, journal_policy, scrub_text
from mockserver.stores.journal import (
    JournalEntry,
    body_fields,
    masked,
    masked_query,
    response_body,
    scrubbed_body,
)


@web.middleware
async def record_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(OWN_API_PREFIXES):
        return await handler(request)
    started = time.perf_counter()
    status, answer = 500, None
    try:
        response = await handler(request)
        answer = _whole_body(response)
        # A connection dropped before any answer (a reset, a client that gave up) is status 0.
        answered = response.prepared or not request.get(DISCONNECTED, False)
        status = response.status if answered else 0
        return response
    except AzureError as error:
        status, answer = error.status, error.body
        raise
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        await _record(request, status, (time.perf_counter() - started) * 1000, answer)


def _whole_body(response: web.StreamResponse) -> bytes | None:
    """A non-streamed answer's bytes (a stream's frames are not kept)."""
    body = response.body if isinstance(response, web.Response) else None
    return body if isinstance(body, bytes) else None


async def _record(
    request: web.Request, status: int, duration_ms: float, answer: bytes | None = None
) -> None:
    state = request.config_dict[STATE]
    parsed = request.get(JSON_BODY)  # None when refused before the route decoded it
    rules = journal_policy(state.settings)  # the credentials fixture files leave out, masked
    raw = await _body(request)
    body = scrubbed_body(body_fields(raw, parsed, state.settings.journal_max_body_bytes), rules)
    effects = request.get(EFFECTS)
    entry = JournalEntry(
        id=0,  # numbered by the journal
        time=time.time(),
        method=request.method,
        path=scrub_text(request.path, MASK),  # a key pasted into a URL
        query=masked_query(request.query, rules),
        headers=masked(request.headers, rules),
        **body,
        status=status,
        source=effects.source if effects else "gateway",
        stub_id=effects.stub_id if effects else None,
        surface=request.get(SURFACE, ""),
        deployment=request.get(DEPLOYMENT, ""),
        stream=_asks_for_stream(body["body"] if parsed is None else parsed),
        disconnected=request.get(DISCONNECTED, False),
        duration_ms=round(duration_ms, 3),
        **_answer_fields(effects),
        response_body=response_body(answer, state.settings.journal_max_body_bytes),
    )
    state.journal.record(entry)


def _answer_fields(effects: Effects | None) -> dict[str, Any]:
    """What the dashboard shows of the answer: its tokens, the fault, why replay missed."""
    if effects is None:
        return {}
    usage = effects.usage
    return {
        "usage": None
        if usage is None
        else {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
        },
        "fault": None if effects.fault is None else effects.fault.kind,
        "replay_miss": effects.replay_miss,
    }


def _asks_for_stream(body: Any) -> bool:
    return bool(isinstance(body, dict) and body.get("stream"))


async def _body(request: web.Request) -> bytes | None:
    """The body as the route read it; None when it has not all arrived. The journal never
    waits for a body: a request refused before its body was read (a missing key) is
    answered at once, not when the client finishes sending or gives up."""
    if not request.content.is_eof():
        return None
    try:
        return await request.read()
    except (web.HTTPException, web.RequestPayloadError, ConnectionError, TimeoutError):
        return b""  # too large, undecodable, late, or the client is gone: nothing to keep
