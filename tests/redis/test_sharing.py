"""What only shared stores do: two processes (two clients with pools of their own) see one
session's state, sessions and prefixes stay apart, and every key of a session sits in
one Redis Cluster slot."""

from __future__ import annotations

import asyncio
import random

from redis.asyncio import Redis
from redis.crc import key_slot

from mockserver.config import Deployment, Settings
from mockserver.engines.matching import RequestView
from mockserver.engines.stubs import Stub
from mockserver.stores.journal_entry import JournalEntry, body_fields
from mockserver.stores.redis import RedisBackend, redis_stores
from mockserver.stores.redis.connection import text
from mockserver.stores.responses import StoredResponse
from mockserver.stores.scenarios import STARTED
from mockserver.stores.stores import Stores

LIMITS = Deployment(tokens_per_minute=1000, requests_per_minute=60)


def view(text: str = "hello") -> RequestView:
    body = {"messages": [{"role": "user", "content": text}]}
    return RequestView("dated", "o3-mini", "2025-04-01-preview", {}, body)


def stub(**fields: object) -> Stub:
    return Stub.model_validate({"answer": {"content": "ok"}, **fields})


def entry(**fields: object) -> JournalEntry:
    values: dict[str, object] = {
        "id": 0,
        "time": 1.5,
        "method": "POST",
        "path": "/chat",
        "query": {"api-version": "2025-04-01-preview"},
        "headers": {"api-key": "***"},
        **fields,
    }
    return JournalEntry(**values)  # type: ignore[arg-type]


async def test_a_stub_added_on_one_process_answers_on_the_other(
    two_processes: tuple[Stores, Stores],
) -> None:
    first, second = two_processes
    await first.stubs.add(stub(id="s", times=1, scenario="flow", new_state="after"))
    taken = await second.stubs.take(view())
    assert taken is not None and (taken.id, taken.answered) == ("s", 1)
    assert await first.stubs.take(view()) is None  # its one use went on the other process
    assert await first.scenarios.get("flow") == "after"


async def test_a_scenario_step_crosses_processes(two_processes: tuple[Stores, Stores]) -> None:
    first, second = two_processes
    steps = [("one", STARTED, "two"), ("two", "two", "three"), ("three", "three", "done")]
    for name, required, new in steps:
        await first.stubs.add(stub(id=name, scenario="s", required_state=required, new_state=new))
    order = [first, second, first]
    taken = [await stores.stubs.take(view()) for stores in order]
    assert [s.id if s else None for s in taken] == ["one", "two", "three"]
    assert await second.scenarios.all() == {"s": "done"}


async def test_the_journal_is_one_journal(two_processes: tuple[Stores, Stores]) -> None:
    first, second = two_processes
    await first.journal.record(entry(status=200))
    await second.journal.record(entry(status=429))
    await first.journal.record(entry(status=200))
    assert [(e.id, e.status) for e in await second.journal.entries()] == [
        (1, 200),
        (2, 429),
        (3, 200),
    ]
    assert await first.journal.count(None, status=429) == 1


async def test_a_journal_entry_comes_back_as_recorded(two_processes: tuple[Stores, Stores]) -> None:
    first, second = two_processes
    raw = b'{"messages": [{"role": "user", "content": "' + b"x" * 3000 + b'"}]}'
    cut = body_fields(raw, None, max_body_bytes=100)  # as the journal middleware cuts it
    recorded = entry(
        status=200,
        usage={"prompt": 3, "completion": 5},
        fault="reset",
        response_body={"id": "chatcmpl-1", "choices": []},
        **cut,
    )
    await first.journal.record(recorded)
    [back] = await second.journal.entries()
    assert back == recorded
    assert (
        back.body_truncated and back.body_size == len(raw) and back.body_text == raw[:100].decode()
    )
    assert await second.journal.stored_bytes() == recorded.stored_bytes()


async def test_the_journal_stream_never_outgrows_its_capacity(clients: tuple[Redis, Redis]) -> None:
    client = clients[0]
    stores = redis_stores(client, Settings(journal_capacity=5), "p", "s")
    await asyncio.gather(*(stores.journal.record(entry()) for _ in range(40)))
    assert await client.xlen("mock:{p:s}:journal:entries") == 5
    assert [e.id for e in await stores.journal.entries()] == [36, 37, 38, 39, 40]


