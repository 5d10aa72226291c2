"""Prometheus metrics: what the mock saw, for a load test's Prometheus and Grafana.

`GET /metrics` answers in Prometheus's text format (written by `prometheus-client`),
behind the admin token when one is set, never behind an API key. Labels stay bounded:
the route template (not the raw path), a configured deployment or "unknown", the status
code, and the engine that answered.

One process: each app keeps its own registry, so two servers in one process (tests) count
apart. `--workers N`: the first process sets PROMETHEUS_MULTIPROC_DIR before any worker
starts (`use_multiprocess_dir`); every process writes its values to files there and a
scrape on any of them sums all (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import NamedTuple, TypeVar, cast

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector

from mockserver.admin.token import check_admin_token
from mockserver.contract.errors import AzureError
from mockserver.engines.reply import Usage
from mockserver.http.exchange import Answered, Exchange, Timing, exchange_of
from mockserver.http.keys import ERROR_NAME, STATE
from mockserver.pipeline import Trace
from mockserver.state import AppState
from mockserver.stores.journal import Journal
from mockserver.stores.memory.journal import MemoryJournal

log = logging.getLogger("mockserver")

METRICS_PATH = "/metrics"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# From a fast stub answer to a minute-long simulated stream (`latency`, `x-mock-latency`).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
FIRST_BYTE = web.RequestKey("first_byte_at", float)
_RATE_LIMIT_REASONS = {"rate_limit_tokens": "tokens", "rate_limit_requests": "requests"}


Metric = TypeVar("Metric", bound=MetricWrapperBase)


class LabelledChildren:
    """Each metric's labelled children by their label values. prometheus-client's
    `labels()` checks the values and takes a lock on every call (six a request); a dict hit
    does neither and returns the same child. The labels are bounded (see above), so is this."""

    def __init__(self) -> None:
        self.known: dict[tuple[MetricWrapperBase, tuple[str, ...]], MetricWrapperBase] = {}

    def of(self, metric: Metric, *values: str) -> Metric:
        child = self.known.get((metric, values))
        if child is None:
            child = self.known[(metric, values)] = metric.labels(*values)
        return cast(Metric, child)


class Tally:
    """What requests added to the metrics since the last fold, as plain numbers by labelled
    child. A request touched ten of prometheus-client's values, each behind a lock (a fifth
    of the lane's CPU a request); a dict's increment is a fraction of that. One process
    folds the tally into the metrics when they are read (a scrape); with `--workers`, where
    a scrape on another process reads this one's files, after every request."""

    def __init__(self) -> None:
        self.added: dict[Counter, float] = {}
        self.observed: dict[Histogram, list[float]] = {}  # per bucket, then the sum

    def add(self, child: Counter, amount: float = 1) -> None:
        self.added[child] = self.added.get(child, 0) + amount

    def observe(self, child: Histogram, value: float) -> None:
        counts = self.observed.get(child)
        if counts is None:
            counts = self.observed[child] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        counts[bisect_left(LATENCY_BUCKETS, value)] += 1  # the last bucket is +Inf
        counts[-1] += value

    def fold(self) -> None:
        """Into prometheus-client's values: a counter's `inc`, a histogram's buckets and
        sum as its `observe` adds to them, once per child for all the tally holds."""
        added, observed = self.added, self.observed
        self.added, self.observed = {}, {}
        for counter, amount in added.items():
            counter.inc(amount)
        for histogram, counts in observed.items():
            for bucket, count in zip(histogram._buckets, counts, strict=False):
                if count:
                    bucket.inc(count)
            histogram._sum.inc(counts[-1])


class Row(NamedTuple):
    """What one kind of answer (route, deployment, status, engine) counts into."""

    requests: Counter
    first_byte: Histogram
    duration: Histogram


