"""Per-deployment usage over Azure's one-minute window, for the x-ratelimit-* headers.

Each request is charged as Azure charges it up front: its prompt tokens plus its
`max_completion_tokens`. The remaining counts in the headers come from this real state.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from mockserver.config import Deployment

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class QuotaSnapshot:
    limit_requests: int
    limit_tokens: int
    remaining_requests: int
    remaining_tokens: int


class QuotaLedger:
    def __init__(self) -> None:
        self._charges: dict[str, deque[tuple[float, int]]] = {}

    def charge(self, deployment: str, tokens: int, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        self._charges.setdefault(deployment, deque()).append((moment, tokens))

    def snapshot(
        self, deployment: str, limits: Deployment, now: float | None = None
    ) -> QuotaSnapshot:
        charges = self._window(deployment, time.monotonic() if now is None else now)
        used_tokens = sum(tokens for _, tokens in charges)
        return QuotaSnapshot(
            limit_requests=limits.requests_per_minute,
            limit_tokens=limits.tokens_per_minute,
            remaining_requests=max(0, limits.requests_per_minute - len(charges)),
            remaining_tokens=max(0, limits.tokens_per_minute - used_tokens),
        )

    def reset(self) -> None:
        self._charges.clear()

    def _window(self, deployment: str, now: float) -> deque[tuple[float, int]]:
        charges = self._charges.setdefault(deployment, deque())
        while charges and charges[0][0] <= now - WINDOW_SECONDS:
            charges.popleft()
        return charges
