"""Faults that act on the connection or on bytes already made (see faults.plan)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable

from aiohttp import web

from mockserver.faults.kinds import status_error
from mockserver.http.keys import DISCONNECTED, REQUEST_ID

HANG_POLL_SECONDS = 0.05


def reset(request: web.Request) -> web.StreamResponse:
    """Drop the connection without an answer: the client sees a connection error."""
    if request.transport is not None:
        request.transport.abort()
    request[DISCONNECTED] = True  # journaled as no answer (status 0)
    return web.Response()


async def hang(request: web.Request, bound_seconds: float) -> web.StreamResponse:
    """Answer nothing until the client gives up, or, after the bound, Azure's 408."""

    def gone() -> bool:
        return request.transport is None or request.transport.is_closing()

    await until_the_client_gives_up(gone, bound_seconds, request[REQUEST_ID])
    request[DISCONNECTED] = True  # the client gave up: no answer was sent
    return web.Response()


async def until_the_client_gives_up(
    gone: Callable[[], bool], bound_seconds: float, request_id: str
) -> None:
    """A hang, on either front: return once `gone()`; after the bound, raise Azure's 408."""
    waited = 0.0
    while waited < bound_seconds:
        if gone():
            return
        await asyncio.sleep(HANG_POLL_SECONDS)
        waited += HANG_POLL_SECONDS
    raise status_error(408, request_id, "", 0)


async def damaged(request: web.Request, response: web.Response, kind: str) -> web.StreamResponse:
    """A whole body garbled, or announced whole and cut half way."""
    body = response.body if isinstance(response.body, bytes) else b""
    if kind == "garbage":
        response.body = garble(body)
        return response
    # truncate: announce the whole body, send half of it, then drop the connection.
    cut = web.StreamResponse(status=response.status, headers=response.headers)
    cut.content_length = len(body)
    await cut.prepare(request)
    await cut.write(body[: len(body) // 2])
    if request.transport is not None:
        request.transport.abort()
    return cut


def garble(body: bytes) -> bytes:
    """The body's first third, then bytes that are neither JSON nor UTF-8."""
    noise = hashlib.sha256(body).digest()
    return body[: len(body) // 3] + b"\xff\xfe\x00" + noise
