"""The scenario states of a session, shared: one hash, scenario name -> state."""

from __future__ import annotations

from mockserver.stores.redis.connection import Client, guarded, text
from mockserver.stores.redis.keys import SessionKeys
from mockserver.stores.scenarios import STARTED

# Every known scenario back to Started, in one step (a take in between sees all or none).
RESET = """
local names = redis.call('HKEYS', KEYS[1])
for _, name in ipairs(names) do redis.call('HSET', KEYS[1], name, ARGV[1]) end
return #names
"""


class RedisScenarioStore:
    def __init__(self, client: Client, keys: SessionKeys) -> None:
        self.client = client
        self.states = keys.key("scenarios")
        self.reset_script = client.register_script(RESET)

    @guarded
    async def get(self, name: str) -> str:
        state = await self.client.hget(self.states, name)
        return STARTED if state is None else text(state)

    @guarded
    async def set(self, name: str, state: str) -> None:
        await self.client.hset(self.states, name, state)

    @guarded
    async def start(self, name: str) -> None:
        await self.client.hsetnx(self.states, name, STARTED)

    @guarded
    async def all(self) -> dict[str, str]:
        states = await self.client.hgetall(self.states)
        return {text(name): text(state) for name, state in states.items()}

    @guarded
    async def reset(self) -> None:
        await self.reset_script(keys=[self.states], args=[STARTED])

    @guarded
    async def clear(self) -> None:
        await self.client.delete(self.states)
