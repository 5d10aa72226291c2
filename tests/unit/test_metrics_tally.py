"""The metrics' tally (`admin.metrics.Tally`) folds into exactly what direct updates make."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from mockserver.admin.metrics import LATENCY_BUCKETS, Tally

# Bucket bounds exactly, either side of them, zero, and past the last bound (+Inf).
VALUES = [0.0, 0.005, 0.0050001, 0.01, 0.3, 1, 2.5, 59.9, 60, 61, 1e6, 0.004999]


def _metrics() -> tuple[CollectorRegistry, Counter, Histogram]:
    registry = CollectorRegistry()
    counter = Counter("c", "a counter", ("route",), registry=registry)
    histogram = Histogram(
        "h", "a histogram", ("route",), registry=registry, buckets=LATENCY_BUCKETS
    )
    return registry, counter, histogram


def _without_created(exposition: bytes) -> list[bytes]:
    return [line for line in exposition.splitlines() if b"_created" not in line]


def test_a_folded_tally_reads_as_direct_updates() -> None:
    direct, direct_counter, direct_histogram = _metrics()
    tallied, tallied_counter, tallied_histogram = _metrics()
    tally = Tally()
    for route in ("a", "b"):
        for value in VALUES:
            direct_counter.labels(route).inc(value)
            direct_histogram.labels(route).observe(value)
            tally.add(tallied_counter.labels(route), value)
            tally.observe(tallied_histogram.labels(route), value)
    assert _without_created(generate_latest(tallied)) != _without_created(generate_latest(direct))
    tally.fold()
    assert _without_created(generate_latest(tallied)) == _without_created(generate_latest(direct))


def test_a_fold_empties_the_tally() -> None:
    _, counter, histogram = _metrics()
    tally = Tally()
    tally.add(counter.labels("a"))
    tally.observe(histogram.labels("a"), 0.2)
    tally.fold()
    tally.fold()  # nothing added twice
    assert counter.labels("a")._value.get() == 1
    assert histogram.labels("a")._sum.get() == 0.2
