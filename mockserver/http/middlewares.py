"""The one middleware every request passes, and the envelope step: request ids, Azure's
gateway headers, errors as Azure bodies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import HttpVersion11, web
from aiohttp.typedefs import Handler

from mockserver.admin.metrics import METRICS, counted, note_first_byte
from mockserver.contract.errors import AzureError, catalogue_error
from mockserver.contract.headers import gateway_headers, new_request_id
from mockserver.http.body import body_in_time
from mockserver.http.gateway import check_gateway
from mockserver.http.journal import journaled
from mockserver.http.keys import (
    DISCONNECTED,
    ERROR_NAME,
    NO_CONTENT_TYPE,
    OWN_API_PREFIXES,
    REQUEST_ID,
    STATE,
)
from mockserver.redaction.rules import scrub_bytes
from mockserver.state import AppState

log = logging.getLogger("mockserver")

Answer = Awaitable[web.StreamResponse]


@web.middleware
async def every_request(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The steps of every request, outermost first: metrics, the envelope, the journal, the
    gateway (api-version, key), the body deadline, then the route. One middleware in which
    each step awaits the next (aiohttp chains each middleware with a partial, a wrapper
    and an await of its own), and the app's state looked up once. The mock's own APIs
    (admin, /metrics) skip the metrics, the journal and the gateway."""
    app = request.app  # this app's: aiohttp sets it around its middlewares
    state = app[STATE]
    if request.path.startswith(OWN_API_PREFIXES):
        return await in_envelope(request, state, _body_then_route(request, state, handler))
    request[DISCONNECTED] = False  # set once: every later look finds it (a miss raises)
    answering = journaled(request, state, _gated(request, state, handler))
    return await counted(request, app[METRICS], state, in_envelope(request, state, answering))


async def _gated(request: web.Request, state: AppState, handler: Handler) -> web.StreamResponse:
    check_gateway(request, state)
    nobody_to_answer = await body_in_time(request, state)  # (_body_then_route, inlined)
    return nobody_to_answer if nobody_to_answer is not None else await handler(request)


async def _body_then_route(
    request: web.Request, state: AppState, handler: Handler
) -> web.StreamResponse:
    nobody_to_answer = await body_in_time(request, state)
    return nobody_to_answer if nobody_to_answer is not None else await handler(request)


async def in_envelope(
    request: web.Request, state: AppState, answering: Answer
) -> web.StreamResponse:
    """`answering` awaited (at once) with a request id; what it raises answered as Azure does."""
    request_id = new_request_id()
    request[REQUEST_ID] = request_id
    try:
        response = await answering
    except AzureError as error:
        response = error_response(error, chunks=request.version >= HttpVersion11)
    except web.HTTPRequestEntityTooLarge:
        limit = state.settings.server.max_body_bytes
        response = error_response(catalogue_error("RequestTooLarge", limit=limit))
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        response = error_response(catalogue_error("ResourceNotFound"))
    except Exception as error:
        # A bug of ours: answer as Azure's 500 does, say so in the log, keep it for the test.
        log.exception("unhandled error on %s %s", request.method, request.path)
        state.failures.append(error)
        response = error_response(catalogue_error("server_error", request_id=request_id))
    return response


def error_response(error: AzureError, chunks: bool = False) -> web.Response:
    """`chunks`: whether the client speaks HTTP/1.1, so that an error Azure sends in chunks
    (no Content-Length) can be; HTTP/1.0 has none, its length stays."""
    body = scrub_bytes(error.body)  # a secret a client sent is never echoed back
    response = web.Response(
        status=error.status, reason=error.reason, body=body, headers=error.headers
    )
    response[ERROR_NAME] = error.name
    if error.content_type is None:
        # Azure sends some errors (DeploymentNotFound) with no Content-Type at all.
        response[NO_CONTENT_TYPE] = True
    else:
        response.headers["Content-Type"] = error.content_type
    if error.chunked and chunks:
        response.enable_chunked_encoding()
    return response


HeaderHook = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


def header_finisher(state: AppState) -> HeaderHook:
    """The on_response_prepare hook of an app with this state (its admin sub-app's answers
    included, whose request.app is the sub-app): the app's only one, as each hook is a
    coroutine more on every answer."""

    async def finish_headers(request: web.Request, response: web.StreamResponse) -> None:
        """Just before headers go out, streams included: note the first byte for the
        metrics, add the gateway's headers, drop aiohttp's own. Azure sends no `Server`,
        and no Content-Type on some errors (DeploymentNotFound)."""
        note_first_byte(request)
        request_id = request.get(REQUEST_ID) or new_request_id()
        # Most answers carry none of the response keys: one len() instead of two misses.
        error = response.get(ERROR_NAME, "") if len(response) else ""
        headers, region = response.headers, state.settings.server.region  # PATCHable
        for name, value in gateway_headers(request_id, request.headers, region, error).items():
            headers.setdefault(name, value)
        headers.popall("Server", None)
        if len(response) and response.get(NO_CONTENT_TYPE):
            headers.popall("Content-Type", None)

    return finish_headers
