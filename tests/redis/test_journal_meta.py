"""The shared journal's record script checks before it writes: with its `meta` hash lost
while its Stream stayed, or set back, a record still succeeds, after the last id the
Stream took, and the bytes it counts are the entries' again; nothing is counted for an
entry not added. Within its bounds it keeps what the memory journal keeps."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest

from mockserver.config import Settings
from mockserver.stores.journal_entry import JournalEntry
from mockserver.stores.memory import memory_stores
from mockserver.stores.redis import connect, redis_stores
from mockserver.stores.redis.connection import Client
from mockserver.stores.redis.keys import SessionKeys
from mockserver.stores.stores import Stores

SESSION = "journal-meta"


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Client]:
    made = connect(redis_url)
    yield made
    await made.aclose()


def entry(path: str, size: int = 0) -> JournalEntry:
    text = "x" * size if size else None  # a text body of `size` bytes, counted as such
    return JournalEntry(
        id=0, time=0.0, method="POST", path=path, query={}, headers={}, status=200, body_text=text
    )


async def recorded(stores: Stores, count: int) -> list[int]:
    ids = []
    for number in range(count):
        made = entry(f"/p{number}")
        await stores.journal.record(made)
        ids.append(made.id)
    return ids


async def summed_sizes(stores: Stores) -> int:
    return sum(kept.stored_bytes() for kept in await stores.journal.entries())


async def test_a_lost_meta_does_not_stop_the_journal(client: Client) -> None:
    stores = redis_stores(client, Settings(), session=SESSION)
    await stores.journal.clear()
    first = await recorded(stores, 3)
    await client.delete(SessionKeys("mockserver", SESSION).key("journal", "meta"))
    later = await recorded(stores, 2)
    assert later == [first[-1] + 1, first[-1] + 2]  # after the Stream's newest
    assert [kept.path for kept in await stores.journal.entries()] == [
        f"/p{n}" for n in (0, 1, 2, 0, 1)
    ]
    assert await stores.journal.stored_bytes() == await summed_sizes(stores)


async def test_sizes_listed_again_sum_the_bytes_again(client: Client) -> None:
    stores = redis_stores(client, Settings(), session=SESSION)
    await stores.journal.clear()
    await recorded(stores, 3)
    keys = SessionKeys("mockserver", SESSION)
    await client.delete(keys.key("journal", "sizes"))  # as a version without the list kept
    await client.hset(keys.key("journal", "meta"), "bytes", 999_999)  # drifted
    await recorded(stores, 1)
    assert await stores.journal.size() == 4
    assert await stores.journal.stored_bytes() == await summed_sizes(stores)


async def test_a_last_id_set_back_goes_on_after_the_newest(client: Client) -> None:
    stores = redis_stores(client, Settings(), session=SESSION)
    await stores.journal.clear()
    first = await recorded(stores, 3)
    await client.hset(SessionKeys("mockserver", SESSION).key("journal", "meta"), "last", 1)
    assert await recorded(stores, 2) == [first[-1] + 1, first[-1] + 2]
    assert await stores.journal.size() == 5
    assert await stores.journal.stored_bytes() == await summed_sizes(stores)


async def test_a_meta_restored_whole_from_an_older_copy_sums_the_bytes_again(
    client: Client,
) -> None:
    settings = Settings(journal_capacity=100, journal_max_bytes=3000)
    stores = redis_stores(client, settings, session=SESSION)
    await stores.journal.clear()
    for number in range(3):
        await stores.journal.record(entry(f"/p{number}", 500))
    meta = SessionKeys("mockserver", SESSION).key("journal", "meta")
    await client.hset(meta, mapping={"last": 1, "bytes": 10})  # both set back
    for number in range(3, 8):
        await stores.journal.record(entry(f"/p{number}", 500))
    assert [kept.path for kept in await stores.journal.entries()] == [
        f"/p{n}" for n in range(2, 8)
    ]  # 6 x 500 bytes: the byte bound holds
    assert await stores.journal.stored_bytes() == await summed_sizes(stores) == 3000


async def test_ids_go_on_after_the_streams_last_even_when_that_entry_is_gone(
    client: Client,
) -> None:
    # The Stream remembers the last id it took (XADD refuses any at or below it) even when
    # that entry was deleted; with meta lost too, records still succeed, after it.
    stores = redis_stores(client, Settings(), session=SESSION)
    await stores.journal.clear()
    first = await recorded(stores, 3)
    keys = SessionKeys("mockserver", SESSION)
    await client.xdel(keys.key("journal", "entries"), f"{first[-1]}-0")
    await client.rpop(keys.key("journal", "sizes"))
    await client.delete(keys.key("journal", "meta"))
    assert await recorded(stores, 2) == [first[-1] + 1, first[-1] + 2]
    assert await stores.journal.size() == 4
    assert await stores.journal.stored_bytes() == await summed_sizes(stores)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_bounds_keep_what_the_memory_journal_keeps(client: Client, seed: int) -> None:
    # Entries of random sizes, some alone over the byte bound: after each record both
    # journals hold the same ids and count the same bytes.
    settings, draw = Settings(journal_capacity=5, journal_max_bytes=3000), random.Random(seed)
    shared, local = redis_stores(client, settings, session=SESSION), memory_stores(settings)
    await shared.journal.clear()
    for number in range(120):
        size = draw.choice([draw.randrange(0, 900), draw.randrange(900, 4000)])
        for stores in (shared, local):
            await stores.journal.record(entry(f"/p{number}", size))
        assert [kept.id for kept in await shared.journal.entries()] == [
            kept.id for kept in await local.journal.entries()
        ]
        assert await shared.journal.stored_bytes() == await local.journal.stored_bytes()
