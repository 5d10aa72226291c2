"""The body deadline: a request body that stops arriving is answered with Azure's 408.

aiohttp waits for a body as long as the client keeps the connection open; a client that
announces a length and then sends nothing would hold its handler forever. Reading the
body here, under `request_body_timeout_seconds`, bounds that for every route; the
routes then take it from the request (`BODY`).

A compressed body is decoded here too, on the CPU pool and within `max_body_bytes`:
aiohttp's own decoding (turned off in `http.connection`) ran on the event loop and, after
answering a bomb's 413, went on inflating the rest of it for seconds as it read it away.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import hdrs, web

from mockserver.contract.errors import catalogue_error
from mockserver.http.keys import BODY, DISCONNECTED
from mockserver.state import AppState
from mockserver.support.content_coding import (
    CorruptEncodingError,
    TooLargeDecodedError,
    UnsupportedEncodingError,
    decoded_within,
)
from mockserver.support.cpu_work import off_loop

log = logging.getLogger("mockserver")


async def body_in_time(request: web.Request, state: AppState) -> web.StreamResponse | None:
    """Read the body within the deadline. An answer only when there is nobody to answer
    (the client left halfway through its body); None when the route may go on."""
    if not request.body_exists:
        return None
    try:
        if request.content.is_eof():
            # All of it has arrived (most bodies, by the time the route runs): the read
            # cannot wait, so no timer is armed for it.
            body = await request.read()
        else:
            limit = state.settings.server.request_body_timeout_seconds
            body = await _read_in_time(request, limit)
        coding = request.headers.get(hdrs.CONTENT_ENCODING)
        if coding is not None:
            body = await _decoded(request, body, coding, state.settings.server.max_body_bytes)
        request[BODY] = body
    except ConnectionError:
        request[DISCONNECTED] = True  # journaled as no answer (status 0)
        return web.Response()
    except web.RequestPayloadError as error:  # e.g. Content-Encoding: gzip, not gzip
        log.warning("400: the body of %s %s could not be decoded", request.method, request.path)
        raise catalogue_error("MalformedRequest") from error
    return None


async def _decoded(request: web.Request, body: bytes, coding: str, bound: int) -> bytes:
    try:
        return await off_loop(decoded_within, body, coding, bound)
    except TooLargeDecodedError:
        raise catalogue_error("RequestTooLarge", limit=bound) from None
    except (UnsupportedEncodingError, CorruptEncodingError):
        log.warning("400: the body of %s %s could not be decoded", request.method, request.path)
        request.protocol.close()  # after this answer, as for any HTTP that does not parse
        raise catalogue_error("MalformedRequest") from None


async def _read_in_time(request: web.Request, limit: float) -> bytes:
    try:
        async with asyncio.timeout(limit):
            return await request.read()
    except TimeoutError:
        log.warning("408: the body of %s %s came too late", request.method, request.path)
        # Later reads (the journal's) fail at once instead of waiting again.
        request.content.set_exception(TimeoutError("the request body came too late"))
        raise catalogue_error("request_timeout") from None