async def test_the_byte_bound_is_kept_with_no_entry_read_back(
    clients: tuple[Redis, Redis],
) -> None:
    client = clients[0]
    stores = redis_stores(client, Settings(journal_max_bytes=2500), "p", "s")
    sizes = [entry(body_text="x" * n).stored_bytes() for n in (900, 100, 1200, 300)]
    for n in (900, 100, 1200, 300):
        await stores.journal.record(entry(body_text="x" * n))
    kept = await stores.journal.entries()
    assert [e.id for e in kept] == [2, 3, 4]  # 1 dropped: the four come to 2540
    assert await stores.journal.stored_bytes() == sum(sizes[1:])
    listed = await client.lrange("mock:{p:s}:journal:sizes", 0, -1)
    assert [int(n) for n in listed] == sizes[1:]  # one size per entry kept, oldest first


async def test_a_journal_kept_without_its_sizes_lists_them_again(
    clients: tuple[Redis, Redis],
) -> None:
    client = clients[0]
    stores = redis_stores(client, Settings(journal_capacity=3), "p", "s")
    for _ in range(3):
        await stores.journal.record(entry())
    await client.delete("mock:{p:s}:journal:sizes")  # as a version without the list left it
    await stores.journal.record(entry(body_text="longer"))
    assert [e.id for e in await stores.journal.entries()] == [2, 3, 4]
    sizes = [int(n) for n in await client.lrange("mock:{p:s}:journal:sizes", 0, -1)]
    assert sizes == [entry().stored_bytes()] * 2 + [entry(body_text="longer").stored_bytes()]
    assert await stores.journal.stored_bytes() == sum(sizes)


async def test_a_stored_response_continues_on_the_other_process(
    two_processes: tuple[Stores, Stores],
) -> None:
    first, second = two_processes
    response = {"id": "resp_1", "output": [{"id": "rs_1", "type": "reasoning"}]}
    stored = StoredResponse(response, [{"id": "msg_1", "type": "message"}], [{"role": "user"}])
    await first.responses.put(stored)
    assert await second.responses.get("resp_1") == stored
    assert await second.responses.get_item("msg_1") == {"id": "msg_1", "type": "message"}
    assert await second.responses.delete("resp_1")
    assert await first.responses.get("resp_1") is None


async def test_each_recording_is_used_once_between_processes(
    two_processes: tuple[Stores, Stores],
) -> None:
    first, second = two_processes
    taken = await asyncio.gather(
        *(s.replays.take("chat:abc", 5, repeat_last=False) for _ in range(4) for s in two_processes)
    )
    assert sorted(i for i in taken if i is not None) == [0, 1, 2, 3, 4]
    assert await first.replays.take("chat:abc", 5, repeat_last=True) == 4
    await second.replays.reset()
    assert await first.replays.take("chat:abc", 5, repeat_last=False) == 0


async def test_quota_is_counted_once_for_both(two_processes: tuple[Stores, Stores]) -> None:
    first, second = two_processes
    assert await first.quota.admit("o3-mini", LIMITS, 600) is None
    refusal = await second.quota.admit("o3-mini", LIMITS, 600)
    assert refusal is not None and refusal.kind == "tokens"
    assert 59.0 < refusal.retry_after_seconds <= 60.0  # on Redis's clock
    snapshot = await second.quota.snapshot("o3-mini", LIMITS)
    assert (snapshot.remaining_tokens, snapshot.remaining_requests) == (400, 59)
    # 600 of 1,000 tokens and 1 of 60 requests given back at those rates: 36 s and 1 s.
    assert (snapshot.reset_tokens_ms, snapshot.reset_requests_ms) == (36_000, 1_000)
    assert await first.quota.admit("o3-mini", LIMITS, 50) is None
    assert (await second.quota.usage())["o3-mini"]["tokens_this_minute"] == 650


async def test_fault_counts_and_seeded_draws_are_shared(
    two_processes: tuple[Stores, Stores],
) -> None:
    first, second = two_processes
    assert [await s.faults.take("id", 2) for s in (first, second, first)] == [True, True, False]
    expected = random.Random("7:o3-mini")
    drawn = [await s.faults.draw("o3-mini", 7) for s in (first, second, second, first, second)]
    assert drawn == [expected.random() for _ in range(5)]
    assert await first.faults.draw("o3-mini", 99) == expected.random()  # the first seed stays


