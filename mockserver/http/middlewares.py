"""The outermost middleware: request ids, Azure's gateway headers, errors as Azure bodies."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver.contract.errors import AzureError, catalogue_error
from mockserver.contract.headers import gateway_headers, new_request_id
from mockserver.http.keys import ERROR_NAME, NO_CONTENT_TYPE, REQUEST_ID, STATE
from mockserver.redaction.rules import scrub_bytes

log = logging.getLogger("mockserver")


@web.middleware
async def azure_envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = new_request_id()
    request[REQUEST_ID] = request_id
    try:
        response = await handler(request)
    except AzureError as error:
        response = error_response(error)
    except web.HTTPRequestEntityTooLarge:
        limit = request.config_dict[STATE].settings.server.max_body_bytes
        response = error_response(catalogue_error("RequestTooLarge", limit=limit))
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        response = error_response(catalogue_error("ResourceNotFound"))
    except Exception as error:
        # A bug of ours: answer as Azure's 500 does, say so in the log, keep it for the test.
        log.exception("unhandled error on %s %s", request.method, request.path)
        request.config_dict[STATE].failures.append(error)
        response = error_response(catalogue_error("server_error", request_id=request_id))
    return response


def error_response(error: AzureError) -> web.Response:
    body = scrub_bytes(error.body)  # a secret a client sent is never echoed back
    response = web.Response(status=error.status, body=body, headers=error.headers)
    response[ERROR_NAME] = error.name
    if error.content_type is None:
        # Azure sends some errors (DeploymentNotFound) with no Content-Type at all.
        response[NO_CONTENT_TYPE] = True
    else:
        response.headers["Content-Type"] = error.content_type
    return response


async def finish_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Just before headers go out, streams included: add the gateway's, drop aiohttp's own.

    Azure sends no `Server`, and no Content-Type on some errors (DeploymentNotFound).
    """
    request_id = request.get(REQUEST_ID) or new_request_id()
    region = request.config_dict[STATE].settings.server.region
    error = response.get(ERROR_NAME, "")
    for name, value in gateway_headers(request_id, request.headers, region, error).items():
        response.headers.setdefault(name, value)
    response.headers.popall("Server", None)
    if response.get(NO_CONTENT_TYPE):
        response.headers.popall("Content-Type", None)
