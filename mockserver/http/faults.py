"""The fault middleware: applies what x-mock-fault asks for (see mockserver.faults.kinds)."""

from __future__ import annotations

import asyncio
import hashlib

from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver.faults.kinds import (
    BODY_FAULTS,
    Fault,
    capacity_error,
    fault_from_headers,
    status_error,
)
from mockserver.http.keys import (
    DISCONNECTED,
    FAULT,
    FAULT_KIND,
    OWN_API_PREFIXES,
    REQUEST_ID,
    STATE,
)

HANG_POLL_SECONDS = 0.05


@web.middleware
async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(OWN_API_PREFIXES):
        return await handler(request)
    state = request.config_dict[STATE]
    fault = fault_from_headers(request.headers, state.fault_counter)
    if fault is not None:
        early = await act_on_fault(request, fault)
        if early is not None:
            return early
    response = await handler(request)
    # A stub may have asked for a fault too; body faults damage the answer made.
    fault = request.get(FAULT)
    if fault is not None and fault.kind in BODY_FAULTS and isinstance(response, web.Response):
        return await _damaged(request, response, fault)
    return response


async def act_on_fault(request: web.Request, fault: Fault) -> web.StreamResponse | None:
    """Apply a fault now (status, reset, hang), or leave it for the body or stream (None)."""
    settings = request.config_dict[STATE].settings
    request[FAULT_KIND] = fault.kind
    if fault.kind == "status":
        version = request.query.get("api-version", "v1")
        raise status_error(
            fault.status, request[REQUEST_ID], version, settings.fault_retry_after_ms
        )
    if fault.kind == "capacity":
        raise capacity_error(settings.fault_retry_after_ms)
    if fault.kind == "reset":
        return _reset(request)
    if fault.kind == "hang":
        return await _hang(request, settings.fault_hang_seconds)
    request[FAULT] = fault  # applied to the body after the answer, or by the stream writer
    return None


def _reset(request: web.Request) -> web.StreamResponse:
    """Drop the connection without an answer: the client sees a connection error."""
    if request.transport is not None:
        request.transport.abort()
    request[DISCONNECTED] = True  # journaled as no answer (status 0)
    return web.Response()


async def _hang(request: web.Request, bound_seconds: float) -> web.StreamResponse:
    """Answer nothing until the client gives up, or, after the bound, Azure's 408."""
    waited = 0.0
    while waited < bound_seconds:
        if request.transport is None or request.transport.is_closing():
            request[DISCONNECTED] = True  # the client gave up: no answer was sent
            return web.Response()
        await asyncio.sleep(HANG_POLL_SECONDS)
        waited += HANG_POLL_SECONDS
    raise status_error(408, request[REQUEST_ID], "", 0)


async def _damaged(
    request: web.Request, response: web.Response, fault: Fault
) -> web.StreamResponse:
    body = response.body if isinstance(response.body, bytes) else b""
    if fault.kind == "garbage":
        response.body = _garble(body)
        return response
    # truncate: announce the whole body, send half of it, then drop the connection.
    damaged = web.StreamResponse(status=response.status, headers=response.headers)
    damaged.content_length = len(body)
    await damaged.prepare(request)
    await damaged.write(body[: len(body) // 2])
    if request.transport is not None:
        request.transport.abort()
    return damaged


def _garble(body: bytes) -> bytes:
    """The body's first third, then bytes that are neither JSON nor UTF-8."""
    noise = hashlib.sha256(body).digest()
    return body[: len(body) // 3] + b"\xff\xfe\x00" + noise
