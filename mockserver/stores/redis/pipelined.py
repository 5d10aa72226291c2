"""The hot store calls (a quota step, a journal record: every inference request makes
them) on one connection per process, pipelined.

Each call is written as it comes (those of one event-loop turn in one write), Redis
answers a connection's commands in order, and hiredis's C reader hands each reply to the
oldest caller still waiting. No pool, no lock, no timer per call: redis-py's path costs
~60 µs of CPU per call, this one a few. One deadline watches the oldest call: past
CALL_DEADLINE the connection is dropped and every call on it fails (Azure's 503, as
`guarded` maps it); the next call connects again. redis-py's client stays for everything
else, and for every call when the URL is one this does not speak (TLS, a cluster).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, cast

import hiredis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from mockserver.stores.redis.deadline import CALL_DEADLINE, bounded

Arg = str | bytes | int | float
# Commands not yet taken by Redis, at most (bytes): a Redis that stops reading (frozen, a
# full socket) with requests arriving holds their journal entries until the deadline;
# past this a call fails at once (Azure's 503) instead of growing the process.
MAX_UNSENT_BYTES = 32 * 1024 * 1024
Waiting = tuple["asyncio.Future[Any]", float]  # the caller, its deadline (loop time)
Late = tuple[Callable[[], tuple[Arg, ...]], "asyncio.Future[Any]"]  # made at the flush


class ReplyProtocol(asyncio.Protocol):
    """One connection: commands out in order, replies back to their callers in order."""

    def __init__(self) -> None:
        self.reader = hiredis.Reader(replyError=ResponseError, encoding="utf-8")
        self.loop = asyncio.get_running_loop()
        self.waiting: deque[Waiting] = deque()
        self.outgoing: list[bytes] = []
        self.late: list[Late] = []  # commands made as this turn's are written
        self.outgoing_bytes = 0  # the summed size of `outgoing`
        self.unsent_before = 0  # what the transport held when this turn's first call came
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream's transport (uvloop's are not asyncio.Transport subclasses).
        self.transport, self.open = cast(asyncio.Transport, transport), True

    def send(self, args: tuple[Arg, ...]) -> asyncio.Future[Any]:
        """The reply to come: a value, a ResponseError, or a failure of the connection."""
        if not self.open:
            raise RedisConnectionError("the connection to Redis is closed")
        # Packed first: an argument it refuses leaves no caller waiting for no reply.
        # (hiredis's stub types a 1-tuple; it packs any number of arguments.)
        packed = hiredis.pack_command(cast(Any, args))
        self.start_turn()
        self.refuse_past_unsent_bound(len(packed))
        future = self.loop.create_future()
        self.queue(packed, future)
        return future

    def send_late(self, command: Callable[[], tuple[Arg, ...]]) -> asyncio.Future[Any]:
        """As `send`, for a command made only when this turn's commands are written, so
        that callers later in the turn can still add to it (the journal's entries)."""
        if not self.open:
            raise RedisConnectionError("the connection to Redis is closed")
        self.start_turn()
        future = self.loop.create_future()
        self.late.append((command, future))
        return future

    def start_turn(self) -> None:
        if not self.outgoing and not self.late:  # the first of this turn: written once it ends
            self.loop.call_soon(self.flush)
            # What the transport holds yet, read once a turn: it only grows by our flush.
            transport = self.transport
            self.unsent_before = 0 if transport is None else transport.get_write_buffer_size()

    def queue(self, packed: bytes, future: asyncio.Future[Any]) -> None:
        self.waiting.append((future, self.loop.time() + CALL_DEADLINE))
        self.outgoing.append(packed)
        if self.timer is None:
            self.timer = self.loop.call_at(self.waiting[0][1], self.check_deadline)

    def refuse_past_unsent_bound(self, size: int) -> None:
        if self.unsent_before + self.outgoing_bytes + size > MAX_UNSENT_BYTES:
            raise RedisConnectionError("Redis is not taking what this process sends")
        self.outgoing_bytes += size

    def flush(self) -> None:
        late, self.late = self.late, []
        for command, future in late:
            try:
                packed = hiredis.pack_command(cast(Any, command()))
                self.refuse_past_unsent_bound(len(packed))
            except Exception as refused:  # this command's alone: the turn is still written
                if not future.done():
                    future.set_exception(refused)
                continue
            self.queue(packed, future)
        outgoing, self.outgoing, self.outgoing_bytes = self.outgoing, [], 0
        if self.open and self.transport is not None:
            self.transport.writelines(outgoing)

    def data_received(self, data: bytes) -> None:
        reader, waiting = self.reader, self.waiting
        reader.feed(data)
        try:
            while (reply := reader.gets()) is not False:
                if not waiting:
                    raise hiredis.ProtocolError("a reply no command asked for")
                future = waiting.popleft()[0]
                if not future.done():  # a caller that gave up (cancelled) takes no reply
                    future.set_result(reply)
        except (hiredis.ProtocolError, UnicodeDecodeError) as error:
            self.fail(RedisConnectionError, f"unreadable reply from Redis: {error}")

    def check_deadline(self) -> None:
        """The oldest call past its deadline: Redis hung, the connection is dropped."""
        self.timer = None
        if not self.waiting:
            return
        deadline = self.waiting[0][1]
        if deadline <= self.loop.time():
            self.fail(RedisTimeoutError, "Redis did not answer in time")
        else:
            self.timer = self.loop.call_at(deadline, self.check_deadline)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(RedisConnectionError, "the connection to Redis was lost")

    def fail(self, error: type[Exception], message: str) -> None:
        self.open = False
        waiting, self.waiting = self.waiting, deque()
        waiting.extend((future, 0.0) for _, future in self.late)
        self.late = []
        for future, _ in waiting:
            if not future.done():
                future.set_exception(error(message))
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.transport is not None:
            self.transport.abort()


class PipelinedLine:
    """The connection for the hot calls: opened on first use and again after a loss."""

    def __init__(self, pool: BlockingConnectionPool) -> None:
        kwargs = pool.connection_kwargs
        self.address: tuple[str, int] | str = kwargs.get("path") or (
            kwargs.get("host", "localhost"),
            int(kwargs.get("port", 6379)),
        )
        self.setup = setup_commands(kwargs)
        self.protocol: ReplyProtocol | None = None
        self.lock = asyncio.Lock()

    async def call(self, *args: Arg) -> Any:
        """One command's reply; ResponseError for an error reply; RedisConnectionError or
        RedisTimeoutError when Redis is gone or silent (within CALL_DEADLINE)."""
        return replied(await self.call_unchecked(*args))

    async def call_unchecked(self, *args: Arg) -> Any:
        """As `call`, an error reply returned rather than raised."""
        protocol = self.open_protocol()
        if protocol is None:
            async with bounded():  # connecting and the call, within one deadline
                protocol = await self.connected()
                return await protocol.send(args)
        return await protocol.send(args)

    def open_protocol(self) -> ReplyProtocol | None:
        """The connection, when it is open: a call can be sent on it at once."""
        protocol = self.protocol
        return protocol if protocol is not None and protocol.open else None

    async def connected(self) -> ReplyProtocol:
        async with self.lock:  # callers arriving while it connects share one connection
            if self.protocol is None or not self.protocol.open:
                self.protocol = await self.opened()
            return self.protocol

    async def opened(self) -> ReplyProtocol:
        # Bounded by the calling request's CALL_DEADLINE alone, not by a shorter connect
        # timeout of its own: a loopback connect is instant, but a busy process may not
        # see its completion for a while (a CPU-starved loop, a long collection), and
        # failing fast there would call a healthy Redis down.
        loop = asyncio.get_running_loop()
        if isinstance(self.address, str):
            _, protocol = await loop.create_unix_connection(ReplyProtocol, self.address)
        else:
            _, protocol = await loop.create_connection(ReplyProtocol, *self.address)
        try:
            for command in self.setup:
                replied(await protocol.send(command))
        except ResponseError as refused:  # a wrong password: Redis unusable, as redis-py says
            protocol.fail(RedisConnectionError, str(refused))
            raise RedisConnectionError(f"Redis refused the connection: {refused}") from None
        return protocol

    def close(self) -> None:
        if self.protocol is not None:
            self.protocol.fail(RedisConnectionError, "closed")
            self.protocol = None


def setup_commands(kwargs: dict[str, Any]) -> list[tuple[Arg, ...]]:
    """What redis-py sends on a new connection, for the options a URL can give."""
    commands: list[tuple[Arg, ...]] = []
    password, username = kwargs.get("password"), kwargs.get("username")
    if password is not None:
        commands.append(("AUTH", username, password) if username else ("AUTH", password))
    if kwargs.get("db"):
        commands.append(("SELECT", int(kwargs["db"])))
    commands.append(("CLIENT", "SETNAME", str(kwargs.get("client_name") or "mockserver")))
    return commands


def replied(reply: Any) -> Any:
    if isinstance(reply, ResponseError):
        raise reply
    return reply


class PipelinedRedis(Redis):
    """redis-py's client, with the pipelined line beside it (closed with it)."""

    line: PipelinedLine | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        if self.line is not None:
            self.line.close()
        await super().aclose(close_connection_pool)


def with_line(pool: BlockingConnectionPool) -> Redis:
    """A client on `pool`, with a pipelined line when the pool's connections are plain
    TCP or a Unix socket (not TLS: those keep redis-py's path)."""
    client = PipelinedRedis.from_pool(pool)
    assert isinstance(client, PipelinedRedis), "from_pool makes its own class"
    speaks = pool.connection_class in (Connection, UnixDomainSocketConnection)
    if speaks and "credential_provider" not in pool.connection_kwargs:
        client.line = PipelinedLine(pool)
    return client


class HotScript:
    """A Lua script called like redis-py's Script (`await script(keys=..., args=...)`),
    on the pipelined line when the client has one; within CALL_DEADLINE either way."""

    def __init__(self, client: Redis | RedisCluster, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()
        self.line = client.line if isinstance(client, PipelinedRedis) else None
        self.fallback = client.register_script(source)

    async def __call__(self, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        line = self.line
        if line is None:
            async with bounded():
                return await self.fallback(keys=keys, args=args)
        # Sent at once on an open line (the common case: no coroutine of the line's own).
        protocol = line.open_protocol()
        if protocol is not None:
            reply = await protocol.send(("EVALSHA", self.sha, len(keys), *keys, *args))
        else:
            reply = await line.call_unchecked("EVALSHA", self.sha, len(keys), *keys, *args)
        if not isinstance(reply, ResponseError):
            return reply
        if not str(reply).startswith("NOSCRIPT"):
            raise reply
        # Redis forgot it (a restart, SCRIPT FLUSH): EVAL runs it and keeps it again.
        return await line.call("EVAL", self.source, len(keys), *keys, *args)
