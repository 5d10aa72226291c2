"""Per-deployment quota, enforced as Azure enforces it, on an injectable clock.

Tokens: each request is charged up front its prompt tokens plus `max_completion_tokens`
(its estimated maximum) against a running count that resets every minute; when the
count would pass tokens-per-minute, the request gets a 429 until the minute turns.
Completion tokens a request spends beyond its estimate are added when it is answered.
Requests: evaluated over short windows (10 seconds by default), each allowing
requests-per-minute / 6, so a burst is limited before the minute is used up.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from mockserver.config import Deployment
from mockserver.contract.errors import AzureError, catalogue_error

MINUTE = 60.0


@dataclass(frozen=True)
class QuotaSnapshot:
    limit_requests: int
    limit_tokens: int
    remaining_requests: int
    remaining_tokens: int
    reset_tokens_seconds: int
    reset_requests_seconds: int


@dataclass(frozen=True)
class Refusal:
    """Why a request is over the limit, and when to retry."""

    kind: str  # "tokens" or "requests"
    retry_after_seconds: float


@dataclass
class _Usage:
    minute_start: float = 0.0
    tokens: int = 0
    requests: deque[float] = field(default_factory=deque)  # arrival times, last minute
    recent: deque[float] = field(default_factory=deque)  # arrival times, last request window


class QuotaLedger:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, request_window_seconds: float = 10.0
    ) -> None:
        self.clock = clock
        self.request_window = request_window_seconds
        self._usage: dict[str, _Usage] = {}
        self._lock = threading.Lock()

    def admit(
        self, deployment: str, limits: Deployment, estimate: int, enforce: bool = True
    ) -> Refusal | None:
        """Charge a request, or, when enforcing, say why it must wait (and do not charge it)."""
        with self._lock:
            now = self.clock()
            usage = self._current(deployment, now)
            refusal = self._refusal(usage, limits, estimate, now) if enforce else None
            if refusal is None:
                usage.tokens += estimate
                usage.requests.append(now)
                usage.recent.append(now)
            return refusal

    def spend(self, deployment: str, extra_tokens: int) -> None:
        """Tokens a request used beyond its up-front estimate."""
        if extra_tokens > 0:
            with self._lock:
                self._current(deployment, self.clock()).tokens += extra_tokens

    def snapshot(self, deployment: str, limits: Deployment) -> QuotaSnapshot:
        with self._lock:
            now = self.clock()
            usage = self._current(deployment, now)
            rpm = limits.effective_requests_per_minute
            return QuotaSnapshot(
                limit_requests=rpm,
                limit_tokens=limits.tokens_per_minute,
                remaining_requests=max(0, rpm - len(usage.requests)),
                remaining_tokens=max(0, limits.tokens_per_minute - usage.tokens),
                reset_tokens_seconds=whole_seconds(usage.minute_start + MINUTE - now),
                reset_requests_seconds=whole_seconds(self._request_wait(usage, now)),
            )

    def state(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {
                name: {"tokens_this_minute": u.tokens, "requests_last_minute": len(u.requests)}
                for name, u in self._usage.items()
            }

    def reset(self) -> None:
        with self._lock:
            self._usage.clear()

    def _current(self, deployment: str, now: float) -> _Usage:
        usage = self._usage.setdefault(deployment, _Usage(minute_start=now))
        if now - usage.minute_start >= MINUTE:
            usage.minute_start, usage.tokens = now, 0
        while usage.requests and usage.requests[0] <= now - MINUTE:
            usage.requests.popleft()
        # Both windows drop from the left, so every check below is O(1) under load.
        while usage.recent and usage.recent[0] <= now - self.request_window:
            usage.recent.popleft()
        return usage

    def _refusal(
        self, usage: _Usage, limits: Deployment, estimate: int, now: float
    ) -> Refusal | None:
        if usage.tokens + estimate > limits.tokens_per_minute:
            return Refusal("tokens", usage.minute_start + MINUTE - now)
        if len(usage.recent) >= self._window_allowance(limits):
            return Refusal("requests", usage.recent[0] + self.request_window - now)
        return None

    def _window_allowance(self, limits: Deployment) -> int:
        share = self.request_window / MINUTE
        return max(1, math.floor(limits.effective_requests_per_minute * share))

    def _request_wait(self, usage: _Usage, now: float) -> float:
        return usage.recent[0] + self.request_window - now if usage.recent else 0.0


def whole_seconds(seconds: float) -> int:
    """Seconds rounded up, ignoring float noise: (t + 60) - t can be 60.0000000000005."""
    return math.ceil(round(seconds, 6))


def rate_limit_error(refusal: Refusal, api_version: str) -> AzureError:
    """Azure's 429 for the token or the call limit; the message's N matches the headers."""
    seconds = max(1, whole_seconds(refusal.retry_after_seconds))
    name = "rate_limit_tokens" if refusal.kind == "tokens" else "rate_limit_requests"
    error = catalogue_error(name, api_version=api_version, retry_after=seconds)
    policy = "DeploymentRatelimit-Token" if refusal.kind == "tokens" else "DeploymentRatelimit-Call"
    error.headers.update(
        {
            "retry-after": str(seconds),
            "retry-after-ms": str(max(1, math.ceil(refusal.retry_after_seconds * 1000))),
            "policy-id": policy,
        }
    )
    return error
