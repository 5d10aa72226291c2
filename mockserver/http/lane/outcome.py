"""The lane's writer: carries out what the pipeline decided, as `http.writer` does on
aiohttp's front (the same faults, the same frames, the same bytes).

A whole answer comes back `Ready`, written once the journal and the metrics have it (as
aiohttp writes a returned response after its middlewares); a stream, a relayed answer, a
cut or a reset is carried out here and comes back `Sent`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial

from multidict import CIMultiDict

from mockserver.engines.reply import RawAnswer
from mockserver.faults.latency import Pacer
from mockserver.http import carrying
from mockserver.http.exchange import Exchange
from mockserver.http.faults import garble, until_the_client_gives_up
from mockserver.http.lane.wire import (
    LAST_CHUNK,
    OK,
    Asker,
    OwnHead,
    Ready,
    Sent,
    Status,
    Wire,
    bodiless,
    chunk,
    head_bytes,
    own_head,
    stream_head,
    writable,
)
from mockserver.http.streaming import EVENT_STREAM, send_ready, stream_end, stream_segments
from mockserver.http.writer import relay_pieces
from mockserver.operations.base import Surface
from mockserver.pipeline import Outcome
from mockserver.serialize.sse import FrameSource, Segment, first_frame, frames_of
from mockserver.support.by_identity import ByIdentity

log = logging.getLogger("mockserver")


@dataclass(slots=True)
class Answering:
    """One request being answered on a lane connection."""

    wire: Wire
    asker: Asker
    seen: Exchange
    first_byte: float | None = None  # when the head went out, if before the answer ended
    head: bytes = b""  # a head made and not yet sent: it goes with the first bytes after it

    def open(self, status: Status, headers: CIMultiDict[str], length: int | None) -> None:
        """Make the head, sent with the first body bytes (as aiohttp holds it)."""
        self.open_with(head_bytes(status, headers, self.asker, length))

    def open_with(self, head: bytes) -> None:
        """`head` made, sent with the first body bytes."""
        self.head = head
        self.first_byte = time.perf_counter()

    def send(self, data: bytes) -> None:
        if self.head:
            data, self.head = self.head + data, b""
        self.wire.write(data)

    def send_all(self, pieces: list[bytes]) -> None:
        """`send` of the pieces joined, in one write (`Wire.write_all`: not joined here)."""
        if self.head:
            pieces, self.head = [self.head, *pieces], b""
        self.wire.write_all(pieces)

    def left(self, what: str) -> None:
        self.seen.disconnected = True
        log.info("client disconnected %s on %s", what, self.seen.path)


async def carry_out(
    answering: Answering, outcome: Outcome, surface: Surface, hang_seconds: float
) -> Ready | Sent:
    return await carrying.carry_out(outcome, surface, _Lane(answering, hang_seconds))


class _Lane:
    """The lane: each kind of outcome carried out on its connection (`http.carrying`)."""

    def __init__(self, answering: Answering, hang_seconds: float) -> None:
        self.answering, self.hang_seconds = answering, hang_seconds

    def reset(self) -> Sent:
        self.answering.wire.abort()
        self.answering.seen.disconnected = True  # journaled as no answer (status 0)
        return Sent(200, headers_sent=False)

    async def hang(self) -> Sent:
        return await _hang(self.answering, self.hang_seconds)

    async def raw(self, answer: RawAnswer, body_fault: str | None) -> Ready | Sent:
        return await _raw(self.answering, answer, body_fault)

    async def stream(
        self, frames: FrameSource, headers: dict[str, str], pacer: Pacer, fault: str | None
    ) -> Sent:
        return await _stream(self.answering, frames, headers, pacer, fault)

    async def whole(
        self, body: bytes, headers: dict[str, str], orjson_own: bool, body_fault: str | None
    ) -> Ready | Sent:
        ready = Ready(OK, body, headers, written_by_orjson=orjson_own)
        return _whole(self.answering, ready, body_fault)


def _whole(answering: Answering, ready: Ready, body_fault: str | None) -> Ready | Sent:
    """A whole body, damaged if the plan says so: garbled, or announced whole and cut half
    way (then the connection is dropped)."""
    if body_fault is None:
        return ready
    if body_fault == "garbage":
        ready.body = garble(ready.body)
        return ready
    body = ready.body
    answering.open(ready.status, writable(ready.headers), len(body))
    with contextlib.suppress(ConnectionError):
        answering.send(body[: len(body) // 2])
    answering.wire.abort()
    return Sent(ready.status.code, headers_sent=True)


async def _hang(answering: Answering, bound_seconds: float) -> Sent:
    """Answer nothing until the client gives up, or, after the bound, Azure's 408."""
    wire, request_id = answering.wire, answering.asker.request_id
    await until_the_client_gives_up(wire.is_closing, bound_seconds, request_id)
    answering.seen.disconnected = True  # the client gave up: no answer was sent
    return Sent(200, headers_sent=False)


