"""The in-memory `QuotaLedger` on a fake clock: the token minute, the short request window,
the 429 it makes.

Tokens are charged up front (prompt + max_completion_tokens) against a count that resets
each minute; requests are limited per window (RPM / 6 per 10 s by default). No sleeping:
the clock is a float the tests advance. Clock values are exact binary fractions, so the
retry times compare exactly.
"""

from __future__ import annotations

import json
import math
import re

import pytest

from mockserver.config import Deployment
from mockserver.stores.memory.quota import MemoryQuotaLedger as QuotaLedger
from mockserver.stores.quota import MINUTE, Refusal, rate_limit_error

DEPLOYMENT = "o3-mini"
START = 1000.0
API_VERSION = "2025-04-01-preview"
RETRY_AFTER = re.compile(r"Please retry after (\d+) seconds\.")


class FakeClock:
    """A monotonic clock that moves only when a test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(clock: FakeClock) -> QuotaLedger:
    return QuotaLedger(clock=clock, request_window_seconds=10.0)


def limits(tpm: int, rpm: int | None = None) -> Deployment:
    return Deployment(tokens_per_minute=tpm, requests_per_minute=rpm)


async def used_tokens(ledger: QuotaLedger) -> int:
    return (await ledger.usage())[DEPLOYMENT]["tokens_this_minute"]


async def used_requests(ledger: QuotaLedger) -> int:
    return (await ledger.usage())[DEPLOYMENT]["requests_last_minute"]


# --- tokens per minute --------------------------------------------------------------------------


async def test_token_burst_is_refused_at_exactly_the_request_that_passes_tpm(
    ledger: QuotaLedger, clock: FakeClock
) -> None:
    tpm = limits(1000, rpm=1000)  # plenty of requests: only tokens can refuse
    outcomes: list[Refusal | None] = []
    for _ in range(3):
        outcomes.append(await ledger.admit(DEPLOYMENT, tpm, 300))
        clock.advance(2.5)
    assert outcomes == [None, None, None]
    assert await used_tokens(ledger) == 900

    refusal = await ledger.admit(DEPLOYMENT, tpm, 300)  # 900 + 300 > 1000
    assert refusal is not None
    assert refusal.kind == "tokens"
    # The minute began with the first request; 7.5 s of it have passed.
    assert refusal.retry_after_seconds == MINUTE - 7.5


async def test_a_request_that_fits_exactly_is_admitted(ledger: QuotaLedger) -> None:
    tpm = limits(1000, rpm=1000)
    assert await ledger.admit(DEPLOYMENT, tpm, 700) is None
    assert await ledger.admit(DEPLOYMENT, tpm, 300) is None  # 1000: at the limit, not past it
    refusal = await ledger.admit(DEPLOYMENT, tpm, 1)
    assert refusal is not None and refusal.kind == "tokens"


async def test_refused_requests_are_not_charged(ledger: QuotaLedger, clock: FakeClock) -> None:
    tpm = limits(1000, rpm=1000)
    for _ in range(3):
        assert await ledger.admit(DEPLOYMENT, tpm, 300) is None
    before = await ledger.snapshot(DEPLOYMENT, tpm)
    for _ in range(5):
        clock.advance(1.0)
        assert await ledger.admit(DEPLOYMENT, tpm, 300) is not None
    assert await used_tokens(ledger) == 900
    assert await used_requests(ledger) == 3
    after = await ledger.snapshot(DEPLOYMENT, tpm)
    assert after.remaining_tokens == before.remaining_tokens == 100
    assert after.remaining_requests == before.remaining_requests == 997
    # What is left still fits: a refused request did not eat into it.
    assert await ledger.admit(DEPLOYMENT, tpm, 100) is None
    assert await used_tokens(ledger) == 1000


async def test_admitted_again_once_the_minute_turns(ledger: QuotaLedger, clock: FakeClock) -> None:
    tpm = limits(1000, rpm=1000)
    for _ in range(3):
        assert await ledger.admit(DEPLOYMENT, tpm, 300) is None
    clock.advance(20.0)
    refusal = await ledger.admit(DEPLOYMENT, tpm, 300)
    assert refusal == Refusal("tokens", 40.0)

    clock.advance(refusal.retry_after_seconds - 0.5)  # not yet
    late = await ledger.admit(DEPLOYMENT, tpm, 300)
    assert late == Refusal("tokens", 0.5)

    clock.advance(0.5)  # the minute has turned: a fresh count
    assert await ledger.admit(DEPLOYMENT, tpm, 300) is None
    assert await used_tokens(ledger) == 300
    assert (await ledger.snapshot(DEPLOYMENT, tpm)).remaining_tokens == 700
    # The new minute's 300 tokens are given back at 1,000 a minute: in 18 s.
    assert (await ledger.snapshot(DEPLOYMENT, tpm)).reset_tokens_ms == 18_000


async def test_a_request_larger_than_the_whole_minute_is_refused(ledger: QuotaLedger) -> None:
    tpm = limits(1000, rpm=1000)
    refusal = await ledger.admit(DEPLOYMENT, tpm, 1001)
    assert refusal == Refusal("tokens", MINUTE)
    assert await used_tokens(ledger) == 0


async def test_deployments_have_separate_counts(ledger: QuotaLedger) -> None:
    tpm = limits(1000, rpm=1000)
    assert await ledger.admit("a", tpm, 1000) is None
    assert await ledger.admit("a", tpm, 1) is not None
    assert await ledger.admit("b", tpm, 1000) is None
    assert await ledger.usage() == {
        "a": {"tokens_this_minute": 1000, "requests_last_minute": 1},
        "b": {"tokens_this_minute": 1000, "requests_last_minute": 1},
    }


# --- requests per window ------------------------------------------------------------------------


async def test_request_window_allows_rpm_over_six_then_refuses(
    ledger: QuotaLedger, clock: FakeClock
) -> None:
    rpm60 = limits(1_000_000, rpm=60)  # 60 RPM and a 10 s window: 10 per window
    for _ in range(10):
        assert await ledger.admit(DEPLOYMENT, rpm60, 1) is None
        clock.advance(0.5)  # the 10th arrives at START + 4.5; now START + 5
    refusal = await ledger.admit(DEPLOYMENT, rpm60, 1)
    assert refusal is not None
    assert refusal.kind == "requests"
    # The oldest of the window (at START) leaves it at START + 10.
    assert refusal.retry_after_seconds == 5.0
    assert await used_requests(ledger) == 10


async def test_request_window_slides(ledger: QuotaLedger, clock: FakeClock) -> None:
    rpm60 = limits(1_000_000, rpm=60)
    for _ in range(10):
        assert await ledger.admit(DEPLOYMENT, rpm60, 1) is None
        clock.advance(1.0)  # arrivals at START + 0 .. START + 9; now START + 10
    # START + 0 is exactly one window old: out of it, so one place is free.
    assert await ledger.admit(DEPLOYMENT, rpm60, 1) is None
    # START + 10 took that place; the next frees at START + 11.
    refusal = await ledger.admit(DEPLOYMENT, rpm60, 1)
    assert refusal == Refusal("requests", 1.0)
    clock.advance(0.5)
    assert await ledger.admit(DEPLOYMENT, rpm60, 1) == Refusal("requests", 0.5)
    clock.advance(0.5)
    assert await ledger.admit(DEPLOYMENT, rpm60, 1) is None
    assert await used_requests(ledger) == 12


async def test_a_burst_at_one_instant_waits_a_whole_window(
    ledger: QuotaLedger, clock: FakeClock
) -> None:
    rpm60 = limits(1_000_000, rpm=60)
    for _ in range(10):
        assert await ledger.admit(DEPLOYMENT, rpm60, 1) is None
    assert await ledger.admit(DEPLOYMENT, rpm60, 1) == Refusal("requests", 10.0)
    clock.advance(9.75)
    assert await ledger.admit(DEPLOYMENT, rpm60, 1) == Refusal("requests", 0.25)
    clock.advance(0.25)
    for _ in range(10):
        assert await ledger.admit(DEPLOYMENT, rpm60, 1) is None
    assert await ledger.admit(DEPLOYMENT, rpm60, 1) is not None
    assert await used_requests(ledger) == 20


async def test_default_rpm_is_six_per_thousand_tpm(ledger: QuotaLedger) -> None:
    derived = limits(10_000)  # 60 requests per minute, so 10 per 10 s window
    assert derived.effective_requests_per_minute == 60
    for _ in range(10):
        assert await ledger.admit(DEPLOYMENT, derived, 1) is None
    refusal = await ledger.admit(DEPLOYMENT, derived, 1)
    assert refusal is not None and refusal.kind == "requests"


async def test_a_shorter_window_allows_its_share(clock: FakeClock) -> None:
    ledger = QuotaLedger(clock=clock, request_window_seconds=5.0)
    rpm60 = limits(1_000_000, rpm=60)  # 5 s of 60 RPM: 5 per window
    for _ in range(5):
        assert await ledger.admit(DEPLOYMENT, rpm60, 1) is None
    assert await ledger.admit(DEPLOYMENT, rpm60, 1) == Refusal("requests", 5.0)


async def test_tokens_are_checked_before_requests(ledger: QuotaLedger) -> None:
    tight = limits(1000, rpm=6)  # one request per 10 s window
    assert await ledger.admit(DEPLOYMENT, tight, 100) is None
    over_both = await ledger.admit(DEPLOYMENT, tight, 950)
    assert over_both is not None and over_both.kind == "tokens"
    over_requests = await ledger.admit(DEPLOYMENT, tight, 100)
    assert over_requests is not None and over_requests.kind == "requests"


# --- snapshot -----------------------------------------------------------------------------------


async def test_snapshot_of_an_unused_deployment(ledger: QuotaLedger) -> None:
    snap = await ledger.snapshot(DEPLOYMENT, limits(2000, rpm=12))
    assert snap.limit_tokens == 2000
    assert snap.limit_requests == 12
    assert snap.remaining_tokens == 2000
    assert snap.remaining_requests == 12
    assert snap.reset_requests_ms == 0
    assert snap.reset_tokens_ms == 0


async def test_snapshot_counts_usage_and_refill_times(
    ledger: QuotaLedger, clock: FakeClock
) -> None:
    tpm = limits(2000, rpm=60)
    assert await ledger.admit(DEPLOYMENT, tpm, 500) is None
    clock.advance(3.25)
    assert await ledger.admit(DEPLOYMENT, tpm, 700) is None
    clock.advance(4.5)  # 7.75 s into the minute
    snap = await ledger.snapshot(DEPLOYMENT, tpm)
    assert snap.limit_tokens == 2000
    assert snap.limit_requests == 60
    assert snap.remaining_tokens == 800
    assert snap.remaining_requests == 58
    # What was used, given back at the limit's own rate (ms): 1,200 of 2,000 a minute...
    assert snap.reset_tokens_ms == 1200 * 60_000 // 2000 == 36_000
    assert snap.reset_requests_ms == 2 * 60_000 // 60 == 2_000  # ...and 2 of 60


async def test_snapshot_never_goes_negative(ledger: QuotaLedger) -> None:
    tpm = limits(1000, rpm=6)
    for _ in range(8):
        await ledger.admit(DEPLOYMENT, tpm, 400, enforce=False)
    snap = await ledger.snapshot(DEPLOYMENT, tpm)
    assert snap.remaining_tokens == 0
    assert snap.remaining_requests == 0


async def test_request_count_forgets_after_a_minute(ledger: QuotaLedger, clock: FakeClock) -> None:
    tpm = limits(100_000, rpm=60)
    for _ in range(5):
        assert await ledger.admit(DEPLOYMENT, tpm, 1) is None
        clock.advance(1.0)
    assert (await ledger.snapshot(DEPLOYMENT, tpm)).remaining_requests == 55
    clock.advance(MINUTE)
    snap = await ledger.snapshot(DEPLOYMENT, tpm)
    assert snap.remaining_requests == 60
    assert snap.remaining_tokens == 100_000


async def test_reset_forgets_everything(ledger: QuotaLedger) -> None:
    tpm = limits(1000, rpm=6)
    await ledger.admit(DEPLOYMENT, tpm, 1000)
    assert await ledger.admit(DEPLOYMENT, tpm, 1) is not None
    await ledger.reset()
    assert await ledger.usage() == {}
    assert await ledger.admit(DEPLOYMENT, tpm, 1000) is None


# --- not enforced -------------------------------------------------------------------------------


async def test_not_enforced_never_refuses_but_still_charges(
    ledger: QuotaLedger, clock: FakeClock
) -> None:
    tpm = limits(1000, rpm=6)  # one request per window, 1000 tokens per minute
    for _ in range(20):
        assert await ledger.admit(DEPLOYMENT, tpm, 300, enforce=False) is None
        clock.advance(0.25)
    assert await used_tokens(ledger) == 6000
    assert await used_requests(ledger) == 20
    # Enforcement, switched on, sees that usage.
    refusal = await ledger.admit(DEPLOYMENT, tpm, 1)
    assert refusal == Refusal("tokens", MINUTE - 5.0)


# --- the 429 ------------------------------------------------------------------------------------


def error_message(refusal: Refusal) -> tuple[int, dict[str, str], dict[str, str]]:
    error = rate_limit_error(refusal, API_VERSION)
    payload = json.loads(error.body)
    assert list(payload) == ["error"]
    return error.status, error.headers, payload["error"]


@pytest.mark.parametrize(
    ("kind", "wording", "policy"),
    [
        ("tokens", "token rate limit", "DeploymentRatelimit-Token"),
        ("requests", "call rate limit", "DeploymentRatelimit-Call"),
    ],
)
def test_rate_limit_error_says_which_limit(kind: str, wording: str, policy: str) -> None:
    status, headers, error = error_message(Refusal(kind, 42.25))
    assert status == 429
    assert error["code"] == "429"
    assert list(error) == ["code", "message"]
    message = error["message"]
    assert message.startswith(
        "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
        f"{API_VERSION} have exceeded {wording} of your current AIServices S0 pricing tier."
    )
    other = "call rate limit" if kind == "tokens" else "token rate limit"
    assert other not in message
    assert "Please retry after 43 seconds." in message
    assert message.endswith(
        "Please contact Azure support service if you would like to further increase the "
        "default rate limit."
    )
    assert headers["retry-after"] == "43"
    assert headers["retry-after-ms"] == "42250"
    assert headers["policy-id"] == policy


@pytest.mark.parametrize("seconds", [0.001, 0.25, 1.0, 1.5, 9.999, 10.0, 37.125, 59.75, 60.0])
@pytest.mark.parametrize("kind", ["tokens", "requests"])
def test_retry_after_numbers_agree(kind: str, seconds: float) -> None:
    _, headers, error = error_message(Refusal(kind, seconds))
    found = RETRY_AFTER.search(error["message"])
    assert found is not None, error["message"]
    whole = int(headers["retry-after"])
    milliseconds = int(headers["retry-after-ms"])
    assert int(found.group(1)) == whole
    assert whole == max(1, math.ceil(seconds))  # whole seconds, never less than the wait
    assert whole >= 1
    assert milliseconds >= seconds * 1000 - 1e-6  # never sooner than the ledger said
    assert milliseconds - seconds * 1000 < 1
    assert math.ceil(milliseconds / 1000) <= whole


async def test_refusal_from_the_ledger_becomes_a_consistent_429(
    ledger: QuotaLedger, clock: FakeClock
) -> None:
    tpm = limits(1000, rpm=1000)
    assert await ledger.admit(DEPLOYMENT, tpm, 900) is None
    clock.advance(12.5)
    refusal = await ledger.admit(DEPLOYMENT, tpm, 200)
    assert refusal is not None
    _, headers, error = error_message(refusal)
    assert headers["retry-after"] == "48"
    assert headers["retry-after-ms"] == "47500"
    assert "Please retry after 48 seconds." in error["message"]
    assert headers["policy-id"] == "DeploymentRatelimit-Token"


async def test_a_minute_that_turned_in_float_seconds_too() -> None:
    """540.302789 - 480.302789 is 59.99999999999994 in floats: counted in whole
    microseconds (as the Redis script counts), the minute has turned at 60 s exactly, and
    the token and request windows with it."""
    clock = FakeClock(480.302789)
    ledger = QuotaLedger(clock=clock, request_window_seconds=10.0)
    assert await ledger.admit(DEPLOYMENT, limits(100, 6), 100) is None
    assert 540.302789 - clock.now < MINUTE  # what floats say
    clock.now = 540.302789
    assert await ledger.admit(DEPLOYMENT, limits(100, 6), 100) is None
    assert (await used_tokens(ledger), await used_requests(ledger)) == (100, 1)
    snapshot = await ledger.snapshot(DEPLOYMENT, limits(100, 6))
    assert (snapshot.reset_tokens_ms, snapshot.reset_requests_ms) == (60_000, 10_000)
