"""The store contract: what every implementation of the stores' Protocols does.

Each test runs against every implementation in IMPLEMENTATIONS, without a mock server:
the memory stores, and the Redis stores (#18) on a real valkey-server the suite starts
(tests/redis/server.py) and on a real three-node Redis Cluster (tests/redis/cluster.py).
A factory gets the settings and the clock the quota windows run on (the Redis quota takes
it in place of Redis's own clock).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from mockserver.config import Deployment, Settings
from mockserver.engines.matching import RequestMatch, RequestView
from mockserver.engines.stubs import Stub
from mockserver.stores.journal import JournalEntry, VerificationError, verify
from mockserver.stores.memory import memory_stores
from mockserver.stores.quota import MINUTE, Refusal
from mockserver.stores.redis import connect, redis_stores
from mockserver.stores.redis.connection import Client, connect_cluster
from mockserver.stores.responses import StoredResponse
from mockserver.stores.scenarios import STARTED
from mockserver.stores.stores import RESETTABLE, Stores
from tests.redis.cluster import cluster_url, redis_cluster  # noqa: F401 (fixtures by name)
from tests.redis.server import redis_server, redis_url  # noqa: F401 (fixtures used by name)

Clock = Callable[[], float]
StoresFactory = Callable[[Settings, Clock], Stores]

IMPLEMENTATIONS = ["memory", "redis", "redis-cluster"]


class FakeClock:
    """A clock that moves only when a test says so (exact binary fractions)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(params=IMPLEMENTATIONS)
async def make_stores(request: pytest.FixtureRequest) -> AsyncIterator[StoresFactory]:
    if request.param == "memory":
        yield memory_stores
        return
    client: Client
    if request.param == "redis":
        client = connect(request.getfixturevalue("redis_url"))  # an empty server
    else:
        client = connect_cluster(request.getfixturevalue("cluster_url"))
    yield lambda settings, clock: redis_stores(client, settings, "contract", "test", clock)
    await client.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def stores(make_stores: StoresFactory, clock: FakeClock) -> AsyncIterator[Stores]:
    made = make_stores(Settings(), clock)
    yield made
    await made.reset()  # a shared store must not leak into the next test


def view(text: str = "hello", deployment: str = "o3-mini") -> RequestView:
    body = {"messages": [{"role": "user", "content": text}]}
    return RequestView("dated", deployment, "2025-04-01-preview", {}, body)


def stub(**fields: Any) -> Stub:
    return Stub.model_validate({"answer": {"content": "ok"}, **fields})


def saying(text: str, **fields: Any) -> Stub:
    return stub(match={"last_user_message": {"contains": text}}, **fields)


# --- stubs ----------------------------------------------------------------------------------


async def test_no_stub_answers_an_empty_store(stores: Stores) -> None:
    assert await stores.stubs.take(view()) is None
    assert not await stores.stubs.would_answer(view())
    assert not await stores.stubs.has_stubs()
    assert await stores.stubs.all() == []


async def test_added_stubs_are_listed_found_and_removed(stores: Stores) -> None:
    first, second = stub(id="first"), stub(id="second")
    assert (await stores.stubs.add(first)).id == "first"
    await stores.stubs.add(second)
    assert [s.id for s in await stores.stubs.all()] == ["first", "second"]
    assert await stores.stubs.get("second") == second
    assert await stores.stubs.has_stubs()
    assert await stores.stubs.remove("first")
    assert not await stores.stubs.remove("first")
    assert await stores.stubs.get("first") is None
    assert [s.id for s in await stores.stubs.all()] == ["second"]


async def test_lowest_priority_answers_first_then_the_latest_added(stores: Stores) -> None:
    await stores.stubs.add(saying("hello", id="old", priority=5))
    await stores.stubs.add(saying("hello", id="new", priority=5))
    await stores.stubs.add(saying("hello", id="later-but-lower", priority=7))
    await stores.stubs.add(saying("other", id="urgent-elsewhere", priority=1))
    taken = await stores.stubs.take(view("hello"))
    assert taken is not None and taken.id == "new"
    await stores.stubs.add(saying("hello", id="urgent", priority=1))
    taken = await stores.stubs.take(view("hello"))
    assert taken is not None and taken.id == "urgent"


