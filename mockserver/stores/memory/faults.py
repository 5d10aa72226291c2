"""The fault ledger of one process."""

from __future__ import annotations

import random

from mockserver.stores.faults import fault_sequence


class MemoryFaultLedger:
    def __init__(self) -> None:
        self.served: dict[str, int] = {}  # fault id -> times its fault was served
        self.sequences: dict[str, random.Random] = {}  # deployment -> its seeded draws

    async def take(self, fault_id: str, limit: int) -> bool:
        count = self.served.get(fault_id, 0)
        if count >= limit:
            return False
        self.served[fault_id] = count + 1
        return True

    async def draw(self, deployment: str, seed: int) -> float:
        # The seed is read when a deployment first draws, as before: a seed changed while
        # running takes effect at the next reset.
        sequence = self.sequences.get(deployment)
        if sequence is None:
            sequence = self.sequences[deployment] = fault_sequence(deployment, seed)
        return sequence.random()

    async def reset(self) -> None:
        self.served.clear()
        self.sequences.clear()
