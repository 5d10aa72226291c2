"""A journal row makes the entry the request path used to build whole: the same JSON, the
same bytes counted; the memory journal numbers rows and entries alike, and entries made
from rows that share their masked dicts do not share them."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.redaction.rules import DEFAULT_POLICY
from mockserver.stores.journal_entry import (
    JournalEntry,
    ReplayMiss,
    kept_body,
    masked_head,
    response_body,
)
from mockserver.stores.journal_row import JournalRow
from mockserver.stores.memory.journal import MemoryJournal

LIMIT = 64
BODIES = st.one_of(
    st.none(),
    st.binary(max_size=80),
    st.dictionaries(st.text(max_size=6), st.text(max_size=30), max_size=4).map(orjson.dumps),
    st.just(b'{"stream":true,"messages":[]}'),
)
ANSWERS = st.one_of(
    st.none(),
    st.binary(max_size=90),
    st.just(b"null"),
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=30).map(orjson.dumps),
)
USAGE = st.none() | st.tuples(*(st.integers(0, 10**6),) * 3)
MISS = st.none() | st.builds(ReplayMiss, st.text(max_size=8), st.lists(st.text(max_size=5)))


def row(body: bytes | None, answer: bytes | None, usage: Any, miss: Any) -> JournalRow:
    return JournalRow(
        time=1.5,
        method="POST",
        path="/openai/deployments/o3-mini/chat/completions",
        query={"api-version": "2025-04-01-preview"},
        headers={"api-key": "***", "content-type": "application/json"},
        body=kept_body(body, None, LIMIT, DEFAULT_POLICY),
        status=200,
        source="generator",
        stub_id=None,
        why="no stub or recording answered",
        engine_ms=0.25,
        surface="dated",
        deployment="o3-mini",
        disconnected=False,
        duration_ms=1.25,
        usage=usage,
        fault="500",
        replay_miss=miss,
        response_body=None if answer is None else response_body(answer, LIMIT),
    )


def built_whole(made: JournalRow) -> JournalEntry:
    """The entry as the request path built it before rows."""
    usage = made.usage
    return JournalEntry(
        id=7,
        time=made.time,
        method=made.method,
        path=made.path,
        query=dict(made.query),
        headers=dict(made.headers),
        **made.body.fields,
        status=made.status,
        source=made.source,
        stub_id=made.stub_id,
        why=made.why,
        engine_ms=made.engine_ms,
        surface=made.surface,
        deployment=made.deployment,
        stream=made.body.stream,
        disconnected=made.disconnected,
        duration_ms=made.duration_ms,
        usage=None
        if usage is None
        else dict(
            zip(("prompt_tokens", "completion_tokens", "reasoning_tokens"), usage, strict=True)
        ),
        fault=made.fault,
        replay_miss=made.replay_miss,
        response_body=made.response_body,
    )


@settings(max_examples=300, deadline=None)
@given(BODIES, ANSWERS, USAGE, MISS)
def test_a_row_makes_the_entry_built_whole(
    body: bytes | None, answer: bytes | None, usage: Any, miss: Any
) -> None:
    made = row(body, answer, usage, miss)
    entry, whole = made.entry(7), built_whole(made)
    assert entry == whole
    assert entry.to_json() == whole.to_json()
    assert made.stored_bytes() == whole.stored_bytes() == entry.stored_bytes()
    # The headers' bytes counted once, as the journal step hands them over, count the same.
    counted = made._replace(
        headers_bytes=masked_head({}, made.headers, DEFAULT_POLICY).headers_bytes
    )
    assert counted.stored_bytes() == entry.stored_bytes()
    assert counted.entry(7) == entry


def test_rows_and_entries_are_numbered_in_order_and_after_a_clear() -> None:
    async def run() -> list[list[int]]:
        journal = MemoryJournal(capacity=3)
        whole = built_whole(row(b"{}", None, None, None))
        for kept in (row(b"{}", None, None, None), whole, row(None, b"[1]", (1, 2, 3), None)):
            await journal.record(kept)
        first = [entry.id for entry in await journal.entries()]
        await journal.record(row(b"[]", None, None, None))  # the oldest goes
        second = [entry.id for entry in await journal.entries()]
        await journal.clear()
        await journal.record(row(b"[]", None, None, None))
        return [first, second, [entry.id for entry in await journal.find(None)], [whole.id]]

    assert asyncio.run(run()) == [[1, 2, 3], [2, 3, 4], [5], [2]]


def test_entries_made_from_rows_sharing_dicts_have_their_own() -> None:
    async def run() -> tuple[JournalEntry, JournalEntry]:
        journal = MemoryJournal()
        shared = row(b"{}", None, None, None)
        await journal.record(shared)
        await journal.record(shared._replace(status=429))
        first, second = await journal.entries()
        first.headers["api-key"] = "changed by a reader"
        first.query.clear()
        return (await journal.entries())[0], second

    again, second = asyncio.run(run())
    assert again.headers["api-key"] == second.headers["api-key"] == "***"
    assert again.query == second.query == {"api-version": "2025-04-01-preview"}
    assert second.status == 429
