"""A stub take is atomic across processes: concurrent takes from two clients never both
get a stub's last use, never skip a scenario step, and never count one answer twice."""

from __future__ import annotations

import asyncio
import itertools

from mockserver.engines.matching import RequestView
from mockserver.engines.stubs import Stub
from mockserver.stores.redis.stubs import RedisStubStore
from mockserver.stores.scenarios import STARTED
from mockserver.stores.stores import Stores


def view(text: str = "hello") -> RequestView:
    body = {"messages": [{"role": "user", "content": text}]}
    return RequestView("dated", "o3-mini", "2025-04-01-preview", {}, body)


def stub(**fields: object) -> Stub:
    return Stub.model_validate({"answer": {"content": "ok"}, **fields})


async def take_concurrently(stores: tuple[Stores, Stores], each: int) -> list[Stub | None]:
    return await asyncio.gather(*(s.stubs.take(view()) for _ in range(each) for s in stores))


async def test_times_is_exact_under_concurrent_takes(two_processes: tuple[Stores, Stores]) -> None:
    first, _ = two_processes
    await first.stubs.add(stub(id="limited", times=7, priority=1))
    await first.stubs.add(stub(id="fallback"))
    taken = await take_concurrently(two_processes, each=30)
    limited = sorted(s.answered for s in taken if s is not None and s.id == "limited")
    assert limited == [1, 2, 3, 4, 5, 6, 7]  # each use once, each count once
    fallback = [s for s in taken if s is not None and s.id == "fallback"]
    assert len(fallback) == 53
    kept = {s.id: s.answered for s in await first.stubs.all()}
    assert kept == {"limited": 7, "fallback": 53}


async def test_scenario_steps_are_taken_once_each_in_order(
    two_processes: tuple[Stores, Stores],
) -> None:
    first, second = two_processes
    states = [STARTED, "two", "three", "four", "done"]
    for step, (required, new) in enumerate(itertools.pairwise(states)):
        await first.stubs.add(
            stub(id=f"step-{step}", scenario="s", required_state=required, new_state=new)
        )
    taken = await take_concurrently(two_processes, each=20)
    assert sorted(s.id for s in taken if s is not None) == [f"step-{i}" for i in range(4)]
    assert await second.scenarios.get("s") == "done"


async def test_takes_of_unlimited_stubs_do_not_conflict(
    two_processes: tuple[Stores, Stores],
) -> None:
    first, _ = two_processes
    await first.stubs.add(stub(id="always"))
    taken = await take_concurrently(two_processes, each=100)
    assert all(s is not None and s.id == "always" for s in taken)
    assert sorted(s.answered for s in taken if s is not None) == list(range(1, 201))


async def test_a_stub_added_during_takes_is_taken_whole(
    two_processes: tuple[Stores, Stores],
) -> None:
    first, second = two_processes
    await first.stubs.add(stub(id="old", times=50))
    takes = take_concurrently(two_processes, each=40)
    add = second.stubs.add(stub(id="new", priority=1, times=5))
    taken, _ = await asyncio.gather(takes, add)
    counts = {s.id: s.answered for s in await first.stubs.all()}
    by_id = {i: sum(1 for s in taken if s is not None and s.id == i) for i in ("old", "new")}
    assert by_id == counts and sum(by_id.values()) == min(80, 55)


async def test_a_claim_on_a_stale_read_is_refused(two_processes: tuple[Stores, Stores]) -> None:
    """Between one process's read and its claim, the other replaces the stub: the claim
    must not count an answer of a definition that is gone."""
    first, second = two_processes
    assert isinstance(first.stubs, RedisStubStore)
    await first.stubs.add(stub(id="s"))
    snapshot = await first.stubs.snapshot()
    claim = snapshot.choose(view())
    assert claim is not None
    await second.stubs.add(stub(id="s", match={"last_user_message": {"contains": "other"}}))
    assert await first.stubs.claim(snapshot.generation, claim) is None
    assert await first.stubs.take(view()) is None  # read again: the new one does not match
    kept = await second.stubs.get("s")
    assert kept is not None and kept.answered == 0
