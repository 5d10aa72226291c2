"""Writing a stream: headers first, then each frame flushed as its own chunk."""

from __future__ import annotations

import logging

from aiohttp import web

from mockserver.latency import NO_DELAY, Pacer
from mockserver.serialize.sse import ChunkStream

log = logging.getLogger("mockserver")
EVENT_STREAM = "text/event-stream; charset=utf-8"


async def write_stream(
    request: web.Request, chunks: ChunkStream, headers: dict[str, str], pacer: Pacer = NO_DELAY
) -> web.StreamResponse:
    """Send the frames; a client that goes away ends the stream quietly, not as a fault."""
    response = web.StreamResponse(status=200, headers={**headers, "Content-Type": EVENT_STREAM})
    await response.prepare(request)
    try:
        await pacer.before_first()
        for index, data in enumerate(chunks.frames()):
            if index:
                await pacer.between()
            await response.write(data)
        await response.write_eof()
    except ConnectionError:
        log.info("client disconnected mid-stream on %s", request.path)
    return response
