"""The journal middleware: every inference request recorded, however it ended."""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver.api.keys import DEPLOYMENT, DISCONNECTED, EFFECTS, JSON_BODY, STATE, SURFACE
from mockserver.errors import AzureError
from mockserver.journal import JournalEntry, decode_for_journal, masked

ADMIN_PREFIX = "/__admin"


@web.middleware
async def record_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        # A connection dropped before any answer (a reset, a client that gave up) is status 0.
        answered = response.prepared or not request.get(DISCONNECTED, False)
        status = response.status if answered else 0
        return response
    except AzureError as error:
        status = error.status
        raise
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        await _record(request, status, (time.perf_counter() - started) * 1000)


async def _record(request: web.Request, status: int, duration_ms: float) -> None:
    journal = request.config_dict[STATE].journal
    body, text = request.get(JSON_BODY), None
    if body is None:  # refused before the route decoded it
        body, text = decode_for_journal(await _body(request))
    effects = request.get(EFFECTS)
    entry = JournalEntry(
        id=0,  # numbered by the journal
        time=time.time(),
        method=request.method,
        path=request.path,
        query=dict(request.query),
        headers=masked(request.headers),
        body=body,
        body_text=text,
        status=status,
        source=effects.source if effects else "gateway",
        stub_id=effects.stub_id if effects else None,
        surface=request.get(SURFACE, ""),
        deployment=request.get(DEPLOYMENT, ""),
        stream=bool(isinstance(body, dict) and body.get("stream")),
        disconnected=request.get(DISCONNECTED, False),
        duration_ms=round(duration_ms, 3),
    )
    journal.record(entry)


async def _body(request: web.Request) -> bytes:
    try:
        return await request.read()
    except (web.HTTPException, ConnectionError):
        return b""  # too large, or the client is gone: nothing to keep
