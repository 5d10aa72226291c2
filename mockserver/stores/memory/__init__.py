"""The stores of one process, in memory: what a server uses unless told to share (#18).

Each store is used from the server's event loop only: no method yields before it is
done, so no two requests interleave inside one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mockserver.config import Settings
from mockserver.stores.memory.faults import MemoryFaultLedger
from mockserver.stores.memory.journal import MemoryJournal
from mockserver.stores.memory.quota import MemoryQuotaLedger
from mockserver.stores.memory.replays import MemoryReplayLedger
from mockserver.stores.memory.responses import MemoryResponseStore
from mockserver.stores.memory.scenarios import MemoryScenarioStore
from mockserver.stores.memory.stubs import MemoryStubStore
from mockserver.stores.stores import Stores


def memory_stores(settings: Settings, clock: Callable[[], float] = time.monotonic) -> Stores:
    """Fresh, empty stores bounded as `settings` say; `clock` times the quota windows."""
    scenarios = MemoryScenarioStore()
    return Stores(
        stubs=MemoryStubStore(scenarios),
        scenarios=scenarios,
        journal=MemoryJournal(settings.journal.capacity, settings.journal.max_bytes),
        quota=MemoryQuotaLedger(clock, settings.quota.request_window_seconds),
        responses=MemoryResponseStore(),
        faults=MemoryFaultLedger(),
        replays=MemoryReplayLedger(),
    )
