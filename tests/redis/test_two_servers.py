"""Two mock servers sharing one Redis are one mock: what a test does through one, the
other sees (two servers, each with its own state object, loop and Redis client)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from mockserver import MockServer
from tests.redis.conftest import two_servers
from tests.redis.server import ValkeyProcess
from tests.support import rawhttp
from tests.support.cli import running

API_VERSION = "2025-04-01-preview"
CHAT = "/openai/deployments/o3-mini/chat/completions"
HELLO = {"messages": [{"role": "user", "content": "hello"}]}


def chat(server: MockServer, content: str = "hello", **headers: str) -> httpx.Response:
    return httpx.post(
        server.url + CHAT,
        params={"api-version": API_VERSION},
        headers={"api-key": "k", **headers},
        json={"messages": [{"role": "user", "content": content}]},
        timeout=30,
    )


QUOTA = {"o3-mini": {"requests_per_minute": 12, "enforce_quota": True}}


@pytest.fixture
def servers(redis_url: str) -> Iterator[tuple[MockServer, MockServer]]:
    with two_servers(redis_url, deployments=QUOTA) as pair:
        yield pair


def test_a_stub_added_on_one_answers_on_the_other(servers: tuple[MockServer, MockServer]) -> None:
    first, second = servers
    first.stub(answer={"content": "shared"}, times=1)
    assert chat(second).json()["choices"][0]["message"]["content"] == "shared"
    assert chat(first).json()["choices"][0]["message"]["content"] != "shared"  # used up
    assert [entry.source.split(":")[0] for entry in first.requests] == ["stub", "generator"]
    assert first.requests == second.requests  # one journal


def test_quota_is_counted_once_for_both(servers: tuple[MockServer, MockServer]) -> None:
    first, second = servers
    # 12 requests a minute: 2 in each 10-second window, whichever server takes them.
    statuses = [chat(server).status_code for server in (first, second, first, second)]
    assert statuses == [200, 200, 429, 429]


def test_a_response_made_on_one_is_continued_on_the_other(
    servers: tuple[MockServer, MockServer],
) -> None:
    first, second = servers
    with first.openai_client(api_key="k") as client:
        made = client.responses.create(model="o3-mini", input="hello")
    with second.openai_client(api_key="k") as client:
        follow = client.responses.create(
            model="o3-mini", input="and then?", previous_response_id=made.id
        )
        assert client.responses.retrieve(made.id).id == made.id
    assert follow.id != made.id


def test_scenarios_and_sessions_cross_and_stay_apart(
    servers: tuple[MockServer, MockServer],
) -> None:
    first, second = servers
    step = {"scenario": "flow", "required_state": "Started", "new_state": "done"}
    first.session("alpha").stub(answer={"content": "step one"}, **step)
    reply = chat(second, **{"x-mock-session": "alpha"}).json()
    assert reply["choices"][0]["message"]["content"] == "step one"
    assert first.session("alpha").scenario_state("flow") == "done"
    assert second.session("beta").requests == [] and second.session("beta").stubs() == []


def test_a_lost_redis_is_a_503_and_service_resumes_by_itself(
    servers: tuple[MockServer, MockServer], redis_server: ValkeyProcess
) -> None:
    first, _ = servers
    redis_server.kill()
    try:
        refused = chat(first)
        assert refused.status_code == 503
        assert refused.json()["error"]["type"] == "server_error"  # Azure's 503, retried
        assert refused.headers["retry-after"] == "1"
        health = httpx.get(first.url + "/__admin/health", timeout=30)
        assert health.status_code == 503 and health.json()["store"] == "down"
    finally:
        redis_server.start()
        redis_server.wait_until_ready()
    assert chat(first).status_code == 200
    assert httpx.get(first.url + "/__admin/health", timeout=30).json()["store"] == "up"


def test_an_unreachable_redis_at_start_is_one_line_without_the_password() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mockserver",
            "serve",
            "--port",
            "0",
            "--state",
            "redis://:s3cret-pass@127.0.0.1:9/0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "s3cret-pass" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.startswith("mockserver:")]
    assert len(lines) == 1 and "127.0.0.1:9" in lines[0]


def test_workers_of_one_server_share_the_redis_state(redis_url: str) -> None:
    with running("--workers", "2", "--state", redis_url) as cli:
        try:
            attached = MockServer.attach(cli.url)
            attached.stub(answer={"content": "from redis"})
            path = f"{CHAT}?api-version={API_VERSION}"
            # A new connection each: SO_REUSEPORT spreads them; until both workers answered
            # (each process names its own azureml-model-session).
            answers: list[str] = []
            workers: set[str] = set()
            while len(workers) < 2 and len(answers) < 400:
                answer = rawhttp.request(cli.url + path, body=HELLO, headers={"api-key": "k"})
                answers.append(answer.json()["choices"][0]["message"]["content"])
                workers.add(answer.headers["azureml-model-session"])
            journal = attached.requests
        finally:
            stopped = cli.stop()
    assert stopped == 0
    assert len(workers) == 2 and set(answers) == {"from redis"}  # the stub, on both
    assert len(journal) == len(answers)  # one journal, whichever worker answered
