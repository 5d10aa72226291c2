"""The Redis ledger's snapshot (the x-ratelimit-* headers) is the memory ledger's, to the
second: its script counts the resets in whole microseconds where the memory ledger rounds
floats, and both must round up to the same whole seconds, at every clock value."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable
from typing import Any, NamedTuple

import pytest
from redis.asyncio import Redis

from mockserver.config import Deployment, Settings
from mockserver.stores.memory import memory_stores
from mockserver.stores.quota import QuotaSnapshot, Refusal
from mockserver.stores.redis import connect, redis_stores
from mockserver.stores.stores import Stores

LIMITS = Deployment(tokens_per_minute=5000, requests_per_minute=120)  # 20 per 10 s window


class MicroClock:
    """A clock at whole microseconds, as a float (what a process's clock reads)."""

    def __init__(self) -> None:
        self.micros = 1_000_000_000

    def __call__(self) -> float:
        return self.micros / 1_000_000


class Ledgers(NamedTuple):
    """The quota on Redis and in memory, on one test clock."""

    clock: MicroClock
    client: Redis
    shared: Stores
    local: Stores


@pytest.fixture
async def ledgers(redis_url: str) -> AsyncIterator[Ledgers]:
    clock, client = MicroClock(), connect(redis_url)
    shared = redis_stores(client, Settings(), "ledgers", "test", clock)
    yield Ledgers(clock, client, shared, memory_stores(Settings(), clock))
    await shared.reset()
    await client.aclose()


@pytest.mark.parametrize(("seed", "set_back"), [(1, False), (2, False), (3, False), (4, True)])
async def test_snapshots_and_refusals_match_the_memory_ledger(
    ledgers: Ledgers, seed: int, set_back: bool
) -> None:
    """`set_back`: a test's clock sometimes set back, up to 20 s; the windows still drop
    from their oldest arrival on, as the memory ledger's do."""
    draw, (clock, _, shared, local) = random.Random(seed), ledgers
    for _ in range(300):
        # Mostly short steps (a burst), sometimes across a window or the minute, and
        # some landing exactly on a whole second from an arrival.
        clock.micros += draw.choice(
            [draw.randrange(0, 400_000), draw.randrange(0, 15_000_000), 1_000_000]
        )
        if set_back and draw.random() < 0.1:
            clock.micros -= draw.randrange(0, 20_000_000)
        estimate, enforce = draw.randrange(1, 600), draw.random() < 0.7
        wanted = await local.quota.admit("o3-mini", LIMITS, estimate, enforce)
        got = await shared.quota.admit("o3-mini", LIMITS, estimate, enforce)
        assert (got and got.kind) == (wanted and wanted.kind)
        if got and wanted:
            wait = pytest.approx(wanted.retry_after_seconds, abs=1e-6)
            assert got.retry_after_seconds == wait
        snapshot = await local.quota.snapshot("o3-mini", LIMITS)
        assert await shared.quota.snapshot("o3-mini", LIMITS) == snapshot
        assert await shared.quota.usage() == await local.quota.usage()


@pytest.mark.parametrize("idle_seconds", [0.5, 25.0, 59.0, 61.0])
async def test_a_step_after_a_long_burst_drops_what_the_memory_ledger_drops(
    ledgers: Ledgers, idle_seconds: float
) -> None:
    """10,000 arrivals over 40 s, then a pause: the next step drops some of them (read
    in chunks up to 4,096), or all (the log deleted at once), as the memory ledger does."""
    clock, _, shared, local = ledgers
    unlimited = Deployment(tokens_per_minute=10**9, requests_per_minute=10**9)
    for _ in range(10_000):
        clock.micros += 4_000
        assert await shared.quota.admit("o3-mini", unlimited, 1) is None
        await local.quota.admit("o3-mini", unlimited, 1)
    clock.micros += round(idle_seconds * 1_000_000)
    for _ in range(3):
        snapshot = await local.quota.snapshot("o3-mini", unlimited)
        assert await shared.quota.snapshot("o3-mini", unlimited) == snapshot
        assert await shared.quota.usage() == await local.quota.usage()
        await local.quota.admit("o3-mini", unlimited, 1)
        await shared.quota.admit("o3-mini", unlimited, 1)
        clock.micros += 20_000_000


async def reads_of_a_step(client: Redis, step: Awaitable[object]) -> dict[str, int]:
    """How many LINDEX and LRANGE calls Redis ran (within the step's script) for `step`."""

    def calls(stats: dict[str, Any]) -> dict[str, int]:
        return {name: stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in READS}

    before = calls(await client.info("commandstats"))
    await step
    after = calls(await client.info("commandstats"))
    return {name: after[name] - before[name] for name in READS}


READS = ("lindex", "lrange")


@pytest.mark.parametrize("set_back_first", [False, True])
async def test_a_step_after_a_long_burst_reads_a_few_arrivals_not_all(
    ledgers: Ledgers, set_back_first: bool
) -> None:
    """In order, the first arrival after the cut is found by probing and halving: 50 s
    after 10,000 arrivals over 40 s, a step drops the minute's first 7,500 reading its two
    oldest and about 2 log2(7,500) more (the window's log, all past, is deleted whole). A
    clock set back makes the logs out of order: those are read in turn until both are
    empty, and probed again after."""
    clock, client, shared, _ = ledgers
    unlimited = Deployment(tokens_per_minute=10**9, requests_per_minute=10**9)
    if set_back_first:
        for step in (0, -5_000_000, 6_000_000):  # t, t - 5 s, t + 1 s: out of order
            clock.micros += step
            await shared.quota.admit("o3-mini", unlimited, 1)
        clock.micros += 9_500_000  # the window's cut at t + 0.5 s: two to drop, in turn
        read = await reads_of_a_step(client, shared.quota.snapshot("o3-mini", unlimited))
        assert read["lrange"] > 2  # past the two oldest of each log, read in turn
        clock.micros += 61_000_000  # both logs empty: in order again
        await shared.quota.snapshot("o3-mini", unlimited)
    for _ in range(10_000):
        clock.micros += 4_000
        assert await shared.quota.admit("o3-mini", unlimited, 1) is None
    clock.micros += 50_000_000
    read = await reads_of_a_step(client, shared.quota.snapshot("o3-mini", unlimited))
    assert read["lrange"] == 1  # the minute's two oldest (the window's log is deleted)
    assert 2 <= read["lindex"] <= 2 * 13 + 1  # probes, halvings
    snapshot = await shared.quota.snapshot("o3-mini", unlimited)
    assert snapshot.remaining_requests == 10**9 - 2_500


async def test_a_minute_apart_to_the_microsecond_turns_the_minute_on_both(ledgers: Ledgers) -> None:
    """480.302789 s then 540.302789 s: a hair under 60 in float seconds, 60 in whole
    microseconds. Both ledgers count microseconds, so both turn the minute."""
    clock, _, shared, local = ledgers
    limits = Deployment(tokens_per_minute=100, requests_per_minute=6)
    for micros in (480_302_789, 540_302_789):
        clock.micros = micros
        assert await shared.quota.admit("o3-mini", limits, 100) is None
        assert await local.quota.admit("o3-mini", limits, 100) is None
        assert await shared.quota.snapshot("o3-mini", limits) == await local.quota.snapshot(
            "o3-mini", limits
        )
        assert await shared.quota.usage() == await local.quota.usage()


async def admitted_together(
    stores: Stores, steps: list[tuple[Deployment, int]]
) -> list[tuple[Refusal | None, QuotaSnapshot]]:
    """Admits made in one event-loop turn (one call of the step script), each followed
    by its own snapshot (the headers of its answer)."""

    async def one(limits: Deployment, estimate: int) -> tuple[Refusal | None, QuotaSnapshot]:
        refusal = await stores.quota.admit("o3-mini", limits, estimate)
        return refusal, await stores.quota.snapshot("o3-mini", limits)

    return list(await asyncio.gather(*(one(limits, estimate) for limits, estimate in steps)))


@pytest.mark.parametrize("seed", [7, 8, 9])
async def test_admits_made_together_are_the_memory_ledgers_one_by_one(
    ledgers: Ledgers, seed: int
) -> None:
    # Turns of 1-15 admits with random estimates and limits (so some of a turn pass the
    # tokens or the window's allowance): each gets the refusal and the snapshot it would
    # have got alone, in the order they came, as the memory ledger gives them.
    draw, (clock, _, shared, local) = random.Random(seed), ledgers
    for _ in range(60):
        clock.micros += draw.choice([0, 1, 250_000, 2_000_000, 9_999_999, 30_000_000])
        steps = [
            (
                Deployment(
                    tokens_per_minute=draw.choice([400, 5000]),
                    requests_per_minute=draw.choice([6, 60, 120]),
                    enforce_quota=True,
                ),
                draw.randrange(1, 300),
            )
            for _ in range(draw.randint(1, 15))
        ]
        together = await admitted_together(shared, steps)
        alone = [
            (
                await local.quota.admit("o3-mini", limits, estimate),
                await local.quota.snapshot("o3-mini", limits),
            )
            for limits, estimate in steps
        ]
        assert together == alone
        assert await shared.quota.usage() == await local.quota.usage()


async def test_admits_made_together_cost_redis_one_call(ledgers: Ledgers) -> None:
    _, client, shared, _ = ledgers
    limits = Deployment(tokens_per_minute=10**6, requests_per_minute=10**6)
    await shared.quota.admit("o3-mini", limits, 1)  # the script loaded, the line open
    before = (await client.info("commandstats"))["cmdstat_evalsha"]["calls"]
    results = await admitted_together(shared, [(limits, 1)] * 20)
    after = (await client.info("commandstats"))["cmdstat_evalsha"]["calls"]
    assert after - before == 1  # the snapshots come with the admits: no call of their own
    assert [refusal for refusal, _ in results] == [None] * 20
    assert [snapshot.remaining_requests for _, snapshot in results] == [
        10**6 - n for n in range(2, 22)
    ]
