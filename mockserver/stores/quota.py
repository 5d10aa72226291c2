"""Per-deployment quota, enforced as Azure enforces it, on an injectable clock.

Tokens: each request is charged up front its prompt tokens plus `max_completion_tokens`
(its estimated maximum) against a running count that resets every minute; when the
count would pass tokens-per-minute, the request gets a 429 until the minute turns.
Nothing is added once the request is answered: real Azure answers show the count
charged only the estimate (a 16-token prompt with no `max_tokens` and a 22-token
completion left 119,986 of 120,000; gpt-5-nano's 11-token prompt and 203-token reasoning
completion left 99,994 of 100,000).
Requests: evaluated over short windows (10 seconds by default), each allowing
requests-per-minute / 6, so a burst is limited before the minute is used up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from mockserver.config import Deployment
from mockserver.contract.errors import AzureError, catalogue_error

MINUTE = 60.0
MINUTE_MS = 60_000


class QuotaSnapshot(NamedTuple):
    """Made for every answer of the model (its x-ratelimit-* headers): a tuple, a third of
    a frozen dataclass's cost to make."""

    limit_requests: int
    limit_tokens: int
    remaining_requests: int
    remaining_tokens: int

    @property
    def reset_requests_ms(self) -> int:
        return refill_ms(self.limit_requests - self.remaining_requests, self.limit_requests)

    @property
    def reset_tokens_ms(self) -> int:
        return refill_ms(self.limit_tokens - self.remaining_tokens, self.limit_tokens)


def refill_ms(used: int, per_minute: int) -> int:
    """Milliseconds until `used` of a per-minute limit is given back at the limit's own
    rate, rounded up: what Azure's x-ratelimit-reset-* say (one request of 120 a minute and
    14 tokens of 120,000 read 500 and 7 in four 2026 recordings)."""
    if per_minute <= 0:
        return 0
    return -(-used * MINUTE_MS // per_minute)


@dataclass(frozen=True)
class Refusal:
    """Why a request is over the limit, and when to retry."""

    kind: str  # "tokens" or "requests"
    retry_after_seconds: float


class QuotaLedger(Protocol):
    """What each deployment used in the current minute and request window."""

    async def admit(
        self, deployment: str, limits: Deployment, estimate: int, enforce: bool = True
    ) -> Refusal | None:
        """Charge a request, or, when enforcing, say why it must wait (and do not charge it)."""
        ...

    async def snapshot(self, deployment: str, limits: Deployment) -> QuotaSnapshot:
        """What is left and when it resets, for the x-ratelimit-* headers."""
        ...

    async def usage(self) -> dict[str, dict[str, int]]:
        """Per deployment used: {"tokens_this_minute": N, "requests_last_minute": N}."""
        ...

    async def reset(self) -> None: ...


def window_allowance(limits: Deployment, request_window: float) -> int:
    """Requests allowed per request window: the window's share of requests-per-minute."""
    share = request_window / MINUTE
    return max(1, math.floor(limits.effective_requests_per_minute * share))


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
