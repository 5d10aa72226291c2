"""Writing a stream: headers first, then each frame flushed as its own chunk."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiohttp import web

from mockserver.contract.errors import catalogue_error
from mockserver.faults.latency import NO_DELAY, Pacer
from mockserver.http.keys import DISCONNECTED, REQUEST_ID
from mockserver.serialize.sse import FrameSource

log = logging.getLogger("mockserver")
EVENT_STREAM = "text/event-stream; charset=utf-8"
# Frames written between two turns of the event loop: a write that finds the socket
# buffer free does not yield, so a 100,000-token stream would hold the loop throughout.
FRAMES_PER_TURN = 256


async def write_stream(
    request: web.Request,
    chunks: FrameSource,
    headers: dict[str, str],
    pacer: Pacer = NO_DELAY,
    fault_kind: str | None = None,
) -> web.StreamResponse:
    """Send the frames; a client that goes away ends the stream quietly, not as a fault.

    `fault_kind`: a stream fault (cut-stream, stream-error) or a body one (truncate cuts
    the stream, garbage garbles it), struck half way.
    """
    response = web.StreamResponse(status=200, headers={**headers, "Content-Type": EVENT_STREAM})
    # Frames are made as they are sent, so a thousand slow streams hold no frames in
    # memory; only a fault needs them all first, to strike half way.
    frames: Iterable[bytes] = chunks.frames()
    if fault_kind:
        made = list(frames)
        frames = made[: _fault_position(made)]
    sent = 0
    try:
        await response.prepare(request)  # the client may be gone before the first byte
        await pacer.before_first()
        for data in frames:
            if sent:
                await pacer.between()
            await response.write(data)
            sent += 1
            if sent % FRAMES_PER_TURN == 0:
                await asyncio.sleep(0)
        await _finish(request, response, fault_kind, chunks, sent)
    except ConnectionError:
        request[DISCONNECTED] = True
        log.info("client disconnected mid-stream on %s", request.path)
    return response


def _fault_position(frames: list[bytes]) -> int:
    """Where a stream fault strikes: half way, after the first content frame at least."""
    return max(3, len(frames) // 2)


async def _finish(
    request: web.Request,
    response: web.StreamResponse,
    fault_kind: str | None,
    chunks: FrameSource,
    sent: int,
) -> None:
    if fault_kind == "stream-error":
        # An error after the stream started, in the stream's own words; no [DONE].
        error = catalogue_error("server_error", request_id=request[REQUEST_ID]).payload()["error"]
        await response.write(chunks.error_frame(error, sent))
    elif fault_kind in ("cut-stream", "truncate", "garbage") and request.transport is not None:
        if fault_kind == "garbage":
            await response.write(b'data: \xff\xfe\x00{"choices": [\n\n')
        request.transport.abort()  # no closing chunk: the client sees a cut connection
        return
    await response.write_eof()