async def _raw(answering: Answering, answer: RawAnswer, body_fault: str | None) -> Ready | Sent:
    """A recording's or the upstream's answer, as it is (no Content-Type added)."""
    try:
        own = None if answer.body is None else _OWN_HEADS.of(answer.headers)
        if own is not None and answer.body is not None:  # its names known: no copy to search
            status = Status(answer.status, no_content_type="content-type" not in own.names)
            ready = Ready(status, answer.body, answer.headers, own=own)
            return _whole(answering, ready, body_fault)
        headers = CIMultiDict(answer.headers)
        status = Status(answer.status, no_content_type="Content-Type" not in headers)
        if answer.body is not None:
            return _whole(answering, Ready(status, answer.body, headers), body_fault)
        return await _relay(answering, answer, status, headers)
    finally:
        await answer.close()


class _OwnHeads:
    """Raw answers' own heads (`wire.own_head`), kept for headers that come again as the
    same dict: a recording replayed shares one, a relayed answer has its own. By identity
    (`ByIdentity`), from a dict's second sighting, so a relayed answer's is seldom kept
    (nothing changes an answer's headers)."""

    SIZE = 256

    def __init__(self) -> None:
        # In a 1-tuple: None is a head that goes the long way, known as such.
        self._known: ByIdentity[Mapping[str, str], tuple[OwnHead | None]] = ByIdentity(self.SIZE)

    def of(self, headers: Mapping[str, str]) -> OwnHead | None:
        known = self._known.get(headers)
        if known is not None:
            return known[0]
        if not self._known.seen_before(headers):
            return None
        made = own_head(headers)
        self._known.put(headers, (made,))
        return made


_OWN_HEADS = _OwnHeads()


async def _relay(
    answering: Answering, answer: RawAnswer, status: Status, headers: CIMultiDict[str]
) -> Sent:
    """Pass the answer on as it comes. A client that leaves ends a replay; a recording goes
    on without it. An answer cut by its source is cut here too; one that broke is too."""
    if answer.size is not None:
        headers["Content-Length"] = str(answer.size)
    answering.open(status, headers, answer.size)
    framed = _Framed(answering, answer.size, bodiless(status.code))
    if await relay_pieces(answer, framed.pass_on):
        await framed.end()
    else:
        answering.wire.abort()  # the upstream cut this answer, or it broke; so does the mock
    return Sent(answer.status, headers_sent=True)


class _Framed:
    """A relayed body's pieces as aiohttp frames them: chunks, or clipped at the length
    announced; False once the client has gone."""

    def __init__(self, answering: Answering, length: int | None, bodiless: bool) -> None:
        self.answering, self.left, self.here = answering, length, True
        if bodiless:
            self.left = 0  # a 204, 304 or 1xx: its head alone

    async def pass_on(self, piece: bytes) -> bool:
        if self.left is not None:
            piece, self.left = piece[: self.left], max(0, self.left - len(piece))
        data = chunk(piece) if self.left is None else piece
        if self.here and (data or self.answering.head):
            await self._send(data)
        return self.here

    async def end(self) -> None:
        if self.here:
            await self._send(LAST_CHUNK if self.left is None else b"")

    async def _send(self, data: bytes) -> None:
        try:
            self.answering.send(data)
            await self.answering.wire.drain()
        except ConnectionError:
            self.here = False
            self.answering.left("during a relayed or replayed answer")


async def _stream(
    answering: Answering,
    chunks: FrameSource,
    headers: dict[str, str],
    pacer: Pacer,
    fault_kind: str | None,
) -> Sent:
    """Send the frames, each its own HTTP chunk; a client that goes away ends the stream
    quietly. `fault_kind` strikes half way (see `http.streaming.write_stream`)."""
    segments = stream_segments(chunks, fault_kind)
    answering.open_with(stream_head({**headers, "Content-Type": EVENT_STREAM}, answering.asker))
    closing = b"" if fault_kind else LAST_CHUNK  # a whole stream's end: with its last frames
    try:
        await pacer.before_first()
        sent, closed = await _frames(answering, segments, pacer, closing)
        if not closed:
            _finish(answering, fault_kind, chunks, sent)
    except ConnectionError:
        answering.left("mid-stream")
    return Sent(200, headers_sent=True)


async def _frames(
    answering: Answering, segments: Iterator[Segment], pacer: Pacer, closing: bytes
) -> tuple[int, bool]:
    """Paced, the first frame with the head, then each frame at its own time. Ready, the
    head with the first frames, then about SEND_BYTES at a time, with a turn for other
    connections between two sends, and `closing` sent with the last of them (all ready:
    a first send of its own only cost a write). How many frames were sent, and whether
    `closing` was."""
    if pacer.between_frames_seconds <= 0:
        sent = await send_ready(segments, partial(_send, answering), closing)
        return sent, bool(closing)
    first, rest = first_frame(segments)
    if first is None:
        return 0, False
    answering.send(chunk(first))
    sent = 1
    for data in frames_of(rest):
        await pacer.between()
        await _send(answering, [chunk(data)])
        sent += 1
    return sent, False


async def _send(answering: Answering, framed: list[bytes]) -> None:
    answering.send_all(framed)
    # Waits only while the client reads slower than we write; raises once it is gone.
    await answering.wire.drain()


def _finish(answering: Answering, fault_kind: str | None, chunks: FrameSource, sent: int) -> None:
    last, cut = stream_end(fault_kind, chunks, sent, answering.asker.request_id)
    if cut and not answering.wire.is_closing():
        if last:
            answering.send(chunk(last))
        answering.wire.abort()  # no closing chunk: the client sees a cut connection
        return
    if last and not cut:
        answering.send(chunk(last))
    answering.send(LAST_CHUNK)