async def test_a_replaced_stub_keeps_its_place_in_the_list_and_ranks_as_newest(
    stores: Stores,
) -> None:
    await stores.stubs.add(saying("hello", id="a"))
    await stores.stubs.add(saying("hello", id="b"))
    await stores.stubs.add(saying("hello", id="a", answer={"content": "replaced"}))
    assert [s.id for s in await stores.stubs.all()] == ["a", "b"]
    taken = await stores.stubs.take(view("hello"))
    assert taken is not None and (taken.id, taken.answer.content) == ("a", "replaced")


async def test_times_limits_the_answers_and_each_take_is_counted(stores: Stores) -> None:
    await stores.stubs.add(saying("hello", id="twice", times=2, priority=1))
    await stores.stubs.add(saying("hello", id="fallback"))
    taken = [await stores.stubs.take(view("hello")) for _ in range(3)]
    assert [(s.id, s.answered) for s in taken if s] == [("twice", 1), ("twice", 2), ("fallback", 1)]
    listed = {s.id: s.answered for s in await stores.stubs.all()}
    assert listed == {"twice": 2, "fallback": 1}


async def test_would_answer_counts_nothing(stores: Stores) -> None:
    await stores.stubs.add(saying("hello", id="once", times=1))
    assert await stores.stubs.would_answer(view("hello"))
    assert await stores.stubs.would_answer(view("hello"))
    assert not await stores.stubs.would_answer(view("bye"))
    once = await stores.stubs.get("once")
    assert once is not None and once.answered == 0
    assert await stores.stubs.take(view("hello")) is not None
    assert not await stores.stubs.would_answer(view("hello"))


async def test_take_by_id_ignores_the_match_but_counts(stores: Stores) -> None:
    await stores.stubs.add(saying("weather", id="forced", times=1))
    forced = await stores.stubs.take_by_id("forced")
    assert forced is not None and forced.answered == 1
    assert await stores.stubs.take_by_id("missing") is None
    assert await stores.stubs.take(view("weather")) is None  # its one use is gone


async def test_a_stub_handed_out_is_a_copy(stores: Stores) -> None:
    added = saying("hello", id="kept")
    await stores.stubs.add(added)
    added.priority = 1  # the caller's object is not the stored one
    taken = await stores.stubs.take(view("hello"))
    assert taken is not None
    taken.answered = 99
    kept = await stores.stubs.get("kept")
    assert kept is not None and (kept.answered, kept.priority) == (1, 5)


async def test_scenario_stubs_answer_in_turn(stores: Stores) -> None:
    steps = [("first", STARTED, "second"), ("second", "second", "done")]
    for name, required, new in steps:
        await stores.stubs.add(
            saying("hello", id=name, scenario="retry", required_state=required, new_state=new)
        )
    assert await stores.scenarios.all() == {"retry": STARTED}
    answers = [await stores.stubs.take(view("hello")) for _ in range(3)]
    assert [s.id if s else None for s in answers] == ["first", "second", None]
    assert await stores.scenarios.get("retry") == "done"


async def test_a_scenario_set_by_hand_picks_the_stub(stores: Stores) -> None:
    await stores.stubs.add(saying("hello", id="a", scenario="s", required_state=STARTED))
    await stores.stubs.add(saying("hello", id="b", scenario="s", required_state="later"))
    await stores.scenarios.set("s", "later")
    taken = await stores.stubs.take(view("hello"))
    assert taken is not None and taken.id == "b"
    assert not await stores.stubs.would_answer(view("bye"))


