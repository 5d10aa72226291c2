"""The writer: carries out what the pipeline decided, the fault plan's damage included."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from mockserver.engines.reply import AnswerBrokeError, RawAnswer
from mockserver.faults.latency import Pacer
from mockserver.http import faults
from mockserver.http.carrying import carry_out
from mockserver.http.keys import DISCONNECTED, NO_CONTENT_TYPE, WRITTEN_BY_ORJSON
from mockserver.http.streaming import write_stream
from mockserver.operations.base import Surface
from mockserver.pipeline import Outcome
from mockserver.serialize.sse import FrameSource

log = logging.getLogger("mockserver")
AnyResponse = TypeVar("AnyResponse", bound=web.StreamResponse)


async def write(
    request: web.Request, outcome: Outcome, surface: Surface, hang_seconds: float
) -> web.StreamResponse:
    return await carry_out(outcome, surface, _Responses(request, hang_seconds))


class _Responses:
    """aiohttp's front: each kind of outcome as an aiohttp response (`http.carrying`)."""

    def __init__(self, request: web.Request, hang_seconds: float) -> None:
        self.request, self.hang_seconds = request, hang_seconds

    def reset(self) -> web.StreamResponse:
        return faults.reset(self.request)

    async def hang(self) -> web.StreamResponse:
        return await faults.hang(self.request, self.hang_seconds)

    async def raw(self, answer: RawAnswer, body_fault: str | None) -> web.StreamResponse:
        return await _write_raw(self.request, answer, body_fault)

    async def stream(
        self, frames: FrameSource, headers: dict[str, str], pacer: Pacer, fault: str | None
    ) -> web.StreamResponse:
        return await write_stream(self.request, frames, headers, pacer, fault)

    async def whole(
        self, body: bytes, headers: dict[str, str], orjson_own: bool, body_fault: str | None
    ) -> web.StreamResponse:
        response = web.Response(body=body, headers=headers)
        if orjson_own:
            response[WRITTEN_BY_ORJSON] = True
        return await whole(self.request, response, body_fault)


async def whole(
    request: web.Request, response: web.Response, body_fault: str | None
) -> web.StreamResponse:
    """A whole body, damaged if the plan says so."""
    if body_fault is None:
        return response
    return await faults.damaged(request, response, body_fault)


async def _write_raw(
    request: web.Request, answer: RawAnswer, body_fault: str | None
) -> web.StreamResponse:
    try:
        if answer.body is not None:
            response = web.Response(status=answer.status, body=answer.body, headers=answer.headers)
            return await whole(request, _as_recorded(response), body_fault)
        return await _relay(request, answer)
    finally:
        await answer.close()


def _as_recorded(response: AnyResponse) -> AnyResponse:
    """No Content-Type added where the original answer had none."""
    if "Content-Type" not in response.headers:
        response[NO_CONTENT_TYPE] = True
    return response


async def _relay(request: web.Request, answer: RawAnswer) -> web.StreamResponse:
    """Pass the answer on as it comes. A client that leaves ends a replay; a recording goes
    on without it. An answer cut by its source is cut here too; one that broke is too."""
    response = _as_recorded(web.StreamResponse(status=answer.status, headers=answer.headers))
    if answer.size is not None:
        response.content_length = answer.size
    client_here = await _passed_on(request, response, None)

    async def pass_on(piece: bytes) -> bool:
        nonlocal client_here
        client_here = client_here and await _passed_on(request, response, piece)
        return client_here

    if not await relay_pieces(answer, pass_on):
        _abort(request)  # the upstream cut this answer, or it broke; so does the mock
    elif client_here:
        await _passed_on(request, response, b"", end=True)
    return response


async def relay_pieces(answer: RawAnswer, pass_on: Callable[[bytes], Awaitable[bool]]) -> bool:
    """The answer's pieces passed on as they come, on either front. `pass_on` says False
    once the client has gone: that ends a replay, while a recording reads on alone. False
    when the answer broke or its source cut it: the connection is to be cut too."""
    try:
        async with contextlib.aclosing(answer.pieces()) as pieces:
            async for piece in pieces:
                if not await pass_on(piece) and not answer.keeps_reading_alone:
                    break
    except AnswerBrokeError:
        return False
    return not answer.cut


async def _passed_on(
    request: web.Request, response: web.StreamResponse, piece: bytes | None, end: bool = False
) -> bool:
    """Write to the client (None: the headers); False once it has gone."""
    try:
        if piece is None:
            await response.prepare(request)
        else:
            await (response.write_eof() if end else response.write(piece))
    except ConnectionError:
        request[DISCONNECTED] = True
        log.info("client left during a relayed or replayed answer on %s", request.path)
        return False
    return True


def _abort(request: web.Request) -> None:
    """End the connection with no closing chunk: the client sees the answer cut short."""
    if request.transport is not None:
        request.transport.abort()
