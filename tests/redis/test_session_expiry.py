"""Idle sessions expire on Redis; used ones do not; the default session never does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis

from mockserver.config import Deployment, Settings
from mockserver.engines.stubs import Stub
from mockserver.stores.journal_entry import JournalEntry
from mockserver.stores.redis import RedisBackend, connect
from mockserver.stores.redis import expiry as expiry_module
from mockserver.stores.redis import session as session_module
from mockserver.stores.redis.connection import Client
from mockserver.stores.redis.keys import (
    DEPLOYMENTS,
    MINUTE_ARRIVALS,
    SORTED_ARRIVALS,
    USAGE,
    WINDOW_ARRIVALS,
    SessionKeys,
    session_keys,
)
from mockserver.stores.responses import StoredResponse
from mockserver.stores.stores import Stores
from tests.redis.conftest import no_settings


@pytest.fixture
async def backend(redis_url: str) -> AsyncIterator[RedisBackend]:
    client = connect(redis_url)
    started = RedisBackend(client, Settings(state_session_ttl_seconds=2))
    await started.start(no_settings)
    yield started
    await started.close()


async def use_every_store(stores: Stores) -> None:
    stub = await stores.stubs.add(
        Stub.model_validate(
            {"answer": {"content": "x"}, "times": 2, "scenario": "s", "new_state": "b"}
        )
    )
    await stores.scenarios.set("s", "b")
    await stores.journal.record(
        JournalEntry(id=0, time=0.0, method="POST", path="/x", query={}, headers={}, status=200)
    )
    limits = Deployment(model="o3-mini", fault_rates={"429": 0.5})
    await stores.quota.admit("o3-mini", limits, 10)
    await stores.faults.draw("o3-mini", 7)
    await stores.faults.take("o3-mini:429", 3)
    await stores.replays.take("key", 2, True)
    await stores.responses.put(
        StoredResponse({"id": "resp_1", "output": [{"id": "msg_1"}]}, [], [])
    )
    assert stub.id


async def session_key_names(client: Client, session: str) -> set[str]:
    pattern = SessionKeys("mockserver", session).pattern()
    return {key async for key in client.scan_iter(match=pattern)}


async def test_every_key_of_a_used_session_gets_the_expiry(backend: RedisBackend) -> None:
    await use_every_store(backend.stores("alpha"))
    await backend.expiry.sweep()
    names = await session_key_names(backend.client, "alpha")
    # Every key the stores make is one the sweep renews and forget deletes (or it
    # would live for ever); an earlier build's sorted set of arrivals is named, not made.
    keys = SessionKeys("mockserver", "alpha")
    earlier = keys.key(*SORTED_ARRIVALS, "o3-mini")
    assert names == set(session_keys(keys, ["o3-mini"])) - {earlier}
    for name in names:
        assert 0 < await backend.client.pttl(name) <= 2000
    await backend.forget("alpha")
    assert await session_key_names(backend.client, "alpha") == set()


async def test_an_idle_session_expires_and_a_used_one_stays(backend: RedisBackend) -> None:
    await use_every_store(backend.stores("idle"))
    await use_every_store(backend.stores("busy"))
    await use_every_store(backend.stores("default"))
    for _ in range(14):  # 3.5 s: past the ttl (2 s) and several sweeps (0.5 s)
        await backend.stores("busy").journal.count(None)
        await asyncio.sleep(0.25)
    assert await session_key_names(backend.client, "idle") == set()
    assert len(await session_key_names(backend.client, "busy")) > 5
    default = await session_key_names(backend.client, "default")
    assert default and all([await backend.client.pttl(key) == -1 for key in default])


async def test_a_ttl_of_zero_never_expires(redis_url: str) -> None:
    client = connect(redis_url)
    backend = RedisBackend(client, Settings(state_session_ttl_seconds=0))
    await backend.start(no_settings)
    try:
        await use_every_store(backend.stores("kept"))
        assert backend.expiry.sweeper is None
    finally:
        await backend.close()
    check = connect(redis_url)
    names = await session_key_names(check, "kept")
    assert names and all([await check.pttl(key) == -1 for key in names])
    await check.aclose()


async def test_a_closing_process_renews_what_it_used_last(redis_url: str) -> None:
    client = connect(redis_url)
    backend = RedisBackend(client, Settings(state_session_ttl_seconds=3600))
    await backend.start(no_settings)
    await use_every_store(backend.stores("last"))
    await backend.close()  # before its first sweep (in 60 s)
    check = connect(redis_url)
    names = await session_key_names(check, "last")
    assert names and all([0 < await check.pttl(key) <= 3_600_000 for key in names])
    await check.aclose()


def first_step_between_read_and_act(
    monkeypatch: pytest.MonkeyPatch, module: object, redis_url: str, session: str
) -> None:
    """The next naming of a session's keys is followed at once by what a request's first
    quota step for another deployment writes: the race between reading the deployments
    and acting on their keys, made certain."""
    named = session_keys
    writer = redis.Redis.from_url(redis_url)
    keys = SessionKeys("mockserver", session)

    def naming_then_a_step(session_of: SessionKeys, deployments: list[str]) -> list[str]:
        monkeypatch.setattr(module, "session_keys", named)  # once
        writer.sadd(keys.key(*DEPLOYMENTS), "late")
        writer.hset(keys.key(*USAGE, "late"), mapping={"start": 1, "tokens": 0})
        writer.rpush(keys.key(*MINUTE_ARRIVALS, "late"), 1)
        writer.rpush(keys.key(*WINDOW_ARRIVALS, "late"), 1)
        writer.zadd(keys.key(*SORTED_ARRIVALS, "late"), {"1": 1})  # an earlier build's
        writer.close()
        return named(session_of, deployments)

    monkeypatch.setattr(module, "session_keys", naming_then_a_step)


async def test_forget_leaves_no_key_of_a_deployment_first_used_meanwhile(
    backend: RedisBackend, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await use_every_store(backend.stores("racing"))
    first_step_between_read_and_act(monkeypatch, session_module, redis_url, "racing")
    await backend.forget("racing")
    assert await session_key_names(backend.client, "racing") == set()


async def test_a_sweep_renews_a_deployment_first_used_meanwhile_at_the_next(
    backend: RedisBackend, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await use_every_store(backend.stores("racing"))
    first_step_between_read_and_act(monkeypatch, expiry_module, redis_url, "racing")
    await backend.expiry.sweep()
    late = SessionKeys("mockserver", "racing").key(*USAGE, "late")
    assert await backend.client.pttl(late) == -1  # written after the read: not renewed yet
    assert "racing" in backend.expiry.used  # but kept for the next sweep
    await backend.expiry.sweep()
    names = await session_key_names(backend.client, "racing")
    assert late in names
    for name in names:
        assert 0 < await backend.client.pttl(name) <= 2000