async def test_draws_answered_out_of_order_are_still_the_sequence(
    two_processes: tuple[Stores, Stores],
) -> None:
    first, second = two_processes
    drawn = await asyncio.gather(*(s.faults.draw("d", 3) for s in [first, second] * 150))
    expected = random.Random("3:d")
    assert sorted(drawn) == sorted(expected.random() for _ in range(300))


async def test_sessions_and_prefixes_stay_apart(clients: tuple[Redis, Redis]) -> None:
    client = clients[0]
    mine = redis_stores(client, Settings(), "team", "test-a")
    theirs = redis_stores(client, Settings(), "team", "test-b")
    other_mock = redis_stores(client, Settings(), "other", "test-a")
    await mine.stubs.add(stub(id="mine"))
    await mine.journal.record(entry())
    await mine.quota.admit("o3-mini", LIMITS, 100)
    for stores in (theirs, other_mock):
        assert await stores.stubs.all() == []
        assert await stores.journal.size() == 0
        assert await stores.quota.usage() == {}


async def test_every_key_of_a_session_is_in_one_slot(clients: tuple[Redis, Redis]) -> None:
    client = clients[0]
    stores = redis_stores(client, Settings(), "a:b{c}", "x%y")  # odd names stay in the tag
    await stores.stubs.add(stub(id="s", scenario="flow"))
    await stores.stubs.take(view())
    await stores.journal.record(entry())
    await stores.quota.admit("o3-mini", LIMITS, 1)
    await stores.responses.put(StoredResponse({"id": "r", "output": [{"id": "i"}]}, [], []))
    await stores.faults.take("f", 1)
    await stores.faults.draw("o3-mini", 1)
    await stores.replays.take("chat:abc", 1, repeat_last=False)
    keys = [text(key) for key in await client.keys("*")]
    assert len(keys) == 22  # the quota: usage, the minute's and the window's arrivals
    assert {key.split("}")[0] for key in keys} == {"mock:{a%3Ab%7Bc%7D:x%25y"}
    assert len({key_slot(key.encode()) for key in keys}) == 1


async def test_forgetting_a_session_deletes_its_keys_only(clients: tuple[Redis, Redis]) -> None:
    client = clients[0]
    backend = RedisBackend(client, Settings(), "mock-1")
    for session in ("gone", "kept"):
        stores = backend.stores(session)
        await stores.stubs.add(stub(id=session))
        await stores.journal.record(entry())
    assert backend.stores("gone") is backend.stores("gone")  # made once, then reused
    await backend.forget("gone")
    assert await backend.stores("gone").stubs.all() == []
    assert [s.id for s in await backend.stores("kept").stubs.all()] == ["kept"]
    assert all("{mock-1:kept}" in text(key) for key in await client.keys("*"))
    assert await backend.healthy()


RICH_STUBS = [
    {
        "id": "tools",
        "priority": -3,
        "times": 4,
        "match": {
            "deployment": "o3-mini",
            "route": "v1",
            "api_version": "2025-04-01-preview",
            "last_user_message": {"regex": "weather (in|at) \\w+"},
            "any_message": {"equals": "hi"},
            "system_prompt": {"contains": "helpful"},
            "tools_offered": ["get_weather"],
            "tool_result_present": False,
            "stream": True,
            "headers": {"x-test": {"equals": "1"}},
            "body": {"n": 1, "messages[0].role": "developer"},
        },
        "answer": {
            "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}],
            "usage": {"prompt_tokens": 12, "reasoning_tokens": 64},
            "content_filter": {"violence": "high"},
            "delay_ms": 5,
        },
        "scenario": "s",
        "required_state": "Started",
        "new_state": "next",
    },
    {"id": "error", "answer": {"error": {"name": "server_error", "values": {"request_id": "x"}}}},
    {"id": "raw", "answer": {"error": {"status": 418, "body": {"error": {"code": "teapot"}}}}},
    {"id": "json", "answer": {"structured_output": {"a": [1, 2.5, None, "é"]}}},
    {"id": "fault", "answer": {"fault": "reset"}},
]


async def test_every_kind_of_stub_comes_back_as_added(two_processes: tuple[Stores, Stores]) -> None:
    first, second = two_processes
    stubs = [Stub.model_validate(fields) for fields in RICH_STUBS]
    for each in stubs:
        await first.stubs.add(each)
    assert await second.stubs.all() == stubs
