"""The replay ledger: how many of each request's recordings a session has used up.

The tape (recordings/tape.py) is read-only, the same for every session and process; which
recording answers next is counted here, per session, so a test session starts its tape
at the beginning, and several processes (#18) use one recording once between them.
"""

from __future__ import annotations

from typing import Protocol


class ReplayLedger(Protocol):
    async def take(self, key: str, available: int, repeat_last: bool) -> int | None:
        """The index of the next of `available` recordings of the request `key`, counted as
        used; when all are used, the last again if `repeat_last`, else None."""
        ...

    async def reset(self) -> None:
        """Every recording unused again (the tape rewound)."""
        ...