class ServerMetrics:
    """The metrics of one server; in multiprocess mode, this process's share of them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = self._counter(
            "requests", "Requests answered", ("route", "deployment", "status", "engine")
        )
        self.tokens = self._counter("tokens", "Tokens in answers' usage", ("deployment", "kind"))
        self.first_byte = self._histogram("time_to_first_byte_seconds", "Until headers sent")
        self.duration = self._histogram("request_duration_seconds", "Until the answer ended")
        self.rate_limited = self._counter(
            "rate_limited", "429 answers by reason", ("deployment", "reason")
        )
        self.replay = self._counter("replay_lookups", "Fixture lookups", ("result",))
        self.records = self._counter("records_written", "Interactions recorded", ())
        self.journal_entries = self._gauge("journal_entries", "Requests the journal holds")
        self.journal_bytes = self._gauge("journal_bytes", "Bytes the journal's entries count")
        self.in_flight = self._gauge("requests_in_flight", "Requests being handled now")
        self.children = LabelledChildren()
        # Whether these metrics write to files (`--workers`): decided now, as
        # prometheus-client decided it for each metric just made (one look at os.environ,
        # not one per request).
        self.in_files = MULTIPROC_ENV in os.environ
        self.tally = Tally()
        # Labels are bounded (above), so are these.
        self.rows: dict[tuple[str, str, str, str], Row] = {}
        self.token_children: dict[str, tuple[Counter, Counter, Counter]] = {}
        self.answering = 0  # requests in flight, read when the gauge is (one process)
        self.fold_due = False  # with --workers: counts not yet in this process's files
        # With --workers and each process's own journal: that journal, whose size a fold
        # writes to the files (set by `install_metrics`).
        self.own_journal: Callable[[], Journal] | None = None
        if not self.in_files:
            self.in_flight.set_function(lambda: self.answering)

    def started(self) -> None:
        """A request is in flight (one process: a count the gauge reads at a scrape)."""
        self.answering += 1
        if self.in_files:
            self.fold_soon()

    def ended(self) -> None:
        self.answering -= 1
        if self.in_files:
            self.fold_soon()

    def fold_soon(self) -> None:
        """With --workers, a scrape on any process reads this one's files: what it counted
        goes there once this loop turn's callbacks have run, and before any answer the lane
        holds is written (`fold_due_now`). Each value written to the files takes a lock and
        a check of the pid: folded after every request, that was ~15 us of one."""
        if not self.fold_due:
            self.fold_due = True
            asyncio.get_running_loop().call_soon(self.fold_due_now)

    def fold_due_now(self) -> None:
        """On the loop (it reads the sessions' stores). Never raises: it runs before an
        answer is written, and counts that cannot be written must not lose the answer."""
        if not self.fold_due:
            return
        self.fold_due = False
        try:
            self.tally.fold()
            self.in_flight.set(self.answering)
            journal = None if self.own_journal is None else self.own_journal()
            if isinstance(journal, MemoryJournal):  # the other workers' are in their files
                entries, stored_bytes = journal.counts()
                self.journal_entries.set(entries)
                self.journal_bytes.set(stored_bytes)
        except Exception:
            log.exception("writing this process's metrics to their files failed")

    def _counter(self, name: str, doc: str, labels: tuple[str, ...]) -> Counter:
        return Counter(f"mockserver_{name}", doc, labels, registry=self.registry)

    def _histogram(self, name: str, doc: str) -> Histogram:
        return Histogram(
            f"mockserver_{name}", doc, ("route",), registry=self.registry, buckets=LATENCY_BUCKETS
        )

    def _gauge(self, name: str, doc: str) -> Gauge:
        # livesum: across workers, the journals of the processes still running, added up.
        return Gauge(f"mockserver_{name}", doc, registry=self.registry, multiprocess_mode="livesum")

    def row(self, route: str, deployment: str, status: str, engine: str) -> Row:
        """The children an answer of this kind counts into, looked up once per kind."""
        key = (route, deployment, status, engine)
        row = self.rows.get(key)
        if row is None:
            of = self.children.of
            requests = of(self.requests, *key)
            row = self.rows[key] = Row(
                requests, of(self.first_byte, route), of(self.duration, route)
            )
        return row

    def count_tokens(self, deployment: str, usage: Usage) -> None:
        kinds = self.token_children.get(deployment)
        if kinds is None:
            of = self.children.of
            kinds = self.token_children[deployment] = (
                of(self.tokens, deployment, "prompt"),
                of(self.tokens, deployment, "completion"),
                of(self.tokens, deployment, "reasoning"),
            )
        add = self.tally.add
        add(kinds[0], usage.prompt_tokens)
        add(kinds[1], usage.completion_tokens)
        add(kinds[2], usage.reasoning_tokens)

    async def show_journal(self, journal: Journal) -> None:
        try:
            self.journal_entries.set(await journal.size())
            self.journal_bytes.set(await journal.stored_bytes())
        except AzureError:  # a shared store that does not answer: the last values stand
            return

    def fold_for_scrape(self) -> None:
        """What requests added, into the values a scrape reads. On the loop, the one thread
        that adds to the tally: folded from the scrape's thread, an add that ran beside the
        fold could land in the emptied tally again (counted twice) or change the one being
        read (the scrape failing)."""
        if self.in_files:
            self.fold_due = True  # whatever is due or not: the scrape reads the files now
            self.fold_due_now()
        else:
            self.tally.fold()

    def exposition(self) -> bytes:
        """The text a scrape gets: this registry, or every process's files (read off the
        loop; `fold_for_scrape` first, on it)."""
        directory = os.environ.get(MULTIPROC_ENV)
        if directory is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(merged)


METRICS = web.AppKey("metrics", ServerMetrics)


@contextmanager
def multiprocess_dir() -> Iterator[Path]:
    """A fresh directory for every worker's metric files, removed when the workers end.

    Set before the workers start (they inherit the environment); this process imported
    prometheus-client already, so its value class is chosen again to write files too.
    """
    with TemporaryDirectory(prefix="mockserver-metrics-") as directory:
        os.environ[MULTIPROC_ENV] = directory
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
        try:
            yield Path(directory)
        finally:
            del os.environ[MULTIPROC_ENV]
            values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def install_metrics(app: web.Application) -> None:
    """The /metrics route; the app's prepare hook calls `note_first_byte`."""
    metrics = app[METRICS] = ServerMetrics()
    state = app[STATE]
    state.recordings.observer = RecordingCounts(metrics)
    if metrics.in_files and not state.settings.store.shared:
        # Each worker's own journal, summed across workers (livesum): the other workers'
        # values are in their files, so each keeps its own up to date. One process, or a
        # shared journal, is read when /metrics is (the values exact at the scrape).
        metrics.own_journal = lambda: state.stores().journal
    app.router.add_get(METRICS_PATH, metrics_page)


