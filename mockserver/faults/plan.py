"""The fault plan: the one fault a request suffers, decided once from what asks for it.

Three things can ask: the request's `x-mock-fault` headers (first, before any engine),
the deployment's seeded `fault_rates` (once the request passed the gateway), and the stub
that answered. A fault that acts before any answer (a status, capacity, a reset, a hang)
ends the request where it is asked; one that damages the answer (truncate, garbage, a cut
or failing stream) is carried to the writer. The plan is a value: each step returns a
new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from mockserver.config import Deployment
from mockserver.contract.errors import AzureError
from mockserver.faults.kinds import (
    BODY_FAULTS,
    CONNECTION_FAULTS,
    COUNT_HEADER,
    FAULT_HEADER,
    ID_HEADER,
    STREAM_FAULTS,
    Fault,
    UnknownFaultError,
    capacity_error,
    mock_header_error,
    parse_fault,
    status_error,
)


class FaultCounts(Protocol):
    """The shared counts behind `x-mock-fault-count` and the seeded rates (a store)."""

    async def take(self, fault_id: str, limit: int) -> bool: ...

    async def draw(self, deployment: str, seed: int) -> float: ...


# What the plan's properties test a fault's kind against, made once (read per request).
_ACTING_NOW = frozenset(("status", "capacity", *CONNECTION_FAULTS))
_ON_STREAM = frozenset((*STREAM_FAULTS, *BODY_FAULTS))


@dataclass(frozen=True)
class FaultPlan:
    fault: Fault | None = None

    def with_fault(self, fault: Fault | None) -> FaultPlan:
        """A later ask (rates after headers, a stub after rates) replaces an earlier one
        that has not acted yet."""
        return self if fault is None else FaultPlan(fault)

    @property
    def kind(self) -> str | None:
        return None if self.fault is None else self.fault.kind

    @property
    def described(self) -> str | None:
        """As x-mock-fault names it: "500", "reset", "cut-stream"… (for the journal)."""
        fault = self.fault
        if fault is None:
            return None
        return str(fault.status) if fault.kind == "status" else fault.kind

    @property
    def on_connection(self) -> str | None:
        """ "reset" or "hang": the writer drops or holds the connection, no answer."""
        return self.kind if self.kind in CONNECTION_FAULTS else None

    @property
    def on_body(self) -> str | None:
        """ "truncate" or "garbage": the writer damages a whole body (a stream too)."""
        return self.kind if self.kind in BODY_FAULTS else None

    @property
    def on_stream(self) -> str | None:
        """A fault the stream writer applies: its own kinds and the body ones."""
        return self.kind if self.kind in _ON_STREAM else None

    def error(self, request_id: str, api_version: str, retry_after_ms: int) -> AzureError | None:
        """The error this plan answers with at once (a status or capacity fault), if any."""
        fault = self.fault
        if fault is None:
            return None
        if fault.kind == "status":
            return status_error(fault.status, request_id, api_version, retry_after_ms)
        if fault.kind == "capacity":
            return capacity_error(retry_after_ms)
        return None

    @property
    def acts_now(self) -> bool:
        """True when the request ends here: an error or a connection fault."""
        return self.kind in _ACTING_NOW


NO_FAULT = FaultPlan()  # the plan of most requests (a frozen value: shared)


async def from_headers(headers: Mapping[str, str], counts: FaultCounts) -> FaultPlan:
    """What `x-mock-fault` asks for; nothing once its `x-mock-fault-count` is used up."""
    raw = headers.get(FAULT_HEADER)
    if raw is None:
        return NO_FAULT
    try:
        fault = parse_fault(raw.strip().lower())
    except UnknownFaultError as error:
        raise mock_header_error(f"{FAULT_HEADER}: {error}") from None
    limit = headers.get(COUNT_HEADER)
    if limit is None:
        return FaultPlan(fault)
    if not limit.strip().isdigit():
        raise mock_header_error(f"{COUNT_HEADER}: {limit!r} is not a whole number")
    taken = await counts.take(headers.get(ID_HEADER, ""), int(limit))
    return FaultPlan(fault) if taken else NO_FAULT


async def rolled(name: str, deployment: Deployment, seed: int, counts: FaultCounts) -> Fault | None:
    """A fault drawn at the deployment's configured rates, from its seeded sequence."""
    if not deployment.fault_rates:
        return None
    draw, cumulative = await counts.draw(name, seed), 0.0
    for fault, rate in deployment.fault_rates.items():
        cumulative += rate
        if draw < cumulative:
            return parse_fault(fault)
    return None
