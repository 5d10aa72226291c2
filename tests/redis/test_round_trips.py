"""What a chat completion costs on Redis, in round trips (each a command, script or
pipeline sent and answered), counted in redis-py; and the quota headers it gives are
the memory state's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from redis.asyncio.connection import Connection

from mockserver import MockServer
from mockserver.stores.redis.pipelined import Arg, ReplyProtocol
from tests.redis.test_two_servers import chat

# Quota admit (its snapshot gives the headers), journal record. "Any stubs?" is known in
# the process while the session has none (stubless.py).
W1_ROUND_TRIPS = 2
QUOTA_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every command (or pipeline) this process sends to Redis: on redis-py's connections
    and on the pipelined line (pipelined.py), whose commands of one request are each
    awaited before the next is sent (the journal's record a late command, made as the
    turn is written)."""
    commands: list[Any] = []
    send = Connection.send_packed_command

    async def counted(self: Connection, command: Any, check_health: bool = True) -> None:
        commands.append(command)
        await send(self, command, check_health)

    def counted_on_line(self: ReplyProtocol, args: tuple[Arg, ...]) -> asyncio.Future[Any]:
        commands.append(args)
        return line_send(self, args)

    def counted_late(
        self: ReplyProtocol, command: Callable[[], tuple[Arg, ...]]
    ) -> asyncio.Future[Any]:
        commands.append(command)  # made when the turn is written: one, however many join
        return line_send_late(self, command)

    line_send, line_send_late = ReplyProtocol.send, ReplyProtocol.send_late
    monkeypatch.setattr(Connection, "send_packed_command", counted)
    monkeypatch.setattr(ReplyProtocol, "send", counted_on_line)
    monkeypatch.setattr(ReplyProtocol, "send_late", counted_late)
    yield commands


def test_a_chat_completion_takes_two_round_trips(redis_url: str, sent: list[Any]) -> None:
    with MockServer(state=redis_url) as server:
        chat(server)  # scripts loaded
        sent.clear()
        for _ in range(10):
            assert chat(server).status_code == 200
        assert len(sent) == 10 * W1_ROUND_TRIPS


def quota_headers(server: MockServer) -> list[tuple[str, ...]]:
    answers = [chat(server) for _ in range(4)]
    return [tuple(answer.headers[name] for name in QUOTA_HEADERS) for answer in answers]


def test_the_quota_headers_are_the_memory_states(redis_url: str) -> None:
    deployments = {"o3-mini": {"requests_per_minute": 60, "tokens_per_minute": 5000}}
    with MockServer(state=redis_url, deployments=deployments) as shared:
        on_redis = quota_headers(shared)
    with MockServer(deployments=deployments) as alone:
        in_memory = quota_headers(alone)
    assert on_redis == in_memory


def test_a_refused_request_has_the_headers_of_its_refusal(redis_url: str) -> None:
    deployments = {"o3-mini": {"requests_per_minute": 6, "enforce_quota": True}}
    with MockServer(state=redis_url, deployments=deployments) as server:
        assert chat(server).status_code == 200
        refused = chat(server)
        assert refused.status_code == 429
        assert refused.headers["x-ratelimit-remaining-requests"] == "5"
        quota = httpx.get(server.url + "/__admin/quota", timeout=30).json()
        assert quota["deployments"]["o3-mini"]["requests_last_minute"] == 1


def test_a_stub_added_on_one_answers_at_once_where_none_was_known(
    servers: tuple[MockServer, MockServer],
) -> None:
    first, second = servers
    for session in ("default", "alpha"):
        headers = {} if session == "default" else {"x-mock-session": session}
        assert chat(second, **headers).status_code == 200  # second: the session has none
        first.session(session).stub(answer={"content": "now one"})
        assert chat(second, **headers).json()["choices"][0]["message"]["content"] == "now one"
        first.session(session).reset()  # none again: second asks, then knows
        assert chat(second, **headers).json()["choices"][0]["message"]["content"] != "now one"
        first.session(session).stub(answer={"content": "and again"})
        reply = chat(second, **headers).json()["choices"][0]["message"]["content"]
        assert reply == "and again"


def first_answer_quota(server: MockServer) -> dict[str, str]:
    """The x-ratelimit-* headers of a first answer, through the openai SDK: all of them,
    the resets included. Its prompt is 14 tokens, as openllmetry's 2026 answers charged."""
    with server.openai_client(api_key="k", max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="o3-mini",
            messages=[{"role": "user", "content": "Tell me a short joke about rate limits"}],
        )
    return {name: value for name, value in raw.headers.items() if name.startswith("x-ratelimit")}


def test_a_first_answers_quota_headers_through_the_sdk_are_the_memory_states(
    redis_url: str,
) -> None:
    # The limits of openllmetry's recorded deployment (2026-03), whose first answers read
    # remaining 119 and 119986, reset 500 and 7 (ms to give back 1 request and 14 tokens).
    deployments = {"o3-mini": {"requests_per_minute": 120, "tokens_per_minute": 120_000}}
    with MockServer(state=redis_url, deployments=deployments) as shared:
        on_redis = first_answer_quota(shared)
    with MockServer(deployments=deployments) as alone:
        in_memory = first_answer_quota(alone)
    assert on_redis["x-ratelimit-remaining-tokens"] == "119986"
    assert on_redis["x-ratelimit-remaining-requests"] == "119"
    assert on_redis["x-ratelimit-reset-tokens"] == "7"
    assert on_redis["x-ratelimit-reset-requests"] == "500"
    assert on_redis == in_memory
