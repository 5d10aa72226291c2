"""What an `Outcome` asks of a front, in one order for both: a reset, a hang, a raw answer,
a stream, or a whole body after its delay.

aiohttp's front (`http.writer`) and the lane (`http.lane.outcome`) write the same bytes
their own way; the decision of which to write, and the headers a whole answer carries,
are made here once, so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
from typing import Protocol, TypeVar

from mockserver.contract.headers import json_content_type
from mockserver.engines.reply import RawAnswer
from mockserver.faults.latency import NO_DELAY, Pacer
from mockserver.operations.base import Surface
from mockserver.pipeline import Outcome
from mockserver.serialize.sse import FrameSource

Written = TypeVar("Written", covariant=True)


class Carrier(Protocol[Written]):
    """One front's way of carrying out each kind of outcome."""

    def reset(self) -> Written:
        """Drop the connection at once (`x-mock-fault: reset`)."""
        ...

    async def hang(self) -> Written:
        """Answer nothing until the client gives up (`x-mock-fault: hang`)."""
        ...

    async def raw(self, answer: RawAnswer, body_fault: str | None) -> Written:
        """A recording's or the upstream's answer, as it is."""
        ...

    async def stream(
        self, frames: FrameSource, headers: dict[str, str], pacer: Pacer, fault: str | None
    ) -> Written:
        """The frames, paced; `fault` strikes half way."""
        ...

    async def whole(
        self, body: bytes, headers: dict[str, str], orjson_own: bool, body_fault: str | None
    ) -> Written:
        """A whole body (`orjson_own`: its bytes are orjson's, for the journal)."""
        ...


async def carry_out(outcome: Outcome, surface: Surface, carrier: Carrier[Written]) -> Written:
    plan = outcome.plan
    if plan.on_connection == "reset":
        return carrier.reset()
    if plan.on_connection == "hang":
        return await carrier.hang()
    if outcome.raw is not None:
        return await carrier.raw(outcome.raw, plan.on_body)
    rendered = outcome.rendered
    assert rendered is not None, "an outcome holds a fault, a raw answer or a rendered one"
    if rendered.frames is not None:
        pacer = outcome.pacer or NO_DELAY
        return await carrier.stream(rendered.frames, outcome.headers, pacer, plan.on_stream)
    if outcome.delay_seconds > 0:
        await asyncio.sleep(outcome.delay_seconds)
    assert rendered.body is not None, "a rendered answer is frames or a body"
    headers = {**outcome.headers, "Content-Type": json_content_type(surface)}
    orjson_own = rendered.written_by_orjson and plan.on_body is None  # not garbled on the way
    return await carrier.whole(rendered.body, headers, orjson_own, plan.on_body)
