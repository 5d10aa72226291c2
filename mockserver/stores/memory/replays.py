"""The replay ledger of one process."""

from __future__ import annotations


class MemoryReplayLedger:
    def __init__(self) -> None:
        self.used: dict[str, int] = {}  # request key -> recordings of it used

    async def take(self, key: str, available: int, repeat_last: bool) -> int | None:
        used = self.used.get(key, 0)
        if used < available:
            self.used[key] = used + 1
            return used
        return available - 1 if repeat_last and available else None

    async def reset(self) -> None:
        self.used.clear()
