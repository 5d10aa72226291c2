"""The shared journal's record script checks before it writes: with its `meta` hash lost
while its Stream stayed, or set back, a record still succeeds, after the last id the
Stream took, and the bytes it counts are the entries' again; nothing is counted for an
entry not added. Within its bounds it keeps what the memory journal keeps."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from mockserver.config import Settings
from mockserver.contract.errors import AzureError
from mockserver.stores.journal_entry import JournalEntry
from mockserver.stores.memory import memory_stores
from mockserver.stores.redis import connect, redis_stores
from mockserver.stores.redis.connection import Client
from mockserver.stores.redis.keys import SessionKeys
from mockserver.stores.redis.pipelined import PipelinedRedis
from mockserver.stores.stores import Stores

SESSION = "journal-meta"


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Client]:
    made = connect(redis_url)
    yield made
    await made.aclose()


@pytest.fixture
async def stores(client: Client) -> Stores:
    """The session's Redis stores, with an empty journal."""
    made = redis_stores(client, Settings(), session=SESSION)
    await made.journal.clear()
    return made


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


async def test_a_lost_meta_does_not_stop_the_journal(client: Client, stores: Stores) -> None:
    first = await recorded(stores, 3)
    await client.delete(SessionKeys("mockserver", SESSION).key("journal", "meta"))
    later = await recorded(stores, 2)
    assert later == [first[-1] + 1, first[-1] + 2]  # after the Stream's newest
    assert [kept.path for kept in await stores.journal.entries()] == [
        f"/p{n}" for n in (0, 1, 2, 0, 1)
    ]
    assert await stores.journal.stored_bytes() == await summed_sizes(stores)


async def test_sizes_listed_again_sum_the_bytes_again(client: Client, stores: Stores) -> None:
    await recorded(stores, 3)
    keys = SessionKeys("mockserver", SESSION)
    await client.delete(keys.key("journal", "sizes"))  # as a version without the list kept
    await client.hset(keys.key("journal", "meta"), "bytes", 999_999)  # drifted
    await recorded(stores, 1)
    assert await stores.journal.size() == 4
    assert await stores.journal.stored_bytes() == await summed_sizes(stores)


async def test_a_last_id_set_back_goes_on_after_the_newest(client: Client, stores: Stores) -> None:
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
    stores: Stores,
) -> None:
    # The Stream remembers the last id it took (XADD refuses any at or below it) even when
    # that entry was deleted; with meta lost too, records still succeed, after it.
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


async def record_together(stores: Stores, made: list[JournalEntry]) -> None:
    """Recorded in one event-loop turn: one call of the record script for all."""
    await asyncio.gather(*(stores.journal.record(entry) for entry in made))


@pytest.mark.parametrize("seed", [4, 5, 6])
async def test_entries_recorded_together_keep_what_one_by_one_keeps(
    client: Client, seed: int
) -> None:
    # Batches of 1-12 entries of random sizes (some alone over the byte bound, some
    # batches over the capacity by themselves): the ids each caller is told, the ids
    # kept and the bytes counted are the memory journal's, recording one by one.
    settings, draw = Settings(journal_capacity=5, journal_max_bytes=3000), random.Random(seed)
    shared, local = redis_stores(client, settings, session=SESSION), memory_stores(settings)
    await shared.journal.clear()
    number = 0
    for _ in range(40):
        drawn = []
        for _ in range(draw.randint(1, 12)):
            size = draw.choice([draw.randrange(0, 900), draw.randrange(900, 4000)])
            drawn.append((f"/p{number}", size))
            number += 1
        batch = [entry(path, size) for path, size in drawn]
        await record_together(shared, batch)
        alone = [entry(path, size) for path, size in drawn]
        for made in alone:
            await local.journal.record(made)
        assert [made.id for made in batch] == [made.id for made in alone]
        assert [kept.id for kept in await shared.journal.entries()] == [
            kept.id for kept in await local.journal.entries()
        ]
        assert await shared.journal.stored_bytes() == await local.journal.stored_bytes()


