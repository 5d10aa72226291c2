"""A long request is matched against the stubs on a thread: the event loop goes on."""

from __future__ import annotations

import threading

import pytest

from mockserver.engines.matching import RequestView, TextMatch
from mockserver.engines.stubs import Stub
from mockserver.stores.memory.scenarios import MemoryScenarioStore
from mockserver.stores.memory.stubs import MATCHED_ON_LOOP_BYTES, MemoryStubStore


def view(size: int) -> RequestView:
    body = {"messages": [{"role": "user", "content": "weather " + "x" * 16}]}
    return RequestView("dated", "o3-mini", None, {}, body, size)


@pytest.mark.parametrize(("size", "off_loop"), [(100, False), (MATCHED_ON_LOOP_BYTES + 1, True)])
async def test_where_stubs_are_matched(
    size: int, off_loop: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    matches = TextMatch.matches

    def spied(self: TextMatch, text: str) -> bool:
        threads.append(threading.get_ident())
        return matches(self, text)

    monkeypatch.setattr(TextMatch, "matches", spied)
    store = MemoryStubStore(MemoryScenarioStore())
    wanted = {"match": {"last_user_message": {"contains": "weather"}}, "answer": {"content": "x"}}
    stub = await store.add(Stub.model_validate(wanted))
    taken = await store.take(view(size))
    assert taken is not None and taken.id == stub.id and taken.answered == 1
    assert threads and all((t != threading.get_ident()) is off_loop for t in threads)
