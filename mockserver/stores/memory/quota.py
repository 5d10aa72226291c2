"""The quota of one process, on an injectable clock (tests move a fake one)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from mockserver.config import Deployment
from mockserver.stores.quota import (
    MINUTE,
    QuotaSnapshot,
    Refusal,
    whole_seconds,
    window_allowance,
)

DEFAULT_REQUEST_WINDOW = 10.0


@dataclass
class Usage:
    """One deployment's use: tokens this minute, arrival times in the minute and window."""

    minute_start: float = 0.0
    tokens: int = 0
    requests: deque[float] = field(default_factory=deque)  # arrival times, last minute
    recent: deque[float] = field(default_factory=deque)  # arrival times, last request window


class MemoryQuotaLedger:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        request_window_seconds: float = DEFAULT_REQUEST_WINDOW,
    ) -> None:
        self.clock = clock
        self.request_window = request_window_seconds
        self.used: dict[str, Usage] = {}

    async def admit(
        self, deployment: str, limits: Deployment, estimate: int, enforce: bool = True
    ) -> Refusal | None:
        now = self.clock()
        usage = self.current(deployment, now)
        refusal = self.refusal(usage, limits, estimate, now) if enforce else None
        if refusal is None:
            usage.tokens += estimate
            usage.requests.append(now)
            usage.recent.append(now)
        return refusal

    async def snapshot(self, deployment: str, limits: Deployment) -> QuotaSnapshot:
        now = self.clock()
        usage = self.current(deployment, now)
        rpm = limits.effective_requests_per_minute
        return QuotaSnapshot(
            limit_requests=rpm,
            limit_tokens=limits.tokens_per_minute,
            remaining_requests=max(0, rpm - len(usage.requests)),
            remaining_tokens=max(0, limits.tokens_per_minute - usage.tokens),
            reset_tokens_seconds=whole_seconds(usage.minute_start + MINUTE - now),
            reset_requests_seconds=whole_seconds(self.request_wait(usage, now)),
        )

    async def usage(self) -> dict[str, dict[str, int]]:
        return {
            name: {"tokens_this_minute": u.tokens, "requests_last_minute": len(u.requests)}
            for name, u in self.used.items()
        }

    async def reset(self) -> None:
        self.used.clear()

    def current(self, deployment: str, now: float) -> Usage:
        """The deployment's use as of `now`: a new minute, old arrivals dropped."""
        usage = self.used.get(deployment)
        if usage is None:  # (not setdefault: that would make a Usage on every call)
            usage = self.used[deployment] = Usage(minute_start=now)
        if now - usage.minute_start >= MINUTE:
            usage.minute_start, usage.tokens = now, 0
        while usage.requests and usage.requests[0] <= now - MINUTE:
            usage.requests.popleft()
        # Both windows drop from the left, so every check below is O(1) under load.
        while usage.recent and usage.recent[0] <= now - self.request_window:
            usage.recent.popleft()
        return usage

    def refusal(
        self, usage: Usage, limits: Deployment, estimate: int, now: float
    ) -> Refusal | None:
        if usage.tokens + estimate > limits.tokens_per_minute:
            return Refusal("tokens", usage.minute_start + MINUTE - now)
        if len(usage.recent) >= window_allowance(limits, self.request_window):
            return Refusal("requests", usage.recent[0] + self.request_window - now)
        return None

    def request_wait(self, usage: Usage, now: float) -> float:
        return usage.recent[0] + self.request_window - now if usage.recent else 0.0
