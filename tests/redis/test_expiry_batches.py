"""A sweep renews sessions in batches, each under its own deadline: any number of sessions
gets its expiry, a batch Redis refused is tried again at the next sweep, and what is
carried over after an outage is capped."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from mockserver.stores.redis import connect
from mockserver.stores.redis import expiry as expiry_module
from mockserver.stores.redis.connection import Client
from mockserver.stores.redis.expiry import BATCH_SESSIONS, SessionExpiry
from mockserver.stores.redis.keys import SessionKeys, session_keys
from tests.redis.server import ValkeyProcess, free_port, running_valkey

PREFIX = "sweep"
TTL_SECONDS = 3600


def names(count: int) -> list[str]:
    """Session names that sort in the order they are made (the sweep sorts them)."""
    return [f"s{n:06d}" for n in range(count)]


def deployments_key(session: str) -> str:
    return SessionKeys(PREFIX, session).key("quota", "deployments")


async def write_sessions(client: Client, sessions: list[str]) -> int:
    """Every key a session may hold (one deployment), for each session; how many keys."""
    written = 0
    for start in range(0, len(sessions), 500):
        values: dict[str, str] = {}
        async with client.pipeline(transaction=False) as pipe:
            for session in sessions[start : start + 500]:
                keys = session_keys(SessionKeys(PREFIX, session), ["o3-mini"])
                values.update((key, "x") for key in keys if key != deployments_key(session))
                pipe.sadd(deployments_key(session), "o3-mini")
            pipe.mset(values)
            await pipe.execute()
        written += len(values) + len(sessions[start : start + 500])
    return written


async def counts(client: Client) -> tuple[int, int]:
    """How many keys the server holds, and how many of them have an expiry."""
    space = (await client.info("keyspace")).get("db0", {"keys": 0, "expires": 0})
    return int(space["keys"]), int(space["expires"])


async def without_expiry(client: Client, sessions: list[str]) -> set[str]:
    """The sessions whose keys (all or some) have no expiry."""
    async with client.pipeline(transaction=False) as pipe:
        for session in sessions:
            for key in session_keys(SessionKeys(PREFIX, session), ["o3-mini"]):
                pipe.pttl(key)
        ttls = await pipe.execute()
    per_session = len(ttls) // max(len(sessions), 1)
    return {
        session
        for n, session in enumerate(sessions)
        if min(ttls[n * per_session : (n + 1) * per_session]) < 0
    }


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Client]:
    opened = connect(redis_url)
    yield opened
    await opened.aclose()


async def test_twenty_thousand_sessions_all_get_the_expiry(client: Client) -> None:
    sessions = names(20_000)  # one sweep of these missed its deadline, for good
    written = await write_sessions(client, sessions)
    expiry = SessionExpiry(client, PREFIX, TTL_SECONDS)
    expiry.interval = 0.01  # the sweeper, as a server runs it: deadlines included
    expiry.used.update(sessions)
    expiry.start()
    try:
        deadline = time.monotonic() + 60  # a bound on a hang, not a measure
        while await counts(client) != (written, written):
            assert time.monotonic() < deadline, "the sweeps did not renew every key"
            await asyncio.sleep(0.05)
    finally:
        await expiry.stop()


async def test_a_refused_batch_is_renewed_at_the_next_sweep(client: Client) -> None:
    sessions = names(3 * BATCH_SESSIONS)
    await write_sessions(client, sessions)
    broken = sessions[BATCH_SESSIONS + 7]  # in the second batch
    await client.delete(deployments_key(broken))
    await client.set(deployments_key(broken), "not a set")  # SMEMBERS: WRONGTYPE
    expiry = SessionExpiry(client, PREFIX, TTL_SECONDS)
    expiry.used.update(sessions)
    second_batch = sessions[BATCH_SESSIONS : 2 * BATCH_SESSIONS]
    assert await expiry.sweep() == BATCH_SESSIONS
    assert expiry.used == set(second_batch)  # the first and third were renewed
    assert await without_expiry(client, sessions) == set(second_batch)
    await client.delete(deployments_key(broken))
    await client.sadd(deployments_key(broken), "o3-mini")
    assert await expiry.sweep() == 0
    assert await without_expiry(client, sessions) == set()


@pytest.fixture
def kept_valkey() -> Iterator[ValkeyProcess]:
    """A server of its own that keeps its data over a kill (an AOF written on each write)."""
    with running_valkey("--appendonly", "yes", "--appendfsync", "always") as server:
        yield server


async def test_sessions_not_renewed_in_an_outage_are_renewed_after_it(
    kept_valkey: ValkeyProcess,
) -> None:
    client = connect(kept_valkey.url)
    try:
        sessions = names(4 * BATCH_SESSIONS)
        written = await write_sessions(client, sessions)
        expiry = SessionExpiry(client, PREFIX, TTL_SECONDS)
        expiry.used.update(sessions)
        kept_valkey.kill()
        assert await expiry.sweep() == len(sessions)  # the first batch failed: none tried
        assert expiry.used == set(sessions)
        kept_valkey.start()
        assert await expiry.sweep() == 0
        assert await counts(client) == (written, written)
    finally:
        await client.aclose()


async def test_what_is_carried_over_is_capped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(expiry_module, "KEPT_SESSIONS", 100)
    client = connect(f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there
    try:
        expiry = SessionExpiry(client, PREFIX, TTL_SECONDS)
        expiry.used.update(names(1000))
        with caplog.at_level(logging.WARNING, "mockserver.stores"):
            assert await expiry.sweep() == 100
        assert len(expiry.used) == 100
        assert "900 sessions dropped" in caplog.text
    finally:
        await client.aclose()


async def test_closing_renews_every_session_used_since_the_last_sweep(client: Client) -> None:
    sessions = names(10 * BATCH_SESSIONS)
    written = await write_sessions(client, sessions)
    expiry = SessionExpiry(client, PREFIX, TTL_SECONDS)
    expiry.start()  # its first sweep in 60 s
    expiry.used.update(sessions)
    await expiry.stop()
    assert expiry.used == set()
    assert await counts(client) == (written, written)


async def test_closing_with_redis_gone_returns(caplog: pytest.LogCaptureFixture) -> None:
    client = connect(f"redis://127.0.0.1:{free_port()}/0")
    try:
        expiry = SessionExpiry(client, PREFIX, TTL_SECONDS)
        expiry.start()
        expiry.used.update(names(10 * BATCH_SESSIONS))
        with caplog.at_level(logging.WARNING, "mockserver.stores"):
            await expiry.stop()  # one batch tried, the rest not: no deadline per batch
        assert f"{10 * BATCH_SESSIONS} sessions not renewed on closing" in caplog.text
    finally:
        await client.aclose()
