"""The metrics' tally (`admin.metrics.Tally`) folds into exactly what direct updates make."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mockserver.admin.metrics import LATENCY_BUCKETS, ServerMetrics, Tally

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


def _answered(exposition: bytes) -> float:
    families = text_string_to_metric_families(exposition.decode())
    return sum(
        s.value for f in families for s in f.samples if s.name == "mockserver_requests_total"
    )


def test_a_scrape_thread_never_folds_the_tally() -> None:
    """Requests add to the tally on the event loop; the scrape's exposition runs in a
    thread. It must leave the tally alone (a fold beside an add counts it twice or fails
    the scrape), so the loop folds first and the thread only reads."""
    metrics = ServerMetrics()
    metrics.tally.add(metrics.requests.labels("chat", "o3-mini", "200", "generator"))
    with ThreadPoolExecutor(1) as pool:
        before = pool.submit(metrics.exposition).result()
    assert metrics.tally.added  # still the loop's to fold
    assert _answered(before) == 0
    metrics.fold_for_scrape()
    assert not metrics.tally.added
    assert _answered(metrics.exposition()) == 1
