"""The stores of one server: everything a test session accumulates, behind one object.

Each store is a Protocol with async methods: in memory for one process (stores/memory/),
and on Redis for several processes or machines sharing a test session (#18). Callers
reach them only through `Stores`, so swapping the implementation touches no caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mockserver.stores.faults import FaultLedger
from mockserver.stores.journal import Journal
from mockserver.stores.quota import QuotaLedger
from mockserver.stores.replays import ReplayLedger
from mockserver.stores.responses import ResponseStore
from mockserver.stores.scenarios import ScenarioStore
from mockserver.stores.stubs import StubStore

# What POST /__admin/reset may name. "journal" takes the stored Responses API answers
# with it and rewinds the tape, and "quota" the fault counts and seeded fault sequences.
RESETTABLE = frozenset({"stubs", "scenarios", "journal", "quota"})


@dataclass(frozen=True)
class Stores:
    stubs: StubStore
    scenarios: ScenarioStore
    journal: Journal
    quota: QuotaLedger
    responses: ResponseStore
    faults: FaultLedger
    replays: ReplayLedger

    async def reset(self, parts: Iterable[str] = RESETTABLE) -> None:
        """Forget what a run accumulated (all of it by default); configuration stays."""
        wanted = frozenset(parts)
        unknown = wanted - RESETTABLE
        if unknown:
            raise ValueError(f"unknown parts {sorted(unknown)}; known: {sorted(RESETTABLE)}")
        if "stubs" in wanted:
            await self.stubs.clear()
            await self.scenarios.clear()  # a scenario is known through its stubs
        if "scenarios" in wanted:
            await self.scenarios.reset()
        if "journal" in wanted:
            await self.journal.clear()
            await self.responses.clear()
            await self.replays.reset()
        if "quota" in wanted:
            await self.quota.reset()
            await self.faults.reset()