async def test_entries_recorded_together_cost_redis_one_call(
    client: Client, stores: Stores
) -> None:
    await recorded(stores, 1)  # the script loaded, the line open
    before = (await client.info("commandstats")).get("cmdstat_evalsha", {}).get("calls", 0)
    made = [entry(f"/p{number}") for number in range(20)]
    await record_together(stores, made)
    after = (await client.info("commandstats"))["cmdstat_evalsha"]["calls"]
    assert after - before == 1
    assert [kept.id for kept in made] == list(range(made[0].id, made[0].id + 20))
    meta = SessionKeys("mockserver", SESSION).key("journal", "meta")
    assert await client.hget(meta, "last") == str(made[-1].id)  # the next goes on from it
    assert [kept.path for kept in await stores.journal.entries()][-20:] == [
        f"/p{number}" for number in range(20)
    ]


async def test_a_last_id_set_back_before_entries_recorded_together(
    client: Client, stores: Stores
) -> None:
    first = await recorded(stores, 3)
    await client.hset(SessionKeys("mockserver", SESSION).key("journal", "meta"), "last", 1)
    made = [entry(f"/q{number}") for number in range(4)]
    await record_together(stores, made)
    assert [kept.id for kept in made] == [first[-1] + n for n in range(1, 5)]
    assert await stores.journal.size() == 7
    assert await stores.journal.stored_bytes() == await summed_sizes(stores)


async def test_entries_recorded_together_after_redis_forgot_the_script(
    client: Client, stores: Stores
) -> None:
    first = await recorded(stores, 1)
    await client.script_flush()
    made = [entry(f"/r{number}") for number in range(5)]
    await record_together(stores, made)  # NOSCRIPT: sent again with EVAL, once for all
    assert [kept.id for kept in made] == [first[-1] + n for n in range(1, 6)]
    assert [kept.path for kept in await stores.journal.entries()] == ["/p0"] + [
        f"/r{number}" for number in range(5)
    ]


async def test_a_connection_lost_before_the_turn_is_written_leaves_no_batch_behind(
    client: Client,
    stores: Stores,
) -> None:
    # The batch's command failed before it was made: its caller gets the failure (a 503),
    # and the next record starts a batch of its own on a new connection, not joining the
    # failed one (which nothing would ever send).
    await recorded(stores, 1)  # the line connected
    line = client.line if isinstance(client, PipelinedRedis) else None
    protocol = None if line is None else line.open_protocol()
    assert protocol is not None
    first = asyncio.ensure_future(stores.journal.record(entry("/lost")))
    await asyncio.sleep(0)  # its batch made, the late command waiting for the turn's end
    protocol.fail(RedisConnectionError, "lost")
    with pytest.raises(AzureError):
        await first
    async with asyncio.timeout(10):  # joining the failed batch would wait forever
        later = await recorded(stores, 2)
    assert [kept.path for kept in await stores.journal.entries()] == ["/p0", "/p0", "/p1"]
    assert later[1] == later[0] + 1


async def test_a_turn_of_large_entries_goes_in_calls_of_about_a_mebibyte(stores: Stores) -> None:
    # 17 entries of 2 MB in one turn (34 MB, past the line's 32 MiB unsent bound): one
    # call each, as one by one, so those within the bound are recorded, not all refused.
    await recorded(stores, 1)
    made = [entry(f"/big{number}", 2_000_000) for number in range(17)]
    outcomes = await asyncio.gather(
        *(stores.journal.record(kept) for kept in made), return_exceptions=True
    )
    refused = [outcome for outcome in outcomes if outcome is not None]
    assert all(isinstance(outcome, AzureError) for outcome in refused)
    assert len(refused) <= 1
    assert await stores.journal.size() == 1 + 17 - len(refused)