async def metrics_page(request: web.Request) -> web.StreamResponse:
    check_admin_token(request)
    metrics = request.app[METRICS]
    await metrics.show_journal(request.app[STATE].stores().journal)  # it may have changed since
    metrics.fold_for_scrape()
    body = await asyncio.to_thread(metrics.exposition)  # files are read in multiprocess mode
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def note_first_byte(request: web.Request) -> None:
    """When the answer's headers go out (a stream's before it ends)."""
    request[FIRST_BYTE] = time.perf_counter()


async def counted(
    request: web.Request,
    metrics: ServerMetrics,
    state: AppState,
    answering: Awaitable[web.StreamResponse],
) -> web.StreamResponse:
    """`answering` awaited (at once), and the inference request counted as it was answered.
    The outermost step: the counts see each answer as it went out."""
    started = time.perf_counter()
    metrics.started()
    try:
        response = await answering
    finally:
        metrics.ended()
    # A plain answer is sent once this returns: its first byte goes out now.
    ended = time.perf_counter()
    # Noted when the headers went out if that was before now (a stream's).
    first_byte = request.get(FIRST_BYTE, ended) if response.prepared else ended
    error = response.get(ERROR_NAME, "") if len(response) else ""  # most carry no keys
    answered = Answered(response.status, response.prepared, error)
    timing = Timing(started, first_byte, ended)
    observe(metrics, state, exchange_of(request), answered, timing)
    return response


def observe(
    metrics: ServerMetrics,
    state: AppState,
    seen: Exchange,
    answered: Answered,
    times: Timing,
    held: bool = False,
) -> None:
    """Count one inference request as it was answered. `held`: its answer is one the lane
    holds, which is written after the counts are in the files (with --workers)."""
    _observe(metrics, state, seen, answered, times)
    if not metrics.in_files:
        return  # folded when read
    metrics.fold_soon()
    if not held:  # its answer goes now: a scrape on another process must see it counted
        metrics.fold_due_now()


def _observe(
    metrics: ServerMetrics, state: AppState, seen: Exchange, answered: Answered, times: Timing
) -> None:
    trace, route = seen.trace, seen.route
    deployment = _deployment(seen, state.settings.deployments)
    # The status code, or "0" for a connection dropped before any answer (as journaled).
    status = str(answered.status) if answered.sent or not seen.disconnected else "0"
    engine = _engine(trace)
    row, tally = metrics.row(route, deployment, status, engine), metrics.tally
    tally.add(row.requests)
    tally.observe(row.first_byte, times.first_byte - times.started)
    tally.observe(row.duration, times.ended - times.started)
    if status == "429":
        reason = _rate_limit_reason(answered, engine)
        tally.add(metrics.children.of(metrics.rate_limited, deployment, reason))
    if trace is not None and trace.usage is not None and answered.status < 400:
        metrics.count_tokens(deployment, trace.usage)


def _deployment(seen: Exchange, configured: Mapping[str, object]) -> str:
    name = (seen.trace.deployment if seen.trace else "") or seen.deployment_in_path
    return name if name in configured else "unknown"


def _engine(trace: Trace | None) -> str:
    """Who answered: a fault, a stub, a fixture (replay), the upstream (record), the
    generator, or the gateway (refused before any engine)."""
    if trace is not None and trace.fault is not None:
        return "fault"
    source = trace.source if trace is not None else "gateway"
    if source.startswith("stub:"):
        return "stub"
    if source.startswith("fixture"):  # "fixture:<file>" and "fixture-miss"
        return "replay"
    return "record" if source == "upstream" else source


def _rate_limit_reason(answered: Answered, engine: str) -> str:
    """tokens or requests (the quota), fault (x-mock-fault, chaos), or who answered it."""
    if engine == "fault":
        return "fault"
    return _RATE_LIMIT_REASONS.get(answered.error_name, engine)


class RecordingCounts:
    """Counts fixture lookups (hit or miss) and recordings written, told by the engines."""

    def __init__(self, metrics: ServerMetrics) -> None:
        self.metrics = metrics

    def replayed(self, hit: bool) -> None:
        metrics = self.metrics
        metrics.tally.add(metrics.children.of(metrics.replay, "hit" if hit else "miss"))
        if metrics.in_files:
            metrics.fold_soon()

    def recorded(self) -> None:
        self.metrics.records.inc()
