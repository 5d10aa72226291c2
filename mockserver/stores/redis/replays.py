"""The replay ledger of a session, shared: one hash, request key -> recordings used, so
several processes use each recording once between them."""

from __future__ import annotations

from mockserver.stores.redis.connection import Client, guarded
from mockserver.stores.redis.keys import SessionKeys
from mockserver.stores.redis.pipelined import HotScript

# ARGV: request key, recordings available, repeat the last ('1'/'0'). -1: none left.
TAKE = """
local used = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local available = tonumber(ARGV[2])
if used < available then
  redis.call('HSET', KEYS[1], ARGV[1], used + 1)
  return used
end
if ARGV[3] == '1' and available > 0 then return available - 1 end
return -1
"""


class RedisReplayLedger:
    def __init__(self, client: Client, keys: SessionKeys) -> None:
        self.client = client
        self.used = keys.key("replays", "used")
        self.script = HotScript(client, TAKE)

    @guarded
    async def take(self, key: str, available: int, repeat_last: bool) -> int | None:
        args: list[str | int] = [key, available, "1" if repeat_last else "0"]
        index = int(await self.script(keys=[self.used], args=args))
        return None if index < 0 else index

    @guarded
    async def reset(self) -> None:
        await self.client.delete(self.used)
