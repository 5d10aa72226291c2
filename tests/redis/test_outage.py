"""Redis lost while serving: store calls fail fast as Azure's 503, service comes back by
itself when Redis does, and what Redis acknowledged is not lost.

"Acknowledged" means Redis answered the write. Whether it outlives a crash is Redis's
persistence setting: with `appendfsync always` Redis writes the AOF to disk before it
answers, so a write survives even SIGKILL; with the default `everysec`, a SHUTDOWN (what
SIGTERM does) still writes everything first. Every test here runs its own server.
"""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator, Awaitable, Iterator

import pytest

from mockserver.config import Deployment, Settings
from mockserver.engines.matching import RequestView
from mockserver.engines.stubs import Stub
from mockserver.stores.journal_entry import JournalEntry
from mockserver.stores.redis import (
    StoreConnectError,
    StoreUnavailableError,
    connect,
    healthy,
    open_client,
    redacted,
    redis_stores,
)
from mockserver.stores.responses import StoredResponse
from mockserver.stores.stores import Stores
from tests.redis.server import ValkeyProcess, free_port, running_valkey

FAIL_WITHIN = 2.0  # seconds: the bound for a request's 503
LIMITS = Deployment(tokens_per_minute=1000, requests_per_minute=600)
ALWAYS = ("--appendonly", "yes", "--appendfsync", "always")


def view() -> RequestView:
    body = {"messages": [{"role": "user", "content": "hello"}]}
    return RequestView("dated", "o3-mini", "2025-04-01-preview", {}, body)


def entry() -> JournalEntry:
    return JournalEntry(0, 1.0, "POST", "/chat", {}, {}, status=200)


@pytest.fixture
def valkey() -> Iterator[ValkeyProcess]:
    with running_valkey() as server:
        yield server


@pytest.fixture
def durable() -> Iterator[ValkeyProcess]:
    with running_valkey(*ALWAYS) as server:
        yield server


async def stores_on(server: ValkeyProcess) -> AsyncIterator[Stores]:
    client = connect(server.url)
    try:
        yield redis_stores(client, Settings())
    finally:
        await client.aclose()


async def fails_fast(call: Awaitable[object]) -> None:
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError) as raised:
        await call
    assert time.monotonic() - started < FAIL_WITHIN
    error = raised.value
    assert (error.status, error.headers["retry-after"]) == (503, "1")
    assert error.payload()["error"]["type"] == "server_error"


def calls_of(stores: Stores) -> list[Awaitable[object]]:
    return [
        stores.stubs.has_stubs(),
        stores.stubs.take(view()),
        stores.quota.admit("o3-mini", LIMITS, 1),
        stores.journal.record(entry()),
        stores.responses.get("resp_1"),
        stores.faults.draw("o3-mini", 1),
    ]


async def test_killed_redis_fails_fast_then_service_resumes_by_itself(
    valkey: ValkeyProcess,
) -> None:
    async for stores in stores_on(valkey):
        await stores.stubs.add(Stub(id="s"))  # a pooled connection, scripts loaded
        valkey.kill()
        for call in calls_of(stores):
            await fails_fast(call)
        valkey.start()  # the same port, empty: scripts forgotten too
        assert await stores.quota.admit("o3-mini", LIMITS, 1) is None  # script loaded again
        await stores.stubs.add(Stub(id="again"))
        taken = await stores.stubs.take(view())
        assert taken is not None and taken.id == "again"


async def test_a_hung_redis_fails_fast_then_resumes(valkey: ValkeyProcess) -> None:
    assert valkey.process is not None
    async for stores in stores_on(valkey):
        await stores.journal.record(entry())
        valkey.process.send_signal(signal.SIGSTOP)  # connections open, no answers
        try:
            await fails_fast(stores.journal.record(entry()))
            await fails_fast(stores.stubs.take(view()))
        finally:
            valkey.process.send_signal(signal.SIGCONT)
        await stores.journal.record(entry())
        # A write that timed out may still be applied once Redis wakes (it was sent):
        # a 503 says "not known to be done", never "not done".
        assert [e.id for e in await stores.journal.entries()][-1] in (2, 3)


async def test_a_replica_that_refuses_writes_is_a_503(valkey: ValkeyProcess) -> None:
    async for stores in stores_on(valkey):
        await stores.quota.admit("o3-mini", LIMITS, 1)  # both paths connected
        await stores.stubs.add(Stub(id="s"))
        valkey.client().replicaof("127.0.0.1", free_port())  # a replica: READONLY to writes
        await fails_fast(stores.quota.admit("o3-mini", LIMITS, 1))  # the pipelined line
        await fails_fast(stores.stubs.add(Stub(id="t")))  # redis-py's ReadOnlyError


async def test_health_follows_redis(valkey: ValkeyProcess) -> None:
    client = connect(valkey.url)
    try:
        assert await healthy(client)
        valkey.kill()
        started = time.monotonic()
        assert not await healthy(client)
        assert time.monotonic() - started < FAIL_WITHIN
        valkey.start()
        assert await healthy(client)
    finally:
        await client.aclose()


async def fill(stores: Stores) -> None:
    await stores.stubs.add(Stub(id="kept", times=3))
    await stores.stubs.take(view())
    await stores.journal.record(entry())
    await stores.quota.admit("o3-mini", LIMITS, 100)
    await stores.responses.put(StoredResponse({"id": "resp_1", "output": []}, [], []))


async def still_there(stores: Stores) -> None:
    kept = await stores.stubs.get("kept")
    assert kept is not None and kept.answered == 1
    assert [e.id for e in await stores.journal.entries()] == [1]
    assert (await stores.quota.usage())["o3-mini"]["tokens_this_minute"] == 100
    assert await stores.responses.get("resp_1") is not None


async def test_acknowledged_writes_survive_a_crash_with_appendfsync_always(
    durable: ValkeyProcess,
) -> None:
    async for stores in stores_on(durable):
        await fill(stores)
        durable.kill()  # SIGKILL right after the last answer
        durable.start()
        await still_there(stores)


async def test_acknowledged_writes_survive_a_shutdown_with_the_default_fsync() -> None:
    with running_valkey("--appendonly", "yes") as server:
        async for stores in stores_on(server):
            await fill(stores)
            server.stop()  # SIGTERM: Redis's SHUTDOWN, the AOF written out first
            server.start()
            await still_there(stores)


async def test_unreachable_at_start_is_one_line_naming_the_url_without_password() -> None:
    url = f"redis://:s3cret@127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    with pytest.raises(StoreConnectError) as raised:
        await open_client(url)
    assert time.monotonic() - started < FAIL_WITHIN
    message = str(raised.value)
    assert "\n" not in message and "s3cret" not in message
    assert "redis://:***@127.0.0.1:" in message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
        ("redis://:pw@localhost:6379/0", "redis://:***@localhost:6379/0"),
        ("rediss://user:p%40ss@cache.example:6380/2", "rediss://user:***@cache.example:6380/2"),
        ("redis://u:pw@[::1]/0", "redis://u:***@[::1]/0"),
    ],
)
def test_a_url_is_printed_without_its_password(url: str, shown: str) -> None:
    assert redacted(url) == shown
