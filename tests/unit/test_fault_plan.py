"""The fault plan in-process: what each ask decides, and how it is carried out later."""

from __future__ import annotations

import pytest

from mockserver.config import Deployment
from mockserver.contract.errors import AzureError
from mockserver.faults.kinds import Fault, parse_fault
from mockserver.faults.plan import FaultPlan, from_headers, rolled
from mockserver.stores.memory.faults import MemoryFaultLedger


async def test_no_header_plans_no_fault() -> None:
    plan = await from_headers({}, MemoryFaultLedger())
    assert plan == FaultPlan() and not plan.acts_now and plan.kind is None


@pytest.mark.parametrize(
    ("asked", "kind", "acts_now", "where"),
    [
        ("500", "status", True, None),
        ("capacity", "capacity", True, None),
        ("reset", "reset", True, "connection"),
        ("hang", "hang", True, "connection"),
        ("truncate", "truncate", False, "body"),
        ("garbage", "garbage", False, "body"),
        ("cut-stream", "cut-stream", False, "stream"),
        ("stream-error", "stream-error", False, "stream"),
    ],
)
async def test_each_fault_acts_where_it_belongs(
    asked: str, kind: str, acts_now: bool, where: str | None
) -> None:
    plan = await from_headers({"x-mock-fault": asked}, MemoryFaultLedger())
    assert plan.kind == kind and plan.acts_now is acts_now
    assert plan.described == (asked if kind != "status" else "500")
    assert (plan.on_connection is not None) is (where == "connection")
    assert (plan.on_body is not None) is (where == "body")
    # Body faults damage a stream too; stream faults only a stream.
    assert (plan.on_stream is not None) is (where in ("body", "stream"))


async def test_a_count_serves_the_fault_that_many_times_per_id() -> None:
    ledger = MemoryFaultLedger()
    headers = {"x-mock-fault": "429", "x-mock-fault-count": "2", "x-mock-fault-id": "a"}
    kinds = [(await from_headers(headers, ledger)).kind for _ in range(3)]
    assert kinds == ["status", "status", None]
    other = {**headers, "x-mock-fault-id": "b"}
    assert (await from_headers(other, ledger)).kind == "status"


@pytest.mark.parametrize(
    "headers",
    [{"x-mock-fault": "explode"}, {"x-mock-fault": "429", "x-mock-fault-count": "two"}],
)
async def test_a_bad_fault_header_is_the_tests_mistake_said_plainly(
    headers: dict[str, str],
) -> None:
    with pytest.raises(AzureError) as raised:
        await from_headers(headers, MemoryFaultLedger())
    assert raised.value.status == 400 and raised.value.name == "InvalidMockHeader"


def test_a_later_ask_replaces_an_earlier_one_and_none_keeps_it() -> None:
    header = FaultPlan(Fault("truncate"))
    assert header.with_fault(None) is header
    assert header.with_fault(Fault("cut-stream")).kind == "cut-stream"


def test_the_error_of_a_status_fault_is_azures_and_says_when_to_retry() -> None:
    error = FaultPlan(Fault("status", 429)).error("req-1", "2025-04-01-preview", 1500)
    assert error is not None and error.status == 429
    assert error.headers["retry-after"] == "2" and error.headers["retry-after-ms"] == "1500"
    capacity = FaultPlan(Fault("capacity")).error("req-1", "v1", 10)
    assert capacity is not None and capacity.status == 429
    assert FaultPlan(Fault("reset")).error("req-1", "v1", 10) is None


async def test_rates_draw_the_same_faults_for_the_same_seed() -> None:
    deployment = Deployment(fault_rates={"500": 0.3, "reset": 0.2})

    async def draws(seed: int) -> list[str | None]:
        ledger = MemoryFaultLedger()
        faults = [await rolled("o3-mini", deployment, seed, ledger) for _ in range(200)]
        return [None if fault is None else fault.kind for fault in faults]

    first = await draws(1)
    assert first == await draws(1) != await draws(2)
    assert 40 <= first.count("status") <= 80 and 20 <= first.count("reset") <= 60


async def test_no_rates_draw_nothing_and_spend_no_draw() -> None:
    ledger = MemoryFaultLedger()
    assert await rolled("o3-mini", Deployment(), 0, ledger) is None
    assert ledger.sequences == {}


def test_every_kind_parses_to_the_fault_the_plan_knows() -> None:
    for name in ("reset", "hang", "truncate", "garbage", "cut-stream", "stream-error", "capacity"):
        assert FaultPlan(parse_fault(name)).kind == name
