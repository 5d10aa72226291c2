"""What only the memory stores do, beyond the contract (test_stores_contract.py): their
own bounds, and how a server's state is wired to them."""

from __future__ import annotations

import asyncio

from mockserver.config import Settings
from mockserver.engines.matching import RequestView
from mockserver.engines.stubs import Stub
from mockserver.state import AppState
from mockserver.stores.memory.faults import MemoryFaultLedger
from mockserver.stores.memory.journal import MemoryJournal
from mockserver.stores.memory.responses import MemoryResponseStore
from mockserver.stores.memory.scenarios import MemoryScenarioStore
from mockserver.stores.memory.stubs import MemoryStubStore
from mockserver.stores.responses import StoredResponse


def response(response_id: str, item_id: str) -> StoredResponse:
    return StoredResponse({"id": response_id, "output": [{"id": item_id}]}, [], [])


async def test_past_capacity_the_least_recently_stored_response_goes() -> None:
    store = MemoryResponseStore(capacity=2)
    await store.put(response("resp_1", "rs_1"))
    await store.put(response("resp_2", "rs_2"))
    await store.put(response("resp_1", "rs_1"))  # stored again: now the newest
    await store.put(response("resp_3", "rs_3"))
    assert await store.get("resp_2") is None
    assert await store.get_item("rs_2") is None
    assert [await store.get_item(i) is not None for i in ("rs_1", "rs_3")] == [True, True]
    assert await store.count() == 2


async def test_a_deployment_keeps_the_seed_of_its_first_draw_until_reset() -> None:
    ledger = MemoryFaultLedger()
    first = [await ledger.draw("o3-mini", 1) for _ in range(2)]
    after_seed_change = await ledger.draw("o3-mini", 2)
    await ledger.reset()
    again = [await ledger.draw("o3-mini", 1) for _ in range(3)]
    assert again == [*first, after_seed_change]
    await ledger.reset()
    assert await ledger.draw("o3-mini", 2) != first[0]


def test_a_server_state_reaches_each_sessions_stores_through_one_object() -> None:
    state = AppState.from_settings(Settings(journal_capacity=3))
    assert state.stores() is state.stores("default") is not state.stores("test-1")
    assert state.stores("test-1") is state.stores("test-1")
    stubs, journal = state.stores().stubs, state.stores().journal
    assert isinstance(stubs, MemoryStubStore) and stubs.scenarios is state.stores().scenarios
    assert isinstance(journal, MemoryJournal) and journal.capacity == 3
    for gone in ("stubs", "journal", "quota", "responses", "fault_counter", "roll_fault"):
        assert not hasattr(state, gone), gone


async def test_a_stub_removed_while_a_long_request_is_matched_does_not_answer_it() -> None:
    """A request over 64 KiB is matched on a thread; a stub removed meanwhile is not the
    one `take` hands over afterwards."""
    stubs = MemoryStubStore(MemoryScenarioStore())
    await stubs.add(Stub.model_validate({"id": "gone", "answer": {"content": "ok"}}))
    text = "hello " + "x" * 70_000
    body = {"messages": [{"role": "user", "content": text}]}
    asked = RequestView("dated", "o3-mini", "2025-04-01-preview", {}, body, size=len(text))
    matching = asyncio.create_task(stubs.would_answer(asked))
    await asyncio.sleep(0)  # it waits on the thread now
    assert await stubs.remove("gone")
    assert await matching  # it was there when matched
    assert await stubs.take(asked) is None
