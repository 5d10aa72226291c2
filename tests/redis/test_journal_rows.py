"""The shared journal keeps a row as the entry it stands for: the same entry read back,
the same bytes counted, as when it is given the entry whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from mockserver.config import Settings
from mockserver.stores.journal_entry import ReplayMiss
from mockserver.stores.redis import connect, redis_stores
from mockserver.stores.redis.connection import Client
from tests.unit.test_journal_row import row


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Client]:
    made = connect(redis_url)
    yield made
    await made.aclose()


def without_id(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if name != "id"}


@pytest.mark.parametrize(
    ("body", "answer", "usage", "miss"),
    [
        (b'{"messages":[],"stream":true}', b'{"id":"chatcmpl-1"}\n', (12, 34, 20), None),
        (b"not json", b"plain text answer", None, ReplayMiss("recordings#0", ["body.x"])),
        (None, b"null", None, None),
        (b"x" * 100, None, (1, 2, 3), None),  # a body over the limit: kept cut
    ],
)
async def test_a_row_reads_back_as_its_entry(
    client: Client, body: bytes | None, answer: bytes | None, usage: Any, miss: Any
) -> None:
    stores = redis_stores(client, Settings(), session="journal-rows")
    await stores.journal.clear()
    made = row(body, answer, usage, miss)
    whole = made.entry(0)
    await stores.journal.record(made)
    await stores.journal.record(whole)
    from_row, from_entry = await stores.journal.entries()
    assert without_id(from_row.to_json()) == without_id(from_entry.to_json())
    assert without_id(from_row.to_json()) == without_id(made.entry(0).to_json())
    assert from_row.id + 1 == from_entry.id == whole.id
    assert await stores.journal.stored_bytes() == 2 * made.stored_bytes()