async def test_take_answers_as_things_are_when_it_takes(stores: Stores) -> None:
    """The rules ask `would_answer` and then `take` for the same request; what changed
    between the two (a stub added, removed or used up, a scenario moved) decides the take."""
    asked = view("hello")
    await stores.stubs.add(saying("hello", id="low", priority=9))
    assert await stores.stubs.would_answer(asked)
    await stores.stubs.add(saying("hello", id="high", priority=1))  # added in between
    assert (await stores.stubs.take(asked) or stub(id="none")).id == "high"

    await stores.stubs.add(saying("hello", id="once", priority=0, times=1))
    assert await stores.stubs.would_answer(asked)
    assert (await stores.stubs.take(asked) or stub(id="none")).id == "once"
    assert (await stores.stubs.take(asked) or stub(id="none")).id == "high"  # once is used

    assert await stores.stubs.would_answer(asked)
    await stores.stubs.remove("high")
    assert (await stores.stubs.take(asked) or stub(id="none")).id == "low"

    await stores.stubs.add(
        saying("hello", id="first", priority=0, scenario="s", required_state=STARTED)
    )
    assert await stores.stubs.would_answer(asked)
    await stores.scenarios.set("s", "moved on")  # the found stub no longer answers
    assert (await stores.stubs.take(asked) or stub(id="none")).id == "low"

    await stores.stubs.add(
        saying("hello", id="later", priority=0, scenario="t", required_state="open")
    )
    assert await stores.stubs.would_answer(asked)  # "low": "later" waits for its state
    await stores.scenarios.set("t", "open")  # a better-ranked stub answers now
    assert (await stores.stubs.take(asked) or stub(id="none")).id == "later"


async def test_take_by_id_moves_the_scenario(stores: Stores) -> None:
    await stores.stubs.add(stub(id="s1", scenario="flow", new_state="after"))
    assert await stores.stubs.take_by_id("s1") is not None
    assert await stores.scenarios.get("flow") == "after"


# --- scenarios ------------------------------------------------------------------------------


async def test_scenarios_start_set_reset_and_clear(stores: Stores) -> None:
    scenarios = stores.scenarios
    assert await scenarios.get("unknown") == STARTED
    assert await scenarios.all() == {}
    await scenarios.start("a")
    await scenarios.set("b", "middle")
    await scenarios.start("b")  # already known: its state stays
    assert await scenarios.all() == {"a": STARTED, "b": "middle"}
    await scenarios.reset()
    assert await scenarios.all() == {"a": STARTED, "b": STARTED}
    await scenarios.clear()
    assert await scenarios.all() == {}


# --- journal --------------------------------------------------------------------------------


def entry(text: str = "hello", size: int = 0, **fields: Any) -> JournalEntry:
    body = {"messages": [{"role": "user", "content": text}]}
    values: dict[str, Any] = {
        "id": 0,
        "time": 0.0,
        "method": "POST",
        "path": "/chat",
        "query": {},
        "headers": {},
        "body": body,
        "surface": "dated",
        "deployment": "o3-mini",
        "status": 200,
        **fields,
    }
    if size:  # a text body of `size` bytes, and nothing else counted
        values["body"], values["body_text"] = None, "x" * size
    return JournalEntry(**values)


async def test_entries_are_numbered_in_arrival_order(stores: Stores) -> None:
    for text in ("a", "b", "c"):
        await stores.journal.record(entry(text))
    entries = await stores.journal.entries()
    assert [e.id for e in entries] == [1, 2, 3]
    assert [e.body["messages"][0]["content"] for e in entries] == ["a", "b", "c"]
    assert await stores.journal.size() == 3


async def test_numbering_goes_on_after_a_clear(stores: Stores) -> None:
    await stores.journal.record(entry())
    await stores.journal.clear()
    assert await stores.journal.entries() == []
    assert (await stores.journal.size(), await stores.journal.stored_bytes()) == (0, 0)
    await stores.journal.record(entry())
    assert [e.id for e in await stores.journal.entries()] == [2]


