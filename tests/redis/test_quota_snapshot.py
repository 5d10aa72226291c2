"""The Redis ledger's snapshot (the x-ratelimit-* headers) is the memory ledger's, to the
second: its script counts the resets in whole microseconds where the memory ledger rounds
floats, and both must round up to the same whole seconds, at every clock value."""

from __future__ import annotations

import random

import pytest

from mockserver.config import Deployment, Settings
from mockserver.stores.memory import memory_stores
from mockserver.stores.redis import connect, redis_stores

LIMITS = Deployment(tokens_per_minute=5000, requests_per_minute=120)  # 20 per 10 s window


class MicroClock:
    """A clock at whole microseconds, as a float (what a process's clock reads)."""

    def __init__(self) -> None:
        self.micros = 1_000_000_000

    def __call__(self) -> float:
        return self.micros / 1_000_000


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_snapshots_and_refusals_match_the_memory_ledger(redis_url: str, seed: int) -> None:
    draw, clock = random.Random(seed), MicroClock()
    client = connect(redis_url)
    shared = redis_stores(client, Settings(), f"snap{seed}", "test", clock)
    local = memory_stores(Settings(), clock)
    try:
        for _ in range(300):
            # Mostly short steps (a burst), sometimes across a window or the minute, and
            # some landing exactly on a whole second from an arrival.
            clock.micros += draw.choice(
                [draw.randrange(0, 400_000), draw.randrange(0, 15_000_000), 1_000_000]
            )
            estimate, enforce = draw.randrange(1, 600), draw.random() < 0.7
            wanted = await local.quota.admit("o3-mini", LIMITS, estimate, enforce)
            got = await shared.quota.admit("o3-mini", LIMITS, estimate, enforce)
            assert (got and got.kind) == (wanted and wanted.kind)
            if got and wanted:
                wait = pytest.approx(wanted.retry_after_seconds, abs=1e-6)
                assert got.retry_after_seconds == wait
            snapshot = await local.quota.snapshot("o3-mini", LIMITS)
            assert await shared.quota.snapshot("o3-mini", LIMITS) == snapshot
    finally:
        await shared.reset()
        await client.aclose()
