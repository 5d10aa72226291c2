"""The memory ledger's arrival times (one array, a cut per window) against two deques
that each drop from the left: the same counts and the same oldest arrival after every
step, through many compactions, on clocks that stand still, jump, and go back."""

from __future__ import annotations

from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.stores.memory.arrivals import Arrivals

MINUTE, WINDOW = 60.0, 10.0

# A step: ('add', seconds the clock moves first) or ('drop', seconds the clock moves first).
steps = st.lists(
    st.tuples(
        st.sampled_from(["add", "add", "add", "drop"]),
        st.one_of(st.just(0.0), st.floats(-5.0, 30.0), st.sampled_from([WINDOW, MINUTE])),
    ),
    max_size=300,
)


# Clocks that only go forward, with several arrivals a step: the logs stay in order, and
# drops of many at once are halved down to (bisect), not walked.
forward_steps = st.lists(
    st.tuples(
        st.sampled_from(["add"] * 6 + ["drop"]),
        st.one_of(st.just(0.0), st.floats(0.0, 4.0), st.sampled_from([WINDOW, MINUTE])),
    ),
    max_size=300,
)


def drop_left(times: deque[float], start: float) -> None:
    while times and times[0] <= start:
        times.popleft()


@settings(max_examples=300, deadline=None)
@given(steps=st.one_of(steps, forward_steps), window=st.sampled_from([WINDOW, MINUTE, 90.0]))
def test_as_two_deques(steps: list[tuple[str, float]], window: float) -> None:
    now, kept = 1000.0, Arrivals(compact_after=3)  # compacting often
    minute, recent = deque[float](), deque[float]()
    for action, moved in steps:
        now += moved
        if action == "add":
            kept.add(now)
            minute.append(now)
            recent.append(now)
        else:
            kept.drop(now - MINUTE, now - window)
            drop_left(minute, now - MINUTE)
            drop_left(recent, now - window)
        assert kept.in_minute() == len(minute)
        assert kept.in_window() == len(recent)
        assert kept.oldest_in_window() == (recent[0] if recent else None)
        assert list(kept.times[len(kept.times) - len(minute) :]) == list(minute)


def test_compacts_once_half_is_dropped() -> None:
    kept = Arrivals()
    for second in range(10_000):
        kept.add(float(second))
    kept.drop(minute_start=4_999.0, window_start=7_999.0)
    assert len(kept.times) == 5_000  # 5,000 dropped from both windows: cut off
    assert (kept.in_minute(), kept.in_window(), kept.oldest_in_window()) == (5_000, 2_000, 8_000.0)
    kept.drop(minute_start=5_999.0, window_start=8_999.0)
    assert len(kept.times) == 5_000  # 1,000 more: under COMPACT_AFTER, kept
    assert (kept.in_minute(), kept.in_window(), kept.oldest_in_window()) == (4_000, 1_000, 9_000.0)


def test_in_order_until_a_clock_goes_back_and_again_once_all_are_dropped() -> None:
    kept = Arrivals()
    for second in (1.0, 2.0, 5.0):
        kept.add(second)
    assert kept.in_order
    for second in (2.5, 2.6, 6.0):  # 2.5 and 2.6 before the one ahead of them
        kept.add(second)
    # In turn, 5.0 stops both cuts: 2.5 and 2.6 wait behind it (halving would drop them).
    kept.drop(minute_start=3.0, window_start=3.0)
    assert (kept.in_order, kept.in_minute(), kept.in_window()) == (False, 4, 4)
    kept.drop(minute_start=6.0, window_start=6.0)
    assert (kept.in_order, kept.in_minute()) == (True, 0)
    kept.add(4.0)
    assert kept.in_order
