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
from aiohttp.typedefs import Handler

from mockserver.contract.errors import catalogue_error
from mockserver.http.keys import DISCONNECTED, STATE

log = logging.getLogger("mockserver")


@web.middleware
async def read_body_in_time(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.body_exists:
        try:
            await _read_in_time(request)
        except ConnectionError:
            # The client left halfway through its body: there is nobody to answer.
            request[DISCONNECTED] = True  # journaled as no answer (status 0)
            return web.Response()
        except web.RequestPayloadError as error:  # e.g. Content-Encoding: gzip, not gzip
            log.warning("400: the body of %s %s could not be decoded", request.method, request.path)
            raise catalogue_error("MalformedRequest") from error
    return await handler(request)


async def _read_in_time(request: web.Request) -> None:
    limit = request.config_dict[STATE].settings.server.request_body_timeout_seconds
    try:
        async with asyncio.timeout(limit):
            await request.read()
    except TimeoutError:
        log.warning("408: the body of %s %s came too late", request.method, request.path)
        # Later reads (the journal's) fail at once instead of waiting again.
        request.content.set_exception(TimeoutError("the request body came too late"))
        raise catalogue_error("request_timeout") from None
