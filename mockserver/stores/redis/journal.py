"""The journal of a session, shared: a Stream bounded by count and by bytes.

`journal:entries` is a Stream whose entry ids are the journal's ids (`<id>-0`), each
holding the entry as JSON and the bytes it counts for (JournalEntry.stored_bytes: bodies
are already cut to journal_max_body_bytes when recorded). `journal:sizes` is a List of
those bytes in the same order, so dropping the oldest needs no entry read back.
`journal:meta` holds the last id (ids go on after a clear, as in memory) and the bytes
kept. Recording adds the entries and drops the oldest in one script, with the memory
journal's rule: while over either bound, the oldest go, but the newest always stays; the
Stream is trimmed with an exact MAXLEN to what is left. The entries a process records in
one event-loop turn go in one call, in the order they came (batched.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from mockserver.engines.matching import RequestMatch
from mockserver.stores.journal_entry import (
    NULL,
    JournalEntry,
    ReplayMiss,
    StoredAsJson,
    WrittenJson,
    forget_kept_bodies,
)
from mockserver.stores.journal_row import Journaled, JournalRow
from mockserver.stores.redis.batched import BatchedScript, grouped
from mockserver.stores.redis.connection import STORE_ERRORS, Client, guarded, raise_as_503, text
from mockserver.stores.redis.keys import SessionKeys
from mockserver.stores.redis.pipelined import HotScript

# KEYS: entries, sizes, meta. ARGV: capacity, max bytes, then each entry's JSON and bytes,
# in order. Returns the first entry's id (the others follow it). The entries recorded in
# one event-loop turn come in one call (RedisJournal.record): each call a script makes
# costs Redis ~1 us over the command itself, and the reads, the sizes' push and cut and
# `meta`'s write are made once for all. Reads and counts first, writes after: Redis keeps
# a script's writes made before an error, so nothing is written unless the entries can be
# added. The sizes are listed again from the entries if the two ever differ in length
# (kept by a version without the list), and the bytes summed again when `meta` lost them.
# Ids go on after the last the Stream took if `meta` was lost while the Stream stayed, or
# set back (an XADD at or below it would be refused on every record): then the bytes are
# summed again too. The Stream's last id is read only when `meta` lost it or an XADD
# refuses the id; the oldest sizes are read 1, 2, 4... at a time; the last XADD trims.
RECORD = """
local entries, sizes, meta = KEYS[1], KEYS[2], KEYS[3]
local capacity, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local new = (#ARGV - 2) / 2
local new_sizes, added = {}, 0
for i = 1, new do
  new_sizes[i] = tonumber(ARGV[2 + 2 * i])
  added = added + new_sizes[i]
end
local count = redis.call('XLEN', entries)
local held = redis.call('HMGET', meta, 'last', 'bytes')
local last, total = tonumber(held[1]), tonumber(held[2])
local resum = total == nil
if redis.call('LLEN', sizes) ~= count then
  redis.call('DEL', sizes)
  for _, item in ipairs(redis.call('XRANGE', entries, '-', '+')) do
    redis.call('RPUSH', sizes, item[2][2])
  end
  resum = true
end
local function after_stream()  -- the id after the last the Stream took (even if deleted)
  if redis.call('EXISTS', entries) == 0 then return 1 end
  local info = redis.call('XINFO', 'STREAM', entries)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      return tonumber(string.match(info[i + 1], '^%d+')) + 1
    end
  end
  return 1
end
local function summed()
  local sum = 0
  for _, kept in ipairs(redis.call('LRANGE', sizes, 0, -1)) do sum = sum + tonumber(kept) end
  return sum
end
-- While over either bound the oldest go, but the newest always stays (the memory
-- journal's rule after each entry, which comes to the same after all of them). The oldest
-- sizes are read 1, 2, 4... at a time: one at capacity, and a bound lowered on a long
-- journal costs a pass over the list, not a walk from its head for each entry dropped.
local function bounded(bytes)
  local kept, dropped, chunk, at = count + new, 0, {}, 0
  while kept > 1 and (kept > capacity or bytes > limit) do
    local size
    if dropped >= count then
      size = new_sizes[dropped - count + 1]
    else
      if dropped - at >= #chunk then
        at = dropped
        chunk = redis.call('LRANGE', sizes, at, at + math.min(math.max(at, 1), 4096) - 1)
      end
      size = tonumber(chunk[dropped - at + 1])
    end
    bytes = bytes - size
    dropped, kept = dropped + 1, kept - 1
  end
  return bytes, kept, dropped
end
local function add(i, id, kept)  -- the i-th new entry; the last trims to what is kept
  local at, json, bytes = string.format('%d-0', id + i - 1), ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  if i == new then
    return redis.pcall('XADD', entries, 'MAXLEN', '=', kept, at, 'bytes', bytes, 'entry', json)
  end
  return redis.pcall('XADD', entries, at, 'bytes', bytes, 'entry', json)
end
local id = last and last + 1 or after_stream()
if resum then total = summed() end
local kept, dropped
total, kept, dropped = bounded(total + added)
local first = add(1, id, kept)
if type(first) == 'table' and first.err then
  -- Refused: `meta` set back (by hand, or restored whole): after the Stream's last id,
  -- with the bytes summed again.
  id = after_stream()
  total, kept, dropped = bounded(summed() + added)
  first = add(1, id, kept)
  if type(first) == 'table' and first.err then return first end
end
for i = 2, new do  -- after an id the Stream took, each next one is taken too
  local added_entry = add(i, id, kept)
  if type(added_entry) == 'table' and added_entry.err then return added_entry end
end
local pushed = {}
for i = 1, new do pushed[i] = ARGV[2 + 2 * i] end
redis.call('RPUSH', sizes, unpack(pushed))
if dropped > 0 then redis.call('LTRIM', sizes, dropped, -1) end
redis.call('HSET', meta, 'last', string.format('%d', id + new - 1),
  'bytes', string.format('%d', total))
return id
"""

JSON_FIELDS = {
    name for name, value in vars(JournalEntry).items() if isinstance(value, StoredAsJson)
}


def kept_json(entry: JournalEntry, name: str) -> orjson.Fragment | None:
    """A StoredAsJson field's bytes as kept, put in the entry's JSON without parsing them."""
    descriptor = vars(JournalEntry)[name]
    raw = entry.__dict__.get(descriptor.slot)
    return None if raw is None else orjson.Fragment(raw)


def encoded(kept: Journaled) -> bytes:
    """The entry as stored: every field but the id (the Stream's entry id holds it)."""
    values: dict[str, Any] = {}
    if isinstance(kept, JournalRow):  # its fields, without making the entry
        values = kept.fields(shared=True)
        for name in JSON_FIELDS:
            values[name] = _as_fragment(values[name])
        return orjson.dumps(values)
    for field in dataclasses.fields(JournalEntry):
        if field.name in JSON_FIELDS:
            values[field.name] = kept_json(kept, field.name)
        elif field.name != "id":
            values[field.name] = getattr(kept, field.name)
    return orjson.dumps(values)


def _as_fragment(value: Any) -> Any:
    """A row's body field as a StoredAsJson field writes it: its bytes as they are (a JSON
    null as no value), or a string."""
    if isinstance(value, WrittenJson):
        return None if value.data == NULL else orjson.Fragment(value.data)
    return value


def decoded(stream_id: str | bytes, raw: str | bytes) -> JournalEntry:
    values = orjson.loads(raw)
    miss = values.pop("replay_miss", None)
    replay_miss = None if miss is None else ReplayMiss(**miss)
    entry_id = int(text(stream_id).split("-")[0])
    return JournalEntry(id=entry_id, replay_miss=replay_miss, **values)


def numbered_from(first: Any, index: int) -> int:
    """The id of a batch's `index`-th entry: the script returns the first's."""
    return int(first) + index


class RedisJournal:
    def __init__(self, client: Client, keys: SessionKeys, capacity: int, max_bytes: int) -> None:
        self.client = client
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.stream = keys.key("journal", "entries")
        self.sizes = keys.key("journal", "sizes")
        self.meta = keys.key("journal", "meta")
        # Every request's, on the pipelined line; the entries of one turn in one call.
        self.script = BatchedScript(HotScript(client, RECORD), numbered_from)
        self.group = grouped([self.stream, self.sizes, self.meta], [capacity, max_bytes])

    async def record(self, kept: Journaled) -> None:
        json = encoded(kept)
        try:  # its batch's one call is a HotScript's, bounded by it
            entry_id = await self.script(self.group, [json, kept.stored_bytes()], len(json))
        except STORE_ERRORS as error:
            raise_as_503(error)
        if isinstance(kept, JournalEntry):  # a row's entry is numbered when read
            kept.id = entry_id

    @guarded
    async def entries(self) -> list[JournalEntry]:
        items = await self.client.xrange(self.stream) or []
        return [decoded(i, fields["entry"]) for i, fields in items if i and fields]

    @guarded
    async def find(self, match: RequestMatch | None = None, **filters: Any) -> list[JournalEntry]:
        return [entry for entry in await self.entries() if entry.matches(match, filters)]

    @guarded
    async def count(self, match: RequestMatch | None = None, **filters: Any) -> int:
        if match is None and not filters:
            return int(await self.client.xlen(self.stream))  # no entry read to count them
        return len(await self.find(match, **filters))

    @guarded
    async def clear(self) -> None:
        forget_kept_bodies()  # this process's memo of what the journal kept of bodies
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(self.stream, self.sizes)
            pipe.hset(self.meta, "bytes", 0)
            await pipe.execute()

    @guarded
    async def size(self) -> int:
        return int(await self.client.xlen(self.stream))

    @guarded
    async def stored_bytes(self) -> int:
        return int(await self.client.hget(self.meta, "bytes") or 0)