async def test_the_journal_keeps_the_newest_within_its_capacity(
    make_stores: StoresFactory, clock: FakeClock
) -> None:
    stores = make_stores(Settings(journal_capacity=2), clock)
    for text in ("a", "b", "c"):
        await stores.journal.record(entry(text))
    assert [e.id for e in await stores.journal.entries()] == [2, 3]
    assert await stores.journal.size() == 2
    await stores.reset()


async def test_the_journal_keeps_the_newest_within_its_byte_bound(
    make_stores: StoresFactory, clock: FakeClock
) -> None:
    stores = make_stores(Settings(journal_max_bytes=2500), clock)
    for _ in range(3):
        await stores.journal.record(entry(size=1000))
    assert [e.id for e in await stores.journal.entries()] == [2, 3]
    assert await stores.journal.stored_bytes() == 2000
    await stores.journal.record(entry(size=5000))  # over the bound alone: it still stays
    assert [e.id for e in await stores.journal.entries()] == [4]
    assert await stores.journal.stored_bytes() == 5000
    await stores.reset()


async def test_find_and_count_by_match_and_fields(stores: Stores) -> None:
    await stores.journal.record(entry("weather?", status=200))
    await stores.journal.record(entry("weather again", status=429))
    await stores.journal.record(entry("news", status=200, deployment="other"))
    weather = RequestMatch.model_validate({"last_user_message": {"contains": "weather"}})
    assert [e.id for e in await stores.journal.find(weather)] == [1, 2]
    assert [e.id for e in await stores.journal.find(weather, status=200)] == [1]
    assert [e.id for e in await stores.journal.find(None, deployment="other")] == [3]
    assert await stores.journal.count(weather) == 2
    assert await stores.journal.count(None, status=500) == 0


async def test_verify_passes_or_names_the_nearest_requests(stores: Stores) -> None:
    await stores.journal.record(entry("weather?"))
    weather = RequestMatch.model_validate({"last_user_message": {"contains": "weather"}})
    assert [e.id for e in await verify(stores.journal, weather, count=1)] == [1]
    news = RequestMatch.model_validate({"last_user_message": {"contains": "news"}})
    with pytest.raises(VerificationError, match=r"found 0\.\nNearest requests received:\n  #1"):
        await verify(stores.journal, news)


# --- quota ----------------------------------------------------------------------------------

LIMITS = Deployment(tokens_per_minute=1000, requests_per_minute=60)  # 10 per 10 s window


async def test_quota_admits_until_the_minute_is_spent(stores: Stores, clock: FakeClock) -> None:
    assert await stores.quota.admit("o3-mini", LIMITS, 600) is None
    clock.advance(15.0)
    refusal = await stores.quota.admit("o3-mini", LIMITS, 500)
    assert refusal == Refusal("tokens", MINUTE - 15.0)
    assert await stores.quota.admit("o3-mini", LIMITS, 500, enforce=False) is None
    usage = await stores.quota.usage()
    assert usage == {"o3-mini": {"tokens_this_minute": 1100, "requests_last_minute": 2}}
    clock.advance(MINUTE - 15.0)
    assert await stores.quota.admit("o3-mini", LIMITS, 1000) is None


async def test_quota_charges_and_snapshot(stores: Stores, clock: FakeClock) -> None:
    await stores.quota.admit("o3-mini", LIMITS, 300)
    await stores.quota.admit("o3-mini", LIMITS, 200, enforce=False)
    clock.advance(7.75)
    snapshot = await stores.quota.snapshot("o3-mini", LIMITS)
    assert (snapshot.limit_tokens, snapshot.remaining_tokens) == (1000, 500)
    assert (snapshot.limit_requests, snapshot.remaining_requests) == (60, 58)
    assert (snapshot.reset_tokens_ms, snapshot.reset_requests_ms) == (30_000, 2_000)


