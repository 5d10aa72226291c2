"""Settings PATCHed on one process answer on every process sharing the Redis and prefix,
from the very next request (read-your-writes), with no sleep in between."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from mockserver import MockServer
from tests.redis.test_two_servers import API_VERSION, CHAT, HELLO, chat
from tests.support import rawhttp
from tests.support.cli import running
from tests.support.waiting import POLL_BOUND_SECONDS


def content(server: MockServer, text: str = "hello") -> str:
    reply: str = chat(server, text).json()["choices"][0]["message"]["content"]
    return reply


def test_a_seed_patched_on_one_answers_on_the_other_at_once(
    servers: tuple[MockServer, MockServer],
) -> None:
    first, second = servers
    before = content(second)
    for seed in range(1, 6):  # each time, the very next request on the other process
        first.configure(seed=seed)
        assert second.current_settings()["seed"] == seed
        assert content(second) == content(first)
    assert content(second) != before


def test_each_change_adds_to_the_ones_before(servers: tuple[MockServer, MockServer]) -> None:
    first, second = servers
    first.configure(seed=11)
    second.configure(stream_obfuscation=False, region="westus")
    for server in servers:
        shown = server.current_settings()
        assert (shown["seed"], shown["stream_obfuscation"], shown["region"]) == (
            11,
            False,
            "westus",
        )


def test_a_process_started_later_starts_with_the_changes(redis_url: str) -> None:
    with MockServer(state=redis_url) as first:
        first.configure(seed=23, deterministic_ids=True)
        expected = content(first)
    with MockServer(state=redis_url) as later:
        assert later.current_settings()["seed"] == 23
        assert content(later) == expected


def test_prefixes_keep_their_settings_apart(redis_url: str) -> None:
    with (
        MockServer(state=redis_url, state_prefix="one") as one,
        MockServer(state=redis_url, state_prefix="two") as two,
    ):
        one.configure(seed=5)
        assert two.current_settings()["seed"] != 5


def test_a_refused_change_is_shared_with_no_one(servers: tuple[MockServer, MockServer]) -> None:
    first, second = servers
    refused = httpx.patch(
        first.url + "/__admin/settings", json={"stream_chunking": "sideways"}, timeout=30
    )
    assert refused.status_code == 400
    assert second.current_settings()["stream_chunking"] == "token"


def test_a_full_reset_keeps_the_settings(servers: tuple[MockServer, MockServer]) -> None:
    first, second = servers
    first.configure(seed=9)
    second.reset()
    assert first.current_settings()["seed"] == 9 and second.current_settings()["seed"] == 9


def test_workers_of_one_server_share_patched_settings(redis_url: str) -> None:
    with running("--workers", "2", "--state", redis_url) as cli:
        try:
            attached = MockServer.attach(cli.url)
            path = f"{CHAT}?api-version={API_VERSION}"
            seen: dict[int, set[str]] = {}
            for seed in (101, 202):
                attached.configure(seed=seed)
                answers, workers = seen.setdefault(seed, set()), set[str]()
                deadline = time.monotonic() + POLL_BOUND_SECONDS  # a worker may start late
                while len(workers) < 2 and time.monotonic() < deadline:  # each after PATCH
                    answer = rawhttp.request(cli.url + path, body=HELLO, headers={"api-key": "k"})
                    answers.add(answer.json()["choices"][0]["message"]["content"])
                    workers.add(answer.headers["azureml-model-session"])
                assert len(workers) == 2
        finally:
            stopped = cli.stop()
    assert stopped == 0
    assert len(seen[101]) == 1 and len(seen[202]) == 1  # one answer per seed, on both
    assert seen[101] != seen[202]


def test_concurrent_changes_on_two_processes_leave_both_on_the_same_settings(
    servers: tuple[MockServer, MockServer],
) -> None:
    first, second = servers
    with ThreadPoolExecutor(2) as pool:
        for round_ in range(12):  # each round, both PATCH at once; both answer 200
            changes = [
                pool.submit(first.configure, seed=1000 + round_),
                pool.submit(second.configure, seed=2000 + round_),
            ]
            for change in changes:
                change.result()
            seeds = {server.current_settings()["seed"] for server in servers}
            assert seeds in ({1000 + round_}, {2000 + round_})
            assert content(first) == content(second)


def test_restoring_brings_every_process_back_to_its_own_configuration(redis_url: str) -> None:
    with (
        MockServer(state=redis_url, seed=5) as first,
        MockServer(state=redis_url, seed=6) as second,
    ):
        first.configure(seed=9, region="westus")
        assert second.current_settings()["region"] == "westus"
        assert first.restore_settings()["seed"] == 5  # answered once every process restored
        assert (second.current_settings()["seed"], second.current_settings()["region"]) == (
            6,
            "East US 2",  # the default region
        )
    with MockServer(state=redis_url, seed=5) as restarted:  # nothing stored any more
        assert restarted.current_settings()["seed"] == 5


def test_a_stored_change_that_overrides_the_flags_is_logged_at_start(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with MockServer(state=redis_url, seed=5) as first:
        first.configure(seed=7)
    with (
        caplog.at_level(logging.WARNING, logger="mockserver.stores"),
        MockServer(state=redis_url, seed=5) as restarted,
    ):
        assert restarted.current_settings()["seed"] == 7  # shared: the stored change wins
    said = [record.getMessage() for record in caplog.records]
    assert any("seed=7" in line and "DELETE /__admin/settings" in line for line in said), said
