"""The body deadline: a request body that stops arriving is answered with Azure's 408.

aiohttp waits for a body as long as the client keeps the connection open; a client that
announces a length and then sends nothing would hold its handler forever. Reading the
body here, under `request_body_timeout_seconds`, bounds that for every route; the
routes then read it again from aiohttp's cache.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from mockserver.contract.errors import catalogue_error
from mockserver.http.keys import BODY, DISCONNECTED
from mockserver.state import AppState

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
            request[BODY] = await request.read()
        else:
            limit = state.settings.server.request_body_timeout_seconds
            request[BODY] = await _read_in_time(request, limit)
    except ConnectionError:
        request[DISCONNECTED] = True  # journaled as no answer (status 0)
        return web.Response()
    except web.RequestPayloadError as error:  # e.g. Content-Encoding: gzip, not gzip
        log.warning("400: the body of %s %s could not be decoded", request.method, request.path)
        raise catalogue_error("MalformedRequest") from error
    return None


async def _read_in_time(request: web.Request, limit: float) -> bytes:
    try:
        async with asyncio.timeout(limit):
            return await request.read()
    except TimeoutError:
        log.warning("408: the body of %s %s came too late", request.method, request.path)
        # Later reads (the journal's) fail at once instead of waiting again.
        request.content.set_exception(TimeoutError("the request body came too late"))
        raise catalogue_error("request_timeout") from None