async def test_quota_request_window_refuses_a_burst(stores: Stores, clock: FakeClock) -> None:
    for _ in range(10):
        assert await stores.quota.admit("o3-mini", LIMITS, 1) is None
        clock.advance(0.5)
    assert await stores.quota.admit("o3-mini", LIMITS, 1) == Refusal("requests", 5.0)
    assert await stores.quota.admit("other", LIMITS, 1) is None  # its own counts
    clock.advance(5.0)
    assert await stores.quota.admit("o3-mini", LIMITS, 1) is None


async def test_quota_window_follows_the_settings(
    make_stores: StoresFactory, clock: FakeClock
) -> None:
    stores = make_stores(Settings(quota_request_window_seconds=5.0), clock)  # 5 per window
    for _ in range(5):
        assert await stores.quota.admit("o3-mini", LIMITS, 1) is None
    assert await stores.quota.admit("o3-mini", LIMITS, 1) == Refusal("requests", 5.0)
    await stores.reset()


# --- responses ------------------------------------------------------------------------------


def response(response_id: str, *output_ids: str, inputs: tuple[str, ...] = ()) -> StoredResponse:
    output = [{"id": item_id, "type": "reasoning", "n": response_id} for item_id in output_ids]
    items = [{"id": item_id, "type": "message", "n": response_id} for item_id in inputs]
    return StoredResponse({"id": response_id, "output": output}, items, [])


async def test_responses_put_get_replace_delete(stores: Stores) -> None:
    first = response("resp_1", "rs_1")
    await stores.responses.put(first)
    assert await stores.responses.get("resp_1") == first
    assert await stores.responses.get("resp_2") is None
    replaced = response("resp_1", "rs_new")
    await stores.responses.put(replaced)
    assert await stores.responses.get("resp_1") == replaced
    assert await stores.responses.get_item("rs_1") is None  # only the replacement holds items
    assert await stores.responses.count() == 1
    assert await stores.responses.delete("resp_1")
    assert not await stores.responses.delete("resp_1")
    assert await stores.responses.get_item("rs_new") is None


async def test_an_item_comes_from_the_latest_response_holding_it(stores: Stores) -> None:
    await stores.responses.put(response("resp_1", "rs_1", inputs=("msg_1",)))
    await stores.responses.put(response("resp_2", "rs_2", inputs=("msg_1",)))
    assert await stores.responses.get_item("msg_1") == {
        "id": "msg_1",
        "type": "message",
        "n": "resp_2",
    }
    await stores.responses.delete("resp_2")
    item = await stores.responses.get_item("msg_1")
    assert item is not None and item["n"] == "resp_1"
    assert await stores.responses.get_item("rs_2") is None
    await stores.responses.clear()
    assert (await stores.responses.get_item("rs_1"), await stores.responses.count()) == (None, 0)


async def test_each_item_is_found_in_its_own_response(stores: Stores) -> None:
    await stores.responses.put(response("resp_1", "rs_a", inputs=("msg_a",)))
    await stores.responses.put(response("resp_2", "rs_b", inputs=("msg_b",)))
    for item_id, holder in [("rs_a", "resp_1"), ("msg_b", "resp_2"), ("msg_a", "resp_1")]:
        item = await stores.responses.get_item(item_id)
        assert item is not None and (item["id"], item["n"]) == (item_id, holder)
    assert await stores.responses.get_item("msg_c") is None


# --- faults ---------------------------------------------------------------------------------


async def test_a_fault_id_is_served_up_to_its_limit(stores: Stores) -> None:
    taken = [await stores.faults.take("id-1", 2) for _ in range(3)]
    assert taken == [True, True, False]
    assert await stores.faults.take("id-2", 1)
    assert not await stores.faults.take("id-3", 0)


async def test_draws_follow_the_seeded_sequence_of_each_deployment(stores: Stores) -> None:
    expected = random.Random("7:o3-mini")
    drawn = [await stores.faults.draw("o3-mini", 7) for _ in range(3)]
    other = await stores.faults.draw("other", 7)
    drawn.append(await stores.faults.draw("o3-mini", 7))
    assert drawn == [expected.random() for _ in range(4)]
    assert other == random.Random("7:other").random()
    assert 0.0 <= other < 1.0


