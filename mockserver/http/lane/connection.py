"""A lane connection: requests read one at a time, each taken or handed to aiohttp.

A request is taken when its head and whole body are in, its framing is plain (see
`routes.taken`) and its route is an inference operation's. Anything else, and any
request whose head or body has not all arrived, hands the connection to aiohttp's own
(`http.connection.Connection`) at that request's first byte: aiohttp then sees the
connection as if it had read it from the start, with its header and body deadlines, its
answers to bad HTTP, `Expect`, chunks and HTTP/1.0. A connection is handed over only
between answers, so pipelined answers keep their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, cast

from aiohttp import web
from aiohttp.base_protocol import BaseProtocol
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.http_parser import HttpRequestParser, RawRequestMessage

from mockserver.contract.errors import AzureError
from mockserver.http.lane.answer import (
    CLIENT_LEFT,
    CUT_BY_SHUTDOWN,
    LATE,
    Request,
    Served,
    answer,
    check_gateway,
)
from mockserver.http.lane.routes import LaneRoute, Taken, taken
from mockserver.http.streaming import write_pieces

log = logging.getLogger("mockserver")

HEAD_END = b"\r\n\r\n"
# aiohttp's own limits for a request's head (its defaults): a head past them is aiohttp's
# to refuse.
MAX_LINE_BYTES, MAX_HEADERS = 8190, 128
# Bytes read ahead while a request is answered (pipelined requests); reading pauses past it.
READ_AHEAD_BYTES = 256 * 1024
# Heads kept, and the longest kept (`Lane.read_head`): at most 1 MiB of them.
KEPT_HEADS, KEPT_HEAD_BYTES = 256, 4096

HANDED_OVER = "a connection handed to aiohttp's front"  # for whoever wonders which answered

# A request's head: its length in bytes, as parsed, and what the lane takes it for.
_Head = tuple[int, RawRequestMessage, Taken]


class LaneConnection(asyncio.Protocol):
    """One client connection, until (if ever) it is handed to aiohttp."""

    def __init__(self, lane: Lane) -> None:
        self._lane = lane
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()  # from the first byte of the next request
        self._task: asyncio.Task[None] | None = None  # the request being answered
        self._closing = False  # no request after the one being answered
        self._writing_paused = False
        self._reading_paused = False
        self._drained: asyncio.Future[None] | None = None
        self._idle_since: float | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._waiting: _Head | None = None  # a request taken whose body is still coming
        self._waiting_since = 0.0  # when its head was read
        self._body_timer: asyncio.TimerHandle | None = None
        self._begun: asyncio.Future[None] | None = None  # shutting down: the request began
        self._held: bytes | None = None  # a whole answer to send with the others (`send_soon`)

    # asyncio's callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._lane.connections.add(self)
        self._idle()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._idle_since = None
        if self._task is None:
            self._next()
        elif len(self._buffer) > READ_AHEAD_BYTES and self._transport is not None:
            self._transport.pause_reading()
            self._reading_paused = True

    def eof_received(self) -> bool | None:
        # The transport closes once what is written has gone (aiohttp's choice): a held
        # answer is written first (a client that half-closes once it has asked).
        self.send_held()
        return None

    def connection_lost(self, exc: BaseException | None) -> None:
        self._transport = None
        self._stop_idle_timer()
        self._stop_body_timer()
        self._wake_writer(ConnectionResetError("the client closed the connection"))
        if self._waiting is not None:  # it left while sending a body: journaled as gone
            _, message, found = self._waiting
            self._start(self._request(message, found, None, CLIENT_LEFT))
        if self._task is None:
            self._lane.connections.discard(self)
        # Else kept until its request is done, which shutdown waits for (a recording
        # relayed to a client that left is still saved).

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake_writer(None)

    # what the writers use (`wire.Wire`)

    def write(self, data: bytes) -> None:
        self.send_held()
        self._open_transport().write(data)

    def write_all(self, pieces: list[bytes]) -> None:
        self.send_held()
        write_pieces(self._open_transport(), pieces)

    def write_soon(self, data: bytes) -> None:
        """Send a whole answer once the event loop has run what it has in hand (the other
        requests that came with this one): a client reading many connections, woken by
        the first answer, reads the others while they are written, where each write would
        wake it again (~11% of a small request's CPU, in the kernel, under load). Anything
        else done with the connection sends it first."""
        self._open_transport()  # (raises if the client has gone)
        if self._held is None:
            self._held = data
            self._lane.send_soon(self)
        else:
            self._held += data

    def send_held(self) -> None:
        """Send the whole answer held by `write_soon`, if any (dropped if the client left)."""
        if self._held is not None:
            self._lane.served.metrics.fold_due_now()  # counted before it leaves (--workers)
        held, self._held = self._held, None
        if held is not None and self._transport is not None and not self._transport.is_closing():
            self._transport.write(held)

    def _open_transport(self) -> asyncio.Transport:
        transport = self._transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("Cannot write to closing transport")
        return transport

    async def drain(self) -> None:
        if not self._writing_paused:
            return
        if self._transport is None:
            raise ConnectionResetError("the client closed the connection")
        self._drained = self._lane.loop.create_future()
        await self._drained

    def abort(self) -> None:
        self.send_held()
        if self._transport is not None:
            self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    # shutting down, as aiohttp's connections do (`web.Server.pre_shutdown`, `shutdown`)

    def close(self) -> None:
        """Answer the request in hand (its body may still be coming), then close."""
        self._closing = True
        if self._task is None and self._waiting is None:
            self._close_transport()

    async def shutdown(self, timeout: float | None) -> None:
        """Close once the request in hand is answered, or after `timeout` at most."""
        self.close()
        loop = self._lane.loop
        deadline = None if timeout is None else loop.time() + timeout
        if self._task is None and self._waiting is not None:  # its body is still coming
            self._begun = loop.create_future()
            await asyncio.wait([self._begun], timeout=timeout)
            if self._task is None and self._waiting is not None:  # the grace period ended
                _, message, found = self._waiting
                self._start(self._request(message, found, None, CUT_BY_SHUTDOWN))
        task = self._task
        if task is not None:
            left = None if deadline is None else max(0.0, deadline - loop.time())
            await asyncio.wait([task], timeout=left)
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._close_transport()

    # reading requests

    def _next(self) -> None:
        """Take the next request if it is all in; hand over the connection if it is not
        the lane's; wait for more bytes of it otherwise (or for the first, idle)."""
        if self._transport is None or (self._closing and self._waiting is None):
            self._close_transport()  # (a body still coming is let in: it is in hand)
            return
        buffer = self._buffer
        if not buffer:
            self._idle()
            return
        head = self._waiting or self._head()
        if head is None:
            self._hand_over("not a request the lane takes, or its head came in pieces")
            return
        head_length, message, found = head
        end = head_length + found.body_length
        if len(buffer) < end:
            self._wait_for_body(head)
            return
        self._stop_body_timer()
        with memoryview(buffer) as view:
            body = bytes(view[head_length:end])  # one copy
        del buffer[:end]
        self._start(self._request(message, found, body))

    def _head(self) -> _Head | None:
        """The next request's head, if it is all in and the lane takes the request."""
        buffer = self._buffer
        head_end = buffer.find(HEAD_END)
        if head_end < 0:
            return None  # aiohttp watches a head that comes slowly
        head_length = head_end + len(HEAD_END)
        read = self._lane.read_head(bytes(buffer[:head_length]))
        return None if read is None else (head_length, *read)

    def _wait_for_body(self, head: _Head) -> None:
        """A body still coming: within the body deadline. The gateway answers first (as on
        aiohttp's front, which refuses a bad key before it reads the body): a request it
        refuses is aiohttp's to answer, and to read what is left of."""
        if self._waiting is not None:
            return
        _, message, found = head
        try:
            check_gateway(self._lane.served.state, message, found)
        except AzureError:
            self._hand_over("refused by the gateway while its body came")
            return
        self._waiting, self._waiting_since = head, time.perf_counter()
        self._lane.served.metrics.started()  # in flight from its head, as on aiohttp's front
        deadline = self._lane.served.state.settings.server.request_body_timeout_seconds
        self._body_timer = self._lane.loop.call_later(deadline, self._body_late)

    def _body_late(self) -> None:
        """Azure's 408 for a body that did not all come in time; then the connection
        closes (what is left of that body would be read as the next request)."""
        self._body_timer = None
        if self._waiting is None or self._task is not None:
            return
        _, message, found = self._waiting
        self._closing = True
        self._buffer.clear()
        self._start(self._request(message, found, None, LATE))

    def _request(
        self, message: RawRequestMessage, found: Taken, body: bytes | None, no_body: str = ""
    ) -> Request:
        """The request to answer: timed from its head (when its body was waited for)."""
        if self._waiting is None:
            return Request(message, body, found, time.perf_counter())
        return Request(message, body, found, self._waiting_since, True, no_body)

    def _start(self, request: Request) -> None:
        self._waiting = None
        if self._begun is not None and not self._begun.done():
            self._begun.set_result(None)
        self._closing = self._closing or request.message.should_close
        self._task = self._lane.loop.create_task(self._answer(request))

    def _stop_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    async def _answer(self, request: Request) -> None:
        try:
            await answer(self._lane.served, self, request)
            # A client that sends and does not read: its next request waits (as on
            # aiohttp's front), so answers do not pile up in memory.
            # (`drain` returns at once when not paused: no coroutine made for nothing. The
            # answer just held is not in the transport yet: a client that does not read is
            # stopped one answer later, as its next answer makes the transport pause.)
            if self._writing_paused:
                with contextlib.suppress(ConnectionError):
                    await self.drain()
        except Exception as error:
            # A bug of ours once the answer was decided (its head cannot be written): said
            # in the log, kept for the test, and the connection dropped, as aiohttp does.
            log.exception("unhandled error answering %s", request.message.method)
            self._lane.served.state.failures.append(error)
            self._closing = True
            self.abort()
        finally:
            self._task = None
            if self._transport is None:
                self._lane.connections.discard(self)
            if self._reading_paused and self._transport is not None:
                self._reading_paused = False
                self._transport.resume_reading()
            self._next()

    def _hand_over(self, why: str) -> None:
        """From this request on, the connection is aiohttp's."""
        transport = self._transport
        assert transport is not None and self._task is None
        log.debug("%s: %s", HANDED_OVER, why)  # no bytes of the request: they may hold a key
        self._lane.connections.discard(self)
        self._stop_idle_timer()
        self._stop_body_timer()
        self._waiting = None
        self.send_held()  # before aiohttp's answers
        connection = self._lane.aiohttp_connection()
        transport.set_protocol(connection)
        connection.connection_made(transport)
        if self._writing_paused:
            connection.pause_writing()
        if self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()
        data = bytes(self._buffer)
        self._buffer.clear()
        connection.data_received(data)

    def _close_transport(self) -> None:
        self.send_held()
        if self._transport is not None:
            self._transport.close()

    def _wake_writer(self, error: BaseException | None) -> None:
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            if error is None:
                drained.set_result(None)
            else:
                drained.set_exception(error)

    # the idle deadline (aiohttp's keep-alive timeout)

    def _idle(self) -> None:
        self._idle_since = self._lane.loop.time()
        if self._idle_timer is None:
            self._arm_idle_timer(self._lane.idle_seconds)

    def _arm_idle_timer(self, delay: float) -> None:
        self._idle_timer = self._lane.loop.call_later(delay, self._idle_check)

    def _idle_check(self) -> None:
        """Close a connection idle for the whole timeout; one timer per connection, moved
        on rather than made again for every request."""
        self._idle_timer = None
        if self._transport is None:
            return
        if self._idle_since is None:
            self._arm_idle_timer(self._lane.idle_seconds)
            return
        idle_for = self._lane.loop.time() - self._idle_since
        if idle_for >= self._lane.idle_seconds:
            self._close_transport()
        else:
            self._arm_idle_timer(self._lane.idle_seconds - idle_for)

    def _stop_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None


class _HeadReader(BaseProtocol):
    """A request's head, read by aiohttp's parser; None for one the lane leaves alone."""

    def read(self, head: bytes) -> RawRequestMessage | None:
        if head.count(b"\n") != head.count(b"\r\n") or head.count(b"\r") != head.count(b"\n"):
            return None  # bare CR or LF line ends: aiohttp judges those
        parser = HttpRequestParser(
            self,
            self._loop,
            2**16,
            max_line_size=MAX_LINE_BYTES,
            max_field_size=MAX_LINE_BYTES,
            max_headers=MAX_HEADERS,
            payload_exception=web.RequestPayloadError,
        )
        try:
            messages, upgraded, tail = parser.feed_data(head)
        except HttpProcessingError:
            return None
        if len(messages) != 1 or upgraded or tail:
            return None
        message = messages[0][0]
        return message if isinstance(message, RawRequestMessage) else None


class Lane:
    """What the lane connections of one server share."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        served: Served,
        routes: tuple[LaneRoute, ...],
        aiohttp_connection: Callable[[], Any],
    ) -> None:
        self.loop, self.served, self.routes = loop, served, routes
        self.aiohttp_connection = aiohttp_connection
        self.connections: set[LaneConnection] = set()
        self._holding: list[LaneConnection] = []  # whose answers `send_held` sends soon
        self._head_reader = _HeadReader(loop)
        # Heads read before, by their bytes: a client sends the same head again and again
        # (its key, its route, its body's length), and a parsed head is immutable.
        self._heads: dict[bytes, tuple[RawRequestMessage, Taken] | None] = {}

    def send_soon(self, connection: LaneConnection) -> None:
        """The connection's held answer is sent with the others, once the loop's ready
        callbacks (the other requests' steps) have run."""
        if not self._holding:
            self.loop.call_soon(self._send_held)
        self._holding.append(connection)

    def _send_held(self) -> None:
        # (A connection may be listed twice: held, sent early by another write, held again.)
        holding, self._holding = self._holding, []
        for connection in holding:
            # A connection that went wrong meanwhile loses its answer, not the others theirs.
            try:
                connection.send_held()
            except (ConnectionError, RuntimeError):
                continue
            except Exception:
                log.exception("sending a held answer failed")

    @property
    def idle_seconds(self) -> float:
        return self.served.state.settings.server.idle_timeout_seconds

    def read_head(self, head: bytes) -> tuple[RawRequestMessage, Taken] | None:
        """The request's head and what the lane takes it for; None when it is aiohttp's."""
        if head in self._heads:  # (None kept too: a head the lane does not take)
            read = self._heads[head]
        else:
            read = self._read(head)
            if len(self._heads) >= KEPT_HEADS:
                del self._heads[next(iter(self._heads))]  # the oldest
            if len(head) <= KEPT_HEAD_BYTES:
                self._heads[head] = read
        limit = self.served.state.settings.server.max_body_bytes  # PATCHable
        return read if read is not None and read[1].body_length <= limit else None

    def _read(self, head: bytes) -> tuple[RawRequestMessage, Taken] | None:
        message = self._head_reader.read(head)
        if message is None:
            return None
        found = taken(message, self.routes)
        return None if found is None else (message, found)
