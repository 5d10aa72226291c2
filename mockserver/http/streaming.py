"""Writing a stream: headers first, then each frame as its own HTTP chunk.

Paced (a latency asked for between frames): each frame goes out at its own time, one send
each. Unpaced: the frames are all ready at once, and those that are go out together, each
still its own chunk, so the bytes on the wire are the same as one send per frame; a send
per frame only made the server slower (TCP merges small sends anyway, and a real Azure
stream read raw shows several events per read). The chunks are framed here, as aiohttp
frames them, and written to the transport: aiohttp's own write costs more than the frame.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from functools import lru_cache, partial
from itertools import chain, repeat

from aiohttp import web
from aiohttp.http import StreamWriter

from mockserver.contract.errors import catalogue_error
from mockserver.faults.latency import NO_DELAY, Pacer
from mockserver.http.keys import DISCONNECTED, REQUEST_ID
from mockserver.serialize.sse import FrameSource, Segment, first_frame, frames_of

log = logging.getLogger("mockserver")
EVENT_STREAM = "text/event-stream; charset=utf-8"
# Frames aiohttp writes between two turns of the event loop (HTTP/1.0 and compressed
# streams): a write that finds the socket buffer free does not yield, so a 100,000-token
# stream would hold the loop throughout.
FRAMES_PER_TURN = 256
# Ready frames sent at once, at most about this many bytes: aiohttp's own drain mark.
SEND_BYTES = 64 * 1024
# Ready frames framed as HTTP chunks together (a block of 256 W3 frames is ~90 KB).
FRAMES_PER_BLOCK = 256
GARBLED_FRAME = b'data: \xff\xfe\x00{"choices": [\n\n'  # neither JSON nor UTF-8
CRLF = b"\r\n"
Send = Callable[[list[bytes]], Awaitable[None]]  # framed chunks out, waiting on a slow client
_CHUNK_HEADS = [b"%x\r\n" % size for size in range(4096)]  # a chunk's size line: ~150 KB


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
    segments = stream_segments(chunks, fault_kind)
    try:
        await response.prepare(request)  # the client may be gone before the first byte
        await pacer.before_first()
        if _chunks_are_ours(request, response):
            sent = await _write_chunks(request, response, segments, pacer)
        else:
            sent = await _write_each(response, frames_of(segments), pacer)
        await _finish(request, response, fault_kind, chunks, sent)
    except ConnectionError:
        request[DISCONNECTED] = True
        log.info("client disconnected mid-stream on %s", request.path)
    return response


def stream_segments(chunks: FrameSource, fault_kind: str | None) -> Iterator[Segment]:
    """The segments to send. Frames are made as they are sent, so a thousand slow streams
    hold no frames in memory; only a fault needs them all first, to strike half way."""
    if not fault_kind:
        return chunks.segments()
    made = list(frames_of(chunks.segments()))
    return iter(made[: fault_position(made)])


async def _write_chunks(
    request: web.Request, response: web.StreamResponse, segments: Iterator[Segment], pacer: Pacer
) -> int:
    """The first frame with the headers (the client sees the stream open at once), then
    each frame framed as the HTTP chunk aiohttp would have made of it: paced, each sent at
    its own time; unpaced, sent together, about SEND_BYTES at a time."""
    first, rest = first_frame(segments)
    if first is None:
        return 0
    await response.write(first)
    if pacer.between_frames_seconds > 0:
        return 1 + await _send_paced(request, frames_of(rest), pacer)
    return 1 + await send_ready(rest, partial(_send, request))


async def _send_paced(request: web.Request, frames: Iterator[bytes], pacer: Pacer) -> int:
    sent = 0
    for data in frames:
        await pacer.between()
        await _send(request, [http_chunks([data])])
        sent += 1
    return sent


async def send_ready(segments: Iterator[Segment], send: Send, closing: bytes = b"") -> int:
    """Frames that are all ready: framed a block at a time, sent about SEND_BYTES at a time,
    with a turn for other connections between two sends (both fronts' streams). `closing`:
    bytes that go with the last send (the lane's closing chunk: one write fewer). How many
    frames were sent."""
    sent, size, batch = 0, 0, list[bytes]()
    for framed, frames in _framed_blocks(segments):
        if size >= SEND_BYTES:  # sent once the next block is made: the last goes with `closing`
            await send(batch)
            size, batch = 0, []
            await asyncio.sleep(0)
        batch.append(framed)
        sent, size = sent + frames, size + len(framed)
    if closing:
        batch.append(closing)
    if batch:
        await send(batch)
    return sent


def _framed_blocks(segments: Iterable[Segment]) -> Iterator[tuple[bytes, int]]:
    """The frames as HTTP chunks, at most FRAMES_PER_BLOCK a block, with how many each
    holds: loose frames gathered and framed together, a run of templated frames framed
    in the join that makes its frames."""
    loose: list[bytes] = []
    for segment in segments:
        if isinstance(segment, bytes):
            loose.append(segment)
            if len(loose) == FRAMES_PER_BLOCK:
                yield http_chunks(loose), len(loose)
                loose = []
            continue
        if loose:
            yield http_chunks(loose), len(loose)
            loose = []
        while block := segment.wrapped(FRAMES_PER_BLOCK, chunk_heads, CRLF):
            yield block
    if loose:
        yield http_chunks(loose), len(loose)


def http_chunks(frames: list[bytes]) -> bytes:
    """Each frame as its own HTTP/1.1 chunk (its size in hex, CRLF, the frame, CRLF), made
    in C from end to end: a frame's size line is looked up, not formatted, below 4 KiB."""
    sizes = list(map(len, frames))
    if 0 in sizes:  # aiohttp sends nothing for an empty write; a "0" chunk ends the body
        frames = list(filter(None, frames))
        sizes = list(filter(None, sizes))
    heads = chunk_heads(sizes, 0, max(sizes, default=0))
    return b"".join(chain.from_iterable(zip(heads, frames, repeat(CRLF))))


def chunk_heads(sizes: Iterable[int], plus: int, largest: int) -> Iterable[bytes]:
    """The size line of each HTTP chunk of these sizes, each `plus` bytes more (none of
    them above `largest` + `plus`)."""
    if plus + largest < len(_CHUNK_HEADS):
        return map(_heads_from(plus).__getitem__, sizes)
    return map(b"%x\r\n".__mod__, map(plus.__add__, sizes))


@lru_cache(maxsize=64)
def _heads_from(plus: int) -> list[bytes]:
    """The size lines from `plus` bytes on: the frames of a run share `plus` bytes."""
    return _CHUNK_HEADS[plus:]


async def _send(request: web.Request, framed: list[bytes]) -> None:
    transport = request.transport
    if transport is None or transport.is_closing():
        raise ConnectionResetError("the client closed the stream")
    write_pieces(transport, framed)
    # Waits only while the client reads slower than we write; raises once it is gone.
    await request.writer.drain()


async def _write_each(response: web.StreamResponse, frames: Iterable[bytes], pacer: Pacer) -> int:
    """Each frame through aiohttp, which frames the body its own way (HTTP/1.0: no chunks)."""
    sent = 0
    for data in frames:
        if sent:
            await pacer.between()
        await response.write(data)
        sent += 1
        if sent % FRAMES_PER_TURN == 0:
            await asyncio.sleep(0)
    return sent


def write_pieces(transport: asyncio.WriteTransport, pieces: list[bytes]) -> None:
    """The pieces written in order as one write. uvloop's `writelines` sends them with one
    `writev`, without copying a stream's ~128 KB into a new buffer first; asyncio's own
    only joins them before Python 3.12, and on 3.12.0-3.12.8 and 3.13.0-3.13.1 never
    pauses the protocol (CVE-2024-12254; aiohttp skips it there too), so a slow client's
    stream would pile up: there they are joined and written."""
    if type(transport).__module__.startswith("uvloop."):
        transport.writelines(pieces)
    else:
        transport.write(b"".join(pieces))


def _chunks_are_ours(request: web.Request, response: web.StreamResponse) -> bool:
    """Whether aiohttp frames this body as plain HTTP/1.1 chunks (not compressed, not an
    HTTP/1.0 body that ends with the connection), so that chunks written past it match."""
    writer = request.writer
    return isinstance(writer, StreamWriter) and writer.chunked and not response.compression


def fault_position(frames: list[bytes]) -> int:
    """Where a stream fault strikes: half way, after the first content frame at least."""
    return max(3, len(frames) // 2)


async def _finish(
    request: web.Request,
    response: web.StreamResponse,
    fault_kind: str | None,
    chunks: FrameSource,
    sent: int,
) -> None:
    last, cut = stream_end(fault_kind, chunks, sent, request[REQUEST_ID])
    if cut and request.transport is not None:
        if last:
            await response.write(last)
        request.transport.abort()  # no closing chunk: the client sees a cut connection
        return
    if last and not cut:
        await response.write(last)
    await response.write_eof()


def stream_end(
    fault_kind: str | None, chunks: FrameSource, sent: int, request_id: str
) -> tuple[bytes, bool]:
    """How a stream ends, on either front, as its fault says: the last frame to send (the
    error in the stream's own words, with no [DONE]; garbled bytes; or none), and whether
    the connection is then cut with no closing chunk."""
    if fault_kind == "stream-error":
        error = catalogue_error("server_error", request_id=request_id).payload()["error"]
        return chunks.error_frame(error, sent), False
    if fault_kind == "garbage":
        return GARBLED_FRAME, True
    return b"", fault_kind in ("cut-stream", "truncate")