async def test_fault_reset_restarts_counts_and_sequences(stores: Stores) -> None:
    first = await stores.faults.draw("o3-mini", 3)
    assert await stores.faults.take("id", 1)
    await stores.faults.reset()
    assert await stores.faults.draw("o3-mini", 3) == first
    assert await stores.faults.take("id", 1)


# --- replays -------------------------------------------------------------------------------


async def test_recordings_are_used_in_turn_then_the_last_repeats(stores: Stores) -> None:
    taken = [await stores.replays.take("chat:abc", 2, repeat_last=True) for _ in range(4)]
    assert taken == [0, 1, 1, 1]
    taken = [await stores.replays.take("chat:def", 2, repeat_last=False) for _ in range(3)]
    assert taken == [0, 1, None]
    assert await stores.replays.take("none", 0, repeat_last=True) is None


async def test_replay_reset_rewinds_every_request(stores: Stores) -> None:
    await stores.replays.take("a", 3, repeat_last=False)
    await stores.replays.take("b", 1, repeat_last=False)
    await stores.replays.reset()
    assert await stores.replays.take("a", 3, repeat_last=False) == 0
    assert await stores.replays.take("b", 1, repeat_last=False) == 0


# --- Stores.reset ---------------------------------------------------------------------------


async def fill(stores: Stores) -> None:
    await stores.stubs.add(stub(id="s", scenario="flow", new_state="moved"))
    await stores.stubs.take_by_id("s")
    await stores.journal.record(entry())
    await stores.responses.put(response("resp_1", "rs_1"))
    await stores.quota.admit("o3-mini", LIMITS, 100)
    await stores.faults.take("id", 1)
    await stores.replays.take("request", 2, repeat_last=False)


async def what_is_kept(stores: Stores) -> dict[str, Any]:
    return {
        "stubs": [s.id for s in await stores.stubs.all()],
        "scenarios": await stores.scenarios.all(),
        "journal": await stores.journal.size(),
        "responses": await stores.responses.count(),
        "quota": await stores.quota.usage() != {},
        "faults": not await stores.faults.take("id", 1),
        "replays": await stores.replays.take("request", 2, repeat_last=False) != 0,
    }


FULL = {
    "stubs": ["s"],
    "scenarios": {"flow": "moved"},
    "journal": 1,
    "responses": 1,
    "quota": True,
    "faults": True,
    "replays": True,
}
EMPTY = {"stubs": [], "scenarios": {}, "journal": 0, "responses": 0, "quota": False}


@pytest.mark.parametrize(
    ("parts", "changed"),
    [
        ({"stubs"}, {"stubs": [], "scenarios": {}}),
        ({"scenarios"}, {"scenarios": {"flow": STARTED}}),
        ({"journal"}, {"journal": 0, "responses": 0, "replays": False}),
        ({"quota"}, {"quota": False, "faults": False}),
        (RESETTABLE, {**EMPTY, "faults": False, "replays": False}),
    ],
    ids=["stubs", "scenarios", "journal", "quota", "all"],
)
async def test_reset_forgets_exactly_its_parts(
    stores: Stores, parts: frozenset[str], changed: dict[str, Any]
) -> None:
    await fill(stores)
    await stores.reset(parts)
    assert await what_is_kept(stores) == {**FULL, **changed}


async def test_reset_with_no_parts_named_resets_everything(stores: Stores) -> None:
    await fill(stores)
    await stores.reset()
    assert await what_is_kept(stores) == {**EMPTY, "faults": False, "replays": False}


async def test_reset_refuses_an_unknown_part_and_changes_nothing(stores: Stores) -> None:
    await fill(stores)
    with pytest.raises(ValueError, match=r"unknown parts \['everything'\]"):
        await stores.reset({"journal", "everything"})
    assert await what_is_kept(stores) == FULL
