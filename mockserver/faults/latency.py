"""Latency: time to first token, tokens per second, and reasoning time, with seeded jitter.

Zero by default. Set server-wide (`latency`), per deployment, or per request with
`x-mock-latency: ttft_ms=300,tokens_per_second=50,reasoning_tokens_per_second=500,jitter=0.2`.
Reasoning happens before the first token, so a higher `reasoning_effort` (more reasoning
tokens) waits longer. A non-streamed reply arrives after the whole time; a stream's first
frame after the time to first token and the reasoning, then a frame per token's time.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mockserver.engines.reply import Usage

LATENCY_HEADER = "x-mock-latency"


class Latency(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ttft_ms: float = Field(default=0.0, ge=0, le=600_000)
    tokens_per_second: float = Field(default=0.0, ge=0)  # 0: no time per visible token
    reasoning_tokens_per_second: float = Field(default=0.0, ge=0)  # 0: reasoning is instant
    jitter: float = Field(default=0.0, ge=0, le=1)  # each delay varies by +- this fraction

    @property
    def is_zero(self) -> bool:
        return (
            self.ttft_ms == 0
            and self.tokens_per_second == 0
            and self.reasoning_tokens_per_second == 0
        )


class LatencyHeaderError(ValueError):
    pass


def latency_from_header(headers: Mapping[str, str]) -> Latency | None:
    raw = headers.get(LATENCY_HEADER)
    if raw is None:
        return None
    try:
        pairs = dict(part.split("=", 1) for part in raw.replace(" ", "").split(",") if part)
        return Latency.model_validate({k: float(v) for k, v in pairs.items()})
    except ValidationError as error:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise _form_error(raw, detail) from None
    except ValueError:
        raise _form_error(raw, "each part must be name=number") from None


def _form_error(raw: str, detail: str) -> LatencyHeaderError:
    return LatencyHeaderError(
        f"{LATENCY_HEADER}: {raw!r} is not of the form ttft_ms=N,tokens_per_second=N,"
        f"reasoning_tokens_per_second=N,jitter=F ({detail})"
    )


# The longest one reply is paced to take in all, as `ttft_ms` and a stub's `delay_ms` are
# capped: rates so slow that their reply would take longer (0.001 tokens a second) are
# paced to end then, not in days.
MAX_REPLY_SECONDS = 600.0


@dataclass
class Pacer:
    """Delays before the first frame (time to first token) and between frames, and what
    is left of the reply's MAX_REPLY_SECONDS: each wait is cut to it (a stream's frames
    that carry no token wait too), so no reply is paced past it. One per reply."""

    first_frame_seconds: float = 0.0
    between_frames_seconds: float = 0.0
    seconds_left: float = MAX_REPLY_SECONDS

    async def before_first(self) -> None:
        await self._sleep(self.take(self.first_frame_seconds))

    async def between(self) -> None:
        await self._sleep(self.take(self.between_frames_seconds))

    def take(self, seconds: float) -> float:
        """`seconds`, or what is left of the reply's time if less; taken from it."""
        wait = min(seconds, self.seconds_left)
        self.seconds_left -= wait
        return wait

    @staticmethod
    async def _sleep(seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)


NO_DELAY = Pacer()  # never waits: shared


def pacer_for(latency: Latency, usage: Usage, seed: bytes, tokens_per_frame: int = 1) -> Pacer:
    """The pacing of one reply; the jitter is drawn from `seed`, so it is reproducible."""
    if latency.is_zero:
        return NO_DELAY
    factor = 1 + latency.jitter * (2 * _fraction(seed) - 1)
    reasoning = _seconds(usage.reasoning_tokens, latency.reasoning_tokens_per_second)
    first = min((latency.ttft_ms / 1000 + reasoning) * factor, MAX_REPLY_SECONDS)
    between = _seconds(tokens_per_frame, latency.tokens_per_second) * factor
    return Pacer(first, min(between, MAX_REPLY_SECONDS))


def reply_seconds(latency: Latency, usage: Usage, seed: bytes) -> float:
    """How long a non-streamed reply takes: first token, then every visible token."""
    pacer = pacer_for(latency, usage, seed)
    visible = usage.completion_tokens - usage.reasoning_tokens
    whole = pacer.first_frame_seconds + pacer.between_frames_seconds * max(0, visible)
    return min(whole, MAX_REPLY_SECONDS)


def _seconds(count: int, per_second: float) -> float:
    return count / per_second if per_second > 0 else 0.0


def _fraction(seed: bytes) -> float:
    digest = hashlib.sha256(b"latency" + seed).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
