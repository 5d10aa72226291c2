"""GET /metrics: scraped with prometheus-client's own parser after known traffic, counted exactly.

Every test here fails on the code before /metrics existed (the scrape was a 404).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mockserver.admin.metrics import ServerMetrics
from mockserver.config import Deployment
from mockserver.stores.journal import Journal
from mockserver.testing.server import MockServer
from tests.http.helpers import journal_bytes
from tests.replay.helpers import recorder, replayer
from tests.support import rawhttp
from tests.support.cli import running
from tests.support.clients import azure_client

DATED_ROUTE = "/openai/deployments/{deployment}/chat/completions"
API_VERSION = "2025-04-01-preview"
Samples = list[tuple[str, dict[str, str], float]]


def scrape(url: str, headers: dict[str, str] | None = None) -> Samples:
    response = rawhttp.request(url + "/metrics", "GET", headers=headers)
    assert response.status == 200, response.body
    assert response.headers["content-type"].startswith("text/plain")
    text = response.body.decode()
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(
        value
        for sample_name, sample_labels, value in samples
        if sample_name == name and labels.items() <= sample_labels.items()
    )


def azure(server: MockServer, **options: Any) -> openai.AzureOpenAI:
    return azure_client(server, api_key="k", **options)


def ask(client: openai.AzureOpenAI, text: str, **options: Any) -> Any:
    messages: Any = [{"role": "user", "content": text}]
    return client.chat.completions.create(model="o3-mini", messages=messages, **options)


def test_requests_are_counted_by_route_deployment_status_and_engine() -> None:
    with MockServer() as server:
        client = azure(server)
        answers = [ask(client, f"Question {n}?") for n in range(3)]
        server.stub(match={"last_user_message": {"contains": "weather"}}, answer={"content": "Sun"})
        answers.append(ask(client, "The weather?"))
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(
                model="nowhere", messages=[{"role": "user", "content": "hi"}]
            )
        samples = scrape(server.url)
    requests = "mockserver_requests_total"
    ok = {"route": DATED_ROUTE, "deployment": "o3-mini", "status": "200"}
    assert total(samples, requests, **ok, engine="generator") == 3
    assert total(samples, requests, **ok, engine="stub") == 1
    refused = {"deployment": "unknown", "status": "404", "engine": "gateway"}
    assert total(samples, requests, route=DATED_ROUTE, **refused) == 1
    assert total(samples, requests) == 5  # the scrape itself is not counted
    for histogram in ("request_duration_seconds", "time_to_first_byte_seconds"):
        assert total(samples, f"mockserver_{histogram}_count", route=DATED_ROUTE) == 5
    for kind in ("prompt", "completion", "reasoning"):
        returned = sum(_usage(answer, kind) for answer in answers)
        assert returned > 0
        tokens = total(samples, "mockserver_tokens_total", deployment="o3-mini", kind=kind)
        assert tokens == returned


def _usage(answer: Any, kind: str) -> int:
    if kind == "reasoning":
        return int(answer.usage.completion_tokens_details.reasoning_tokens)
    return int(getattr(answer.usage, f"{kind}_tokens"))


def test_a_streamed_answer_counts_the_usage_it_sent() -> None:
    with MockServer() as server:
        stream = ask(
            azure(server), "Stream it", stream=True, stream_options={"include_usage": True}
        )
        usage = [chunk.usage for chunk in stream if chunk.usage is not None][-1]
        samples = scrape(server.url)
    assert total(samples, "mockserver_tokens_total", kind="prompt") == usage.prompt_tokens
    assert total(samples, "mockserver_tokens_total", kind="completion") == usage.completion_tokens


def test_429s_are_counted_by_reason() -> None:
    limits = Deployment(tokens_per_minute=1000, requests_per_minute=6)  # 1 per 10 s window
    with MockServer(enforce_quota=True, deployments={"o3-mini": limits}) as server:
        client = azure(server)
        ask(client, "First")
        outcomes = []
        for options in ({}, {"max_completion_tokens": 5000}):  # calls, then tokens
            try:
                ask(client, "Again", **options)
            except openai.RateLimitError as error:
                outcomes.append(error.response.headers["policy-id"])
        try:
            ask(client, "Faulted", extra_headers={"x-mock-fault": "429"})
        except openai.RateLimitError:
            outcomes.append("fault")
        samples = scrape(server.url)
    assert outcomes == ["DeploymentRatelimit-Call", "DeploymentRatelimit-Token", "fault"]
    for reason in ("requests", "tokens", "fault"):
        assert total(samples, "mockserver_rate_limited_total", reason=reason) == 1
    assert total(samples, "mockserver_requests_total", status="429", engine="fault") == 1
    assert total(samples, "mockserver_requests_total", status="429") == 3


def test_records_written_then_replay_hits_and_misses(tmp_path: Path) -> None:
    with MockServer(seed=7) as upstream, recorder(upstream, tmp_path) as recording:
        client = azure(recording)
        ask(client, "Recorded one")
        ask(client, "Recorded two")
        recorded = scrape(recording.url)
    assert total(recorded, "mockserver_records_written_total") == 2
    assert total(recorded, "mockserver_requests_total", engine="record", status="200") == 2
    assert total(recorded, "mockserver_replay_lookups_total") == 0  # mode "all" looks nothing up
    with replayer(tmp_path) as replaying:
        client = azure(replaying)
        ask(client, "Recorded one")
        with pytest.raises(openai.NotFoundError):
            ask(client, "Never recorded")
        replayed = scrape(replaying.url)
    assert total(replayed, "mockserver_replay_lookups_total", result="hit") == 1
    assert total(replayed, "mockserver_replay_lookups_total", result="miss") == 1
    assert total(replayed, "mockserver_requests_total", engine="replay", status="200") == 1
    assert total(replayed, "mockserver_requests_total", engine="replay", status="404") == 1
    assert total(replayed, "mockserver_records_written_total") == 0


def test_journal_size_is_what_the_journal_holds() -> None:
    with MockServer(journal_capacity=2) as server:
        client = azure(server)
        for n in range(3):
            ask(client, f"Kept {n}?")
        samples = scrape(server.url)
        stored = journal_bytes(server)
    assert total(samples, "mockserver_journal_entries") == 2
    assert total(samples, "mockserver_journal_bytes") == stored > 0


def test_the_admin_token_guards_metrics_and_no_api_key_is_asked() -> None:
    with MockServer(admin_token="metrics-secret", api_keys=["inference-key"]) as server:
        url = server.url + "/metrics"
        assert rawhttp.request(url, "GET").status == 401
        assert rawhttp.request(url, "GET", headers={"api-key": "inference-key"}).status == 401
        wrong = rawhttp.request(url, "GET", headers={"authorization": "Bearer nope"})
        assert wrong.status == 401
        assert b"metrics-secret" not in wrong.body
        scrape(server.url, {"authorization": "Bearer metrics-secret"})
        samples = scrape(server.url, {"x-mock-admin-token": "metrics-secret"})
        assert server.requests == []  # scrapes are neither journaled nor counted
    assert total(samples, "mockserver_requests_total") == 0
    with MockServer(api_keys=["inference-key"]) as open_server:
        scrape(open_server.url)  # no admin token: open, and no API key asked


def test_any_worker_scraped_reports_every_worker_traffic() -> None:
    with running("--workers", "2") as cli:
        try:
            sent = _spread_traffic(cli.url)
            scrapes = [scrape(cli.url) for _ in range(8)]
        finally:  # SIGTERM, so the first process stops its workers too
            stopped = cli.stop()
    assert stopped == 0
    for samples in scrapes:
        assert total(samples, "mockserver_requests_total", status="200") == sent
        assert total(samples, "mockserver_journal_entries") == sent


def test_a_request_in_flight_on_a_worker_is_seen_by_any_scrape() -> None:
    """With --workers, a process writes its counts to its files once a loop turn has run
    (not on every request): a request waiting for its answer is in flight there at once,
    and no longer once its answer has come, whichever process is scraped."""
    path = f"/openai/deployments/o3-mini/chat/completions?api-version={API_VERSION}"
    slow = {"api-key": "k", "x-mock-latency": "ttft_ms=3000"}
    body = {"messages": [{"role": "user", "content": "Slow?"}]}
    with running("--workers", "2") as cli, ThreadPoolExecutor(1) as pool:
        try:
            answer = pool.submit(rawhttp.request, cli.url + path, body=body, headers=slow)
            seen = [_in_flight(cli.url) for _ in range(100) if not answer.done()]
            assert answer.result(timeout=30).status == 200
            after = [_in_flight(cli.url) for _ in range(8)]
        finally:
            stopped = cli.stop()
    assert stopped == 0
    assert 1 in seen and max(seen) == 1  # shown while its answer waited, counted once
    assert after == [0] * 8


def test_a_fold_that_fails_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """A fold runs just before a held answer is written: files that cannot be written
    must not cost the client its answer."""
    metrics = ServerMetrics()

    def unreadable() -> Journal:
        raise OSError("no space left on device")

    metrics.own_journal = unreadable
    metrics.fold_due = True
    with caplog.at_level(logging.ERROR, logger="mockserver"):
        metrics.fold_due_now()
    assert metrics.fold_due is False
    assert "metrics to their files failed" in caplog.text


def _in_flight(url: str) -> float:
    return total(scrape(url), "mockserver_requests_in_flight")


def _spread_traffic(url: str, most: int = 400) -> int:
    """Requests (a new connection each: SO_REUSEPORT spreads them) until both workers
    have answered some, as their journals show; the second one starts a little later."""
    path = f"/openai/deployments/o3-mini/chat/completions?api-version={API_VERSION}"
    for sent in range(1, most + 1):
        body = {"messages": [{"role": "user", "content": f"Worker {sent}?"}]}
        assert rawhttp.request(url + path, body=body, headers={"api-key": "k"}).status == 200
        sizes = {_journal_size(url) for _ in range(8)} if sent % 8 == 0 else set()
        if len(sizes) == 2 and 0 not in sizes:
            assert sum(sizes) == sent  # each process journals its own share
            return sent
    raise AssertionError(f"{most} requests all reached one worker")


def _journal_size(url: str) -> int:
    return int(rawhttp.request(url + "/__admin/requests", "GET").json()["count"])
