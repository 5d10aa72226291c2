"""The shared settings store, process by process (each a client of its own): a change is
applied everywhere before `share` returns, survives a Redis restart, and a process that
never acknowledges makes the PATCH a 503 rather than a silent half-change."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from mockserver.stores.redis import StoreUnavailableError, connect
from mockserver.stores.redis.broadcast import ACK_DEADLINE, PING_AFTER, PONG_DEADLINE, Broadcast
from mockserver.stores.redis.connection import Client, connect_cluster
from mockserver.stores.redis.settings import SharedSettings
from tests.redis.server import ValkeyProcess, running_valkey


class Follower:
    """One process: its client, its shared settings, what it applied."""

    def __init__(self, url: str, prefix: str = "mockserver", cluster: bool = False) -> None:
        self.client: Client = connect_cluster(url) if cluster else connect(url)
        self.broadcast = Broadcast(self.client, prefix)
        self.shared = SharedSettings(self.client, self.broadcast)
        self.applied: list[dict[str, Any]] = []

    async def start(self) -> None:
        self.shared.follow(self.applied.append)
        await self.broadcast.start()

    async def close(self) -> None:
        await self.broadcast.stop()
        await self.client.aclose()

    @property
    def current(self) -> dict[str, Any]:
        return self.applied[-1] if self.applied else {}


@pytest.fixture
async def followers(redis_url: str) -> AsyncIterator[list[Follower]]:
    started = [Follower(redis_url) for _ in range(3)]
    for follower in started:
        await follower.start()
    yield started
    for follower in started:
        await follower.close()


async def test_every_follower_applied_a_change_before_share_returns(
    followers: list[Follower],
) -> None:
    for seed in range(30):
        await followers[seed % 3].shared.share({"seed": seed})
        assert [f.current.get("seed") for f in followers] == [seed] * 3


async def test_changes_accumulate_and_keep_their_json_types(followers: list[Follower]) -> None:
    await followers[0].shared.share({"seed": 2**62, "region": "eastus"})
    await followers[1].shared.share({"stream_obfuscation": False})
    expected = {"seed": 2**62, "region": "eastus", "stream_obfuscation": False}
    assert all(f.current == expected for f in followers)


async def test_a_follower_started_later_loads_the_changes(
    followers: list[Follower], redis_url: str
) -> None:
    await followers[0].shared.share({"seed": 4})
    later = Follower(redis_url)
    await later.start()
    try:
        assert later.applied == [{"seed": 4}]
    finally:
        await later.close()


async def test_a_subscriber_that_never_applies_makes_a_503(
    followers: list[Follower], redis_url: str
) -> None:
    silent = connect(redis_url).pubsub()
    await silent.subscribe(followers[0].shared.changed)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError):
            await followers[0].shared.share({"seed": 8})
        assert ACK_DEADLINE <= time.monotonic() - started < ACK_DEADLINE + 1.0
        assert all(f.current == {"seed": 8} for f in followers)  # stored, applied by these
    finally:
        await silent.aclose()


@pytest.fixture
def valkey() -> Iterator[ValkeyProcess]:
    with running_valkey() as server:
        yield server


async def test_a_follower_resubscribes_and_reloads_after_redis_restarts(
    valkey: ValkeyProcess,
) -> None:
    first, second = Follower(valkey.url), Follower(valkey.url)
    await first.start()
    await second.start()
    try:
        valkey.kill()
        valkey.start()  # empty: nothing stored
        changed = first.shared.changed
        await eventually(lambda: subscribers(valkey, changed) == 2)
        await first.shared.share({"seed": 77})
        assert second.current == {"seed": 77}
    finally:
        await first.close()
        await second.close()


def subscribers(valkey: ValkeyProcess, channel: str) -> int:
    with valkey.client() as client:
        counts = client.pubsub_numsub(channel)
    return int(counts[0][1])


async def eventually(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the deadline"
        await asyncio.sleep(0.05)


async def losses_over_a_quiet_spell(follower: Follower) -> int:
    """How often the follower took its subscription for lost while nothing was told: long
    enough for a ping unanswered to have counted as silence (two pings and their deadline)."""
    losses: list[None] = []
    follower.broadcast.on_lost.append(lambda: losses.append(None))
    await asyncio.sleep(2 * PING_AFTER + PONG_DEADLINE + 1.0)
    return len(losses)


async def test_an_idle_subscription_is_pinged_and_its_pongs_keep_it(redis_url: str) -> None:
    follower = Follower(redis_url)
    await follower.start()
    try:
        assert await losses_over_a_quiet_spell(follower) == 0
        clients = await follower.client.client_list()
        subscribed = [c for c in clients if int(c["sub"]) > 0]
        assert [c["cmd"] for c in subscribed] == ["ping"]  # its last command: a ping
    finally:
        await follower.close()
