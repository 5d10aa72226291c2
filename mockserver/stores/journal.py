"""The request journal: what each request was, who answered it, how it ended.

Bounded by count and by bytes, oldest dropped first; tests read it to check what their
code sent: `count`, `find`, and `verify`, which fails with the nearest requests and what
differed about each. The entries themselves are in journal_entry.py.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from mockserver.engines.matching import RequestMatch
from mockserver.stores.journal_entry import JournalEntry, ReplayMiss
from mockserver.stores.journal_row import Journaled

__all__ = ["Journal", "JournalEntry", "ReplayMiss", "VerificationError", "verify"]


class Journal(Protocol):
    async def record(self, entry: Journaled) -> None:
        """Keep `entry`, numbered in arrival order (an entry given whole has its `id` set
        here; a row's entry is numbered when read)."""
        ...

    async def entries(self) -> list[JournalEntry]:
        """Every entry kept, oldest first."""
        ...

    async def find(self, match: RequestMatch | None = None, **filters: Any) -> list[JournalEntry]:
        """Entries matching `match` (chat requests) and equal on each of `filters`."""
        ...

    async def count(self, match: RequestMatch | None = None, **filters: Any) -> int: ...

    async def clear(self) -> None: ...

    async def size(self) -> int:
        """How many entries are kept."""
        ...

    async def stored_bytes(self) -> int:
        """The bytes the entries kept count for (at most the bound, but for the newest)."""
        ...


class VerificationError(AssertionError):
    """The journal does not hold the requests a test expected."""


async def verify(
    journal: Journal, match: RequestMatch, count: int | None = None
) -> list[JournalEntry]:
    """Assert requests matching `match` were received (exactly `count` of them, if given)."""
    __tracebackhide__ = True  # pytest shows the test's line, not this one
    found = await journal.find(match)
    if (count is None and found) or (count is not None and len(found) == count):
        return found
    expected = "at least one request" if count is None else f"{count} request(s)"
    lines = [f"expected {expected} matching {_describe(match)}, found {len(found)}."]
    lines += _near_misses(await journal.entries(), match)
    raise VerificationError("\n".join(lines))


def _describe(match: RequestMatch) -> str:
    return orjson.dumps(match.model_dump(exclude_none=True)).decode()


def _near_misses(entries: list[JournalEntry], match: RequestMatch, shown: int = 5) -> list[str]:
    chat = [e for e in entries if e.surface]
    if not chat:
        return ["The journal holds no chat requests."]
    ranked = sorted(chat, key=lambda e: len(match.mismatches(e.view())))
    lines = ["Nearest requests received:"]
    for entry in ranked[:shown]:
        reasons = match.mismatches(entry.view()) or ["matches"]
        lines.append(
            f"  #{entry.id} {entry.method} {entry.path} -> {entry.status}: " + "; ".join(reasons)
        )
    return lines
