"""The journal of one process: a ring buffer bounded by count and by bytes."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from mockserver.engines.matching import RequestMatch
from mockserver.stores.journal_entry import JournalEntry, forget_kept_bodies
from mockserver.stores.journal_row import Journaled, JournalRow, entry_of

DEFAULT_CAPACITY = 1000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class MemoryJournal:
    def __init__(
        self, capacity: int = DEFAULT_CAPACITY, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        # Rows, made into entries when read; numbered in order, so the oldest kept is
        # next_id - len(kept).
        self.kept: deque[Journaled] = deque()
        self.sizes: deque[int] = deque()  # each kept entry's stored_bytes(), counted once
        self.kept_bytes = 0
        self.next_id = 1  # ids go on after a clear, so a dashboard's cursor stays valid

    async def record(self, entry: Journaled) -> None:
        if not isinstance(entry, JournalRow):
            entry.id = self.next_id
        self.next_id += 1
        size = entry.stored_bytes()
        self.kept.append(entry)
        self.sizes.append(size)
        self.kept_bytes += size
        self.drop_oldest()

    def drop_oldest(self) -> None:
        """Drop the oldest entries while over either bound; the newest one always stays."""
        while len(self.kept) > 1 and (
            len(self.kept) > self.capacity or self.kept_bytes > self.max_bytes
        ):
            self.kept.popleft()
            self.kept_bytes -= self.sizes.popleft()

    async def entries(self) -> list[JournalEntry]:
        return list(self._read())

    async def find(self, match: RequestMatch | None = None, **filters: Any) -> list[JournalEntry]:
        return [entry for entry in self._read() if entry.matches(match, filters)]

    def _read(self) -> Iterator[JournalEntry]:
        first = self.next_id - len(self.kept)
        return (entry_of(kept, first + n) for n, kept in enumerate(self.kept))

    async def count(self, match: RequestMatch | None = None, **filters: Any) -> int:
        return len(await self.find(match, **filters))

    async def clear(self) -> None:
        forget_kept_bodies()  # what the journal kept of bodies goes with it
        self.kept.clear()
        self.sizes.clear()
        self.kept_bytes = 0

    async def size(self) -> int:
        return len(self.kept)

    def counts(self) -> tuple[int, int]:
        """Its size and stored bytes, read at once (the metrics' fold is no coroutine)."""
        return len(self.kept), self.kept_bytes

    async def stored_bytes(self) -> int:
        return self.kept_bytes
