"""Quota on Redis is exact: however many processes admit at once, exactly the allowed
number get in each window (one script per admit, on Redis's clock)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import cast

from redis.asyncio import Redis

from mockserver.config import Deployment, Settings
from mockserver.stores.quota import Refusal
from mockserver.stores.redis import redis_stores
from mockserver.stores.stores import Stores
from tests.redis.admit_many import admitted


async def admit_all(
    stores: list[Stores], limits: Deployment, each: int, estimate: int = 1
) -> list[Refusal | None]:
    calls = [s.quota.admit("o3-mini", limits, estimate) for _ in range(each) for s in stores]
    return await asyncio.gather(*calls)


async def test_a_burst_from_two_processes_admits_exactly_the_window(
    two_processes: tuple[Stores, Stores],
) -> None:
    limits = Deployment(tokens_per_minute=10**9, requests_per_minute=60)  # 10 per 10 s
    refusals = await admit_all(list(two_processes), limits, each=150)
    assert sum(r is None for r in refusals) == 10
    assert {r.kind for r in refusals if r is not None} == {"requests"}
    snapshot = await two_processes[1].quota.snapshot("o3-mini", limits)
    assert snapshot.remaining_requests == 50


async def test_tokens_from_two_processes_are_spent_exactly(
    two_processes: tuple[Stores, Stores],
) -> None:
    limits = Deployment(tokens_per_minute=1000, requests_per_minute=10**6)
    refusals = await admit_all(list(two_processes), limits, each=150, estimate=7)
    assert sum(r is None for r in refusals) == 1000 // 7
    usage = await two_processes[0].quota.usage()
    assert usage["o3-mini"]["tokens_this_minute"] == 7 * (1000 // 7)


async def test_two_os_processes_admit_exactly_the_window(redis_url: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.redis.admit_many", redis_url, "200", "600"],
        stdout=subprocess.PIPE,
        text=True,
    )
    mine = await admitted(redis_url, 200, 600)  # 100 per 10 s window, for both together
    out, _ = child.communicate(timeout=30)
    assert mine + int(out) == 100


async def test_every_sliding_window_holds_at_most_the_allowance(
    clients: tuple[Redis, Redis],
) -> None:
    """3 s of two processes admitting as fast as they can, windows of 1 s: the arrival log
    on Redis never holds more than the allowance within any 1 s, and each window fills."""
    settings = Settings(quota_request_window_seconds=1.0)
    stores = [redis_stores(client, settings) for client in clients]
    limits = Deployment(tokens_per_minute=10**9, requests_per_minute=600)  # 10 per 1 s
    deadline = time.monotonic() + 3.0

    async def hammer(store: Stores) -> None:
        while time.monotonic() < deadline:
            await asyncio.gather(*(store.quota.admit("o3-mini", limits, 1) for _ in range(8)))

    await asyncio.gather(*(hammer(s) for s in stores for _ in range(4)))
    log = "mock:{mockserver:default}:quota:minute:o3-mini"
    times = [int(time) for time in cast(list[bytes], await clients[0].lrange(log, 0, -1))]
    assert times == sorted(times)  # pushed in the order Redis ran the steps
    in_window = [sum(1 for t in times if start <= t < start + 1_000_000) for start in times]
    assert max(in_window) == 10
    assert 30 <= len(times) <= 40  # 3 s of full windows, and no more
