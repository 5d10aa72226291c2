"""The quota of one process, on an injectable clock (tests move a fake one).

Times are counted in whole microseconds, as the Redis ledger's script counts them, so the
two agree at every boundary: in float seconds, 540.302789 - 480.302789 is a hair under 60
and a minute that has turned would not have.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mockserver.config import Deployment
from mockserver.stores.memory.arrivals import Arrivals
from mockserver.stores.quota import MINUTE, QuotaSnapshot, Refusal, window_allowance

DEFAULT_REQUEST_WINDOW = 10.0
MICROS = 1_000_000
MINUTE_MICROS = round(MINUTE * MICROS)


@dataclass
class Usage:
    """One deployment's use (times in microseconds): tokens this minute, arrival times in
    the minute and window."""

    minute_start: int = 0
    tokens: int = 0
    arrivals: Arrivals = field(default_factory=Arrivals)


class MemoryQuotaLedger:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        request_window_seconds: float = DEFAULT_REQUEST_WINDOW,
    ) -> None:
        self.clock = clock
        self.request_window = request_window_seconds
        self.window_micros = round(request_window_seconds * MICROS)
        self.used: dict[str, Usage] = {}

    def now(self) -> int:
        return round(self.clock() * MICROS)

    async def admit(
        self, deployment: str, limits: Deployment, estimate: int, enforce: bool = True
    ) -> Refusal | None:
        now = self.now()
        usage = self.current(deployment, now)
        refusal = self.refusal(usage, limits, estimate, now) if enforce else None
        if refusal is None:
            usage.tokens += estimate
            usage.arrivals.add(now)
        return refusal

    async def snapshot(self, deployment: str, limits: Deployment) -> QuotaSnapshot:
        now = self.now()
        usage = self.current(deployment, now)
        rpm = limits.effective_requests_per_minute
        return QuotaSnapshot(
            limit_requests=rpm,
            limit_tokens=limits.tokens_per_minute,
            remaining_requests=max(0, rpm - usage.arrivals.in_minute()),
            remaining_tokens=max(0, limits.tokens_per_minute - usage.tokens),
        )

    async def usage(self) -> dict[str, dict[str, int]]:
        return {
            name: {"tokens_this_minute": u.tokens, "requests_last_minute": u.arrivals.in_minute()}
            for name, u in self.used.items()
        }

    async def reset(self) -> None:
        self.used.clear()

    def current(self, deployment: str, now: int) -> Usage:
        """The deployment's use as of `now`: a new minute, old arrivals dropped."""
        usage = self.used.get(deployment)
        if usage is None:  # (not setdefault: that would make a Usage on every call)
            usage = self.used[deployment] = Usage(minute_start=now)
        if now - usage.minute_start >= MINUTE_MICROS:
            usage.minute_start, usage.tokens = now, 0
        # Both windows drop from their oldest, so every check below is O(1) under load.
        usage.arrivals.drop(now - MINUTE_MICROS, now - self.window_micros)
        return usage

    def refusal(self, usage: Usage, limits: Deployment, estimate: int, now: int) -> Refusal | None:
        if usage.tokens + estimate > limits.tokens_per_minute:
            return Refusal("tokens", (usage.minute_start + MINUTE_MICROS - now) / MICROS)
        if usage.arrivals.in_window() >= window_allowance(limits, self.request_window):
            return Refusal("requests", self.request_wait(usage, now) / MICROS)
        return None

    def request_wait(self, usage: Usage, now: int) -> int:
        """Microseconds until the window's oldest arrival leaves it (0 if none is in it)."""
        oldest = usage.arrivals.oldest_in_window()
        return 0 if oldest is None else int(oldest) + self.window_micros - now
