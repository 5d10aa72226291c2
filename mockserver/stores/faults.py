"""The fault ledger: the counts behind `x-mock-fault-count` and the seeded fault rates.

Shared by every process serving one test session (on Redis, #18), so "the first N
requests with this fault id" and "this deployment's sequence of draws" mean the same
whichever process a request lands on.
"""

from __future__ import annotations

import random
from typing import Protocol


class FaultLedger(Protocol):
    async def take(self, fault_id: str, limit: int) -> bool:
        """Count one serving of `fault_id`'s fault; False once `limit` were served."""
        ...

    async def draw(self, deployment: str, seed: int) -> float:
        """The next number in [0, 1) of the deployment's seeded sequence."""
        ...

    async def reset(self) -> None:
        """Forget the counts and start every sequence again."""
        ...


def fault_sequence(deployment: str, seed: int) -> random.Random:
    """The seeded sequence a deployment's fault draws come from; the same for every store,
    so a run with a given seed meets the same faults in the same order."""
    return random.Random(f"{seed}:{deployment}")
