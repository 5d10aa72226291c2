"""The fault ledger of a session, shared: fault-id counts and the seeded draws.

The n-th draw of a deployment's sequence is the n-th number of `fault_sequence(deployment,
seed)`, the memory ledger's sequence, whichever process asks for it: Redis hands out n
(and keeps the seed read at the deployment's first draw, until a reset), and each process
computes the n-th number itself (SeededDraws).
"""

from __future__ import annotations

import functools

from mockserver.stores.faults import fault_sequence
from mockserver.stores.redis.connection import Client, guarded
from mockserver.stores.redis.keys import SessionKeys
from mockserver.stores.redis.pipelined import HotScript

TAKE = """
local served = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if served >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return 1
"""

# KEYS: seeds, draws. ARGV: deployment, seed. The seed the first draw stored, and n.
DRAW = """
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return {redis.call('HGET', KEYS[1], ARGV[1]), redis.call('HINCRBY', KEYS[2], ARGV[1], 1)}
"""


class SeededDraws:
    """Any n-th number of one seeded sequence, in this process.

    The sequence is played forward from where this process last was (the draws other
    processes took too: a few microseconds each), and the recent numbers are kept, so
    two requests whose answers come back in either order cost nothing more.
    """

    KEEP = 256

    def __init__(self, deployment: str, seed: int) -> None:
        self.deployment = deployment
        self.seed = seed
        self.restart()

    def restart(self) -> None:
        self.sequence = fault_sequence(self.deployment, self.seed)
        self.position = 0
        self.recent: dict[int, float] = {}

    def nth(self, n: int) -> float:
        """The n-th number (from 1)."""
        if n not in self.recent and n <= self.position:
            self.restart()  # older than the numbers kept: play it again from the start
        while self.position < n:
            self.position += 1
            self.recent[self.position] = self.sequence.random()
            self.recent.pop(self.position - self.KEEP, None)
        return self.recent[n]


@functools.lru_cache(maxsize=256)
def seeded_draws(deployment: str, seed: int) -> SeededDraws:
    """One player per sequence in this process, whatever the session (the numbers are the
    same for every session with this seed and deployment)."""
    return SeededDraws(deployment, seed)


class RedisFaultLedger:
    def __init__(self, client: Client, keys: SessionKeys) -> None:
        self.client = client
        self.served = keys.key("faults", "served")
        self.seeds = keys.key("faults", "seeds")
        self.draws = keys.key("faults", "draws")
        self.take_script = HotScript(client, TAKE)
        self.draw_script = HotScript(client, DRAW)

    @guarded
    async def take(self, fault_id: str, limit: int) -> bool:
        return bool(await self.take_script(keys=[self.served], args=[fault_id, limit]))

    @guarded
    async def draw(self, deployment: str, seed: int) -> float:
        keys = [self.seeds, self.draws]
        stored_seed, n = await self.draw_script(keys=keys, args=[deployment, seed])
        return seeded_draws(deployment, int(stored_seed)).nth(int(n))

    @guarded
    async def reset(self) -> None:
        await self.client.delete(self.served, self.seeds, self.draws)
