"""The pipelined line for the hot calls: replies go to their callers in order however many
are in flight, errors stay the caller's, Redis's URL options (password, database, Unix
socket) hold, and a script Redis forgot runs again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.asyncio import BlockingConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from mockserver.stores.redis import connect
from mockserver.stores.redis.batched import BatchedScript, grouped
from mockserver.stores.redis.pipelined import (
    MAX_UNSENT_BYTES,
    HotScript,
    PipelinedLine,
    PipelinedRedis,
    ReplyProtocol,
    with_line,
)
from tests.redis.server import running_valkey

COUNT = "return redis.call('INCRBY', KEYS[1], ARGV[1])"


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[PipelinedRedis]:
    made = connect(redis_url)
    assert isinstance(made, PipelinedRedis)
    yield made
    await made.aclose()


def line_of(client: PipelinedRedis) -> PipelinedLine:
    assert client.line is not None, "a redis:// URL gets a line"
    return client.line


async def test_replies_reach_their_callers_in_order(client: PipelinedRedis) -> None:
    line = line_of(client)
    replies = await asyncio.gather(*(line.call("ECHO", f"m{i}") for i in range(500)))
    assert replies == [f"m{i}" for i in range(500)]


async def test_an_error_reply_is_its_callers_alone(client: PipelinedRedis) -> None:
    line = line_of(client)
    calls = [line.call("ECHO", "a"), line.call("NOSUCHCOMMAND"), line.call("ECHO", "b")]
    first, failed, last = await asyncio.gather(*calls, return_exceptions=True)
    assert (first, last) == ("a", "b")
    assert isinstance(failed, ResponseError) and "unknown command" in str(failed)


async def test_a_caller_that_gave_up_takes_no_one_elses_reply(client: PipelinedRedis) -> None:
    line = line_of(client)
    await line.call("PING")  # connected
    gone = asyncio.ensure_future(line.call("ECHO", "gone"))
    await asyncio.sleep(0)  # sent
    gone.cancel()
    assert await line.call("ECHO", "mine") == "mine"


async def test_an_argument_it_cannot_send_keeps_the_line_in_step(client: PipelinedRedis) -> None:
    line = line_of(client)
    with pytest.raises(TypeError):
        await line.call("ECHO", None)  # type: ignore[arg-type]
    assert await line.call("ECHO", "next") == "next"


async def test_a_script_redis_forgot_runs_again(client: PipelinedRedis) -> None:
    script = HotScript(client, COUNT)
    assert await script(keys=["n"], args=[2]) == 2
    await client.script_flush()
    assert await script(keys=["n"], args=[3]) == 5
    assert await script(keys=["n"], args=[1]) == 6  # EVAL kept it: EVALSHA again


async def test_password_and_database_of_the_url_hold() -> None:
    with running_valkey() as server:
        server.client().config_set("requirepass", "s3cret")  # after its readiness PING
        url = f"redis://:s3cret@127.0.0.1:{server.port}/3"
        client = connect(url)
        try:
            assert await HotScript(client, COUNT)(keys=["n"], args=[7]) == 7
            plain = redis.Redis(port=server.port, password="s3cret", db=3)
            assert plain.get("n") == b"7"
            plain.close()
        finally:
            await client.aclose()
        wrong = connect(f"redis://:wrong@127.0.0.1:{server.port}/0")
        try:
            with pytest.raises(RedisConnectionError):
                await HotScript(wrong, COUNT)(keys=["n"], args=[1])
        finally:
            await wrong.aclose()


async def test_a_unix_socket_url_gets_a_line(tmp_path: Path) -> None:
    socket = tmp_path / "valkey.sock"
    with running_valkey("--unixsocket", str(socket)):
        client = connect(f"unix://{socket}")
        try:
            assert isinstance(client, PipelinedRedis) and client.line is not None
            assert await HotScript(client, COUNT)(keys=["n"], args=[4]) == 4
        finally:
            await client.aclose()


def test_tls_keeps_redis_pys_path() -> None:
    client = with_line(BlockingConnectionPool.from_url("rediss://127.0.0.1:6380/0"))
    assert isinstance(client, PipelinedRedis) and client.line is None


async def test_a_redis_that_takes_nothing_refuses_calls_past_the_unsent_bound() -> None:
    # A peer that accepts the connection and never reads: what the line sends piles up
    # in its transport. Calls are refused (a 503 for the request) once the unsent bytes
    # would pass MAX_UNSENT_BYTES, not kept until the deadline whatever their number.
    accepted: list[asyncio.Transport] = []

    class NeverReads(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            transport.pause_reading()
            accepted.append(transport)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(NeverReads, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, line = await loop.create_connection(ReplyProtocol, "127.0.0.1", port)
    piece, sent = b"x" * (1024 * 1024), 0
    most = 4 * MAX_UNSENT_BYTES // len(piece)  # bounded: 128 sends
    calls: list[asyncio.Future[object]] = []
    try:
        with pytest.raises(RedisConnectionError, match="not taking"):
            while sent < most:
                sent += 1
                calls.append(line.send(("SET", "key", piece)))
                await asyncio.sleep(0)  # the turn ends: the line writes
        assert MAX_UNSENT_BYTES // len(piece) // 2 <= sent < most
        assert not any(call.done() for call in calls)  # those sent still wait for Redis
    finally:
        line.fail(RedisConnectionError, "closed")
        for transport in accepted:
            transport.close()
        server.close()
        await server.wait_closed()
    assert all(isinstance(call.exception(), RedisConnectionError) for call in calls)


async def test_a_late_command_is_made_as_the_turn_is_written_in_its_place(
    client: PipelinedRedis,
) -> None:
    # Made when the line writes: callers after it in the turn still add to it, and its
    # reply is its own among the turn's others.
    line = line_of(client)
    await line.call("PING")  # connected
    protocol = line.open_protocol()
    assert protocol is not None
    words: list[str] = []
    before = protocol.send(("ECHO", "before"))
    late = protocol.send_late(lambda: ("ECHO", " ".join(words)))
    words += ["added", "later"]
    after = protocol.send(("ECHO", "after"))
    assert list(await asyncio.gather(before, late, after)) == ["before", "added later", "after"]


async def test_a_late_command_it_cannot_send_fails_alone(client: PipelinedRedis) -> None:
    line = line_of(client)
    await line.call("PING")
    protocol = line.open_protocol()
    assert protocol is not None
    late = protocol.send_late(lambda: ("ECHO", None))  # type: ignore[arg-type, return-value]
    other = protocol.send(("ECHO", "other"))
    assert await other == "other"
    with pytest.raises(TypeError):
        await late
    assert await line.call("ECHO", "next") == "next"


async def test_a_late_command_fails_with_its_connection(client: PipelinedRedis) -> None:
    line = line_of(client)
    await line.call("PING")
    protocol = line.open_protocol()
    assert protocol is not None
    made: list[str] = []

    def command() -> tuple[str, str]:
        made.append("made")
        return ("ECHO", "x")

    late = protocol.send_late(command)
    protocol.fail(RedisConnectionError, "lost")  # before the turn is written
    with pytest.raises(RedisConnectionError, match="lost"):
        async with asyncio.timeout(10):  # a late command forgotten would wait forever
            await late
    await asyncio.sleep(0)
    assert made == []  # never made
    assert await line.call("ECHO", "again") == "again"  # a new connection


async def test_a_batch_part_that_cannot_be_read_fails_its_caller_alone(
    client: PipelinedRedis,
) -> None:
    def part(reply: Any, index: int) -> int:
        if index == 1:
            raise ValueError("unreadable")
        return int(reply) * 10 + index

    batched = BatchedScript(HotScript(client, COUNT), part)
    await line_of(client).call("PING")  # connected: the batch is a late command
    calls = [batched(grouped(["n"], [1]), []) for _ in range(3)]
    async with asyncio.timeout(10):  # a caller after the unreadable one left unanswered
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert outcomes[0] == 10 and outcomes[2] == 12
    assert isinstance(outcomes[1], ValueError)
