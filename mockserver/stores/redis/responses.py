"""The stored responses of a session, shared: a `previous_response_id` made on one
process continues on another.

`responses:entries` (id -> JSON) and `responses:order` (id scored by when last put: the
oldest beyond the capacity go first) hold the responses. Items are found through
`responses:holders`, one sorted set read by lexical range, a member per (item, response
holding it): `<len(item id), 8 digits>:<item id>:<put sequence, 20 digits>:<response id>`.
The length prefix means one item's members share a prefix no other item's have, and the
sequence orders them: the last member under an item's prefix is its latest holder.
`responses:index` keeps each response's members, to remove them with it.
"""

from __future__ import annotations

from typing import Any

import orjson

from mockserver.stores.memory.responses import DEFAULT_CAPACITY
from mockserver.stores.redis.connection import Client, guarded
from mockserver.stores.redis.keys import SessionKeys
from mockserver.stores.redis.pipelined import HotScript
from mockserver.stores.responses import StoredResponse

# KEYS: entries, order, holders, index.
FORGET = """
local function unindex(id)
  local members = redis.call('HGET', KEYS[4], id)
  if members then
    for _, member in ipairs(cjson.decode(members)) do redis.call('ZREM', KEYS[3], member) end
    redis.call('HDEL', KEYS[4], id)
  end
end
local function forget(id)
  unindex(id)
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
"""

# KEYS: ..., meta. ARGV: response id, JSON, capacity, then the ids of the items it holds.
PUT = (
    FORGET
    + """
local id = ARGV[1]
unindex(id)
local seq = redis.call('HINCRBY', KEYS[5], 'seq', 1)
redis.call('HSET', KEYS[1], id, ARGV[2])
redis.call('ZADD', KEYS[2], seq, id)
local members = {}
for i = 4, #ARGV do
  local member = string.format('%08d:%s:%020d:%s', #ARGV[i], ARGV[i], seq, id)
  members[#members + 1] = member
  redis.call('ZADD', KEYS[3], 0, member)
end
if #members > 0 then redis.call('HSET', KEYS[4], id, cjson.encode(members)) end
while redis.call('ZCARD', KEYS[2]) > tonumber(ARGV[3]) do
  forget(redis.call('ZRANGE', KEYS[2], 0, 0)[1])
end
"""
)

DELETE = (
    FORGET
    + """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
forget(ARGV[1])
return 1
"""
)

# KEYS: holders, entries. ARGV: an item's member prefix. The latest holder's JSON.
LATEST_HOLDER = """
local prefix = ARGV[1]
local last = redis.call('ZREVRANGEBYLEX', KEYS[1], '(' .. prefix .. '\\255', '[' .. prefix,
  'LIMIT', 0, 1)
if #last == 0 then return false end
return redis.call('HGET', KEYS[2], string.sub(last[1], #prefix + 22))
"""


def member_prefix(item_id: str) -> str:
    return f"{len(item_id.encode()):08d}:{item_id}:"


def encoded(entry: StoredResponse) -> bytes:
    return orjson.dumps(
        {"response": entry.response, "items": entry.items, "conversation": entry.conversation}
    )


def decoded(raw: str | bytes) -> StoredResponse:
    return StoredResponse(**orjson.loads(raw))


class RedisResponseStore:
    def __init__(self, client: Client, keys: SessionKeys, capacity: int = DEFAULT_CAPACITY) -> None:
        self.client = client
        self.capacity = capacity
        self.entries = keys.key("responses", "entries")
        self.order = keys.key("responses", "order")
        self.holders = keys.key("responses", "holders")
        self.index = keys.key("responses", "index")
        self.meta = keys.key("responses", "meta")
        self.put_script = HotScript(client, PUT)
        self.delete_script = client.register_script(DELETE)
        self.holder_script = HotScript(client, LATEST_HOLDER)

    @guarded
    async def put(self, entry: StoredResponse) -> None:
        keys = [self.entries, self.order, self.holders, self.index, self.meta]
        head = [entry.response["id"], encoded(entry), self.capacity]
        await self.put_script(keys=keys, args=[*head, *entry.item_ids()])

    @guarded
    async def get(self, response_id: str) -> StoredResponse | None:
        raw = await self.client.hget(self.entries, response_id)
        return None if raw is None else decoded(raw)

    @guarded
    async def get_item(self, item_id: str) -> dict[str, Any] | None:
        keys = [self.holders, self.entries]
        raw = await self.holder_script(keys=keys, args=[member_prefix(item_id)])
        if raw is None:
            return None
        return next(item for item in decoded(raw).all_items() if item.get("id") == item_id)

    @guarded
    async def delete(self, response_id: str) -> bool:
        keys = [self.entries, self.order, self.holders, self.index]
        return bool(await self.delete_script(keys=keys, args=[response_id]))

    @guarded
    async def count(self) -> int:
        return int(await self.client.zcard(self.order))

    @guarded
    async def clear(self) -> None:
        await self.client.delete(self.entries, self.order, self.holders, self.index)
