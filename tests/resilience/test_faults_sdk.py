"""Injected faults through the real `openai` SDK: what it raises, and how its retries fare.

`x-mock-fault` asks for a fault; `x-mock-fault-count: N` with `x-mock-fault-id` limits it to
the first N requests carrying that id, so "429 once, then success" survives the SDK's
retries (it resends the same headers). The journal shows every attempt the SDK made.
Stream faults (cut-stream, stream-error) are covered in tests/stream/test_faults.py.
"""

from __future__ import annotations

import http.client
import math
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest

from mockserver.testing.server import MockServer
from tests.resilience.helpers import entries_for, fault, statuses
from tests.support import rawhttp
from tests.support.chat import API_VERSION, DEPLOYMENT
from tests.support.clients import azure_client
from tests.support.rawhttp import post_chat

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
BODY: dict[str, Any] = {"messages": MESSAGES}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TOKEN_429 = (
    "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
    f"{API_VERSION} have exceeded token rate limit of your current AIServices S0 pricing tier. "
    "Please retry after {n} seconds. Please contact Azure support service if you would like "
    "to further increase the default rate limit."
)
SERVER_ERROR = (
    "The server had an error while processing your request. Sorry about that! You can retry "
    "your request, or contact us through an Azure support request at: "
    "https://go.microsoft.com/fwlink/?linkid=2213926 if the error persists. "
    "(Please include the request ID {request_id} in your message.)"
)
UNAVAILABLE = "The service is temporarily unable to process your request. Please try again later."
CAPACITY = (
    "The system is currently experiencing high demand and cannot process your request. Your "
    "request exceeds the maximum usage size allowed during peak load. Please retry after {n} "
    "seconds. For improved latency reliability, consider switching to Provisioned Throughput."
)


class _Shared:
    """One HTTP client for every SDK client here: each new one would build a TLS context.
    It is the SDK's own transport (openai 3.x is built on httpx2), as by default."""

    http: httpx2.Client | None = None


@pytest.fixture(scope="module", autouse=True)
def _shared_http_client() -> Iterator[None]:
    _Shared.http = httpx2.Client()
    yield
    _Shared.http.close()
    _Shared.http = None


def client_for(server: MockServer, retries: int = 0, timeout: float = 30.0) -> openai.AzureOpenAI:
    assert _Shared.http is not None
    return azure_client(server, max_retries=retries, timeout=timeout, http_client=_Shared.http)


def create(client: openai.AzureOpenAI, headers: dict[str, str], **extra: Any) -> Any:
    return client.chat.completions.create(
        model=DEPLOYMENT, messages=MESSAGES, extra_headers=headers, **extra
    )


@pytest.fixture(autouse=True)
def _no_server_failures(server: MockServer) -> Iterator[None]:
    server.take_failures()
    yield
    failures = server.take_failures()
    assert not failures, f"the mock server failed while answering: {failures!r}"


# --- 429 ----------------------------------------------------------------------------------------


def test_429_once_then_success_with_retries(server: MockServer) -> None:
    headers, fault_id = fault("429", count=1)
    reply = create(client_for(server, retries=2), headers)
    assert reply.choices[0].finish_reason == "stop"
    assert reply.choices[0].message.content
    # Exactly two attempts: the SDK waited for retry-after-ms, retried once, and stopped.
    assert statuses(server, fault_id, 2) == [429, 200]


def test_injected_429_carries_retry_after(server: MockServer) -> None:
    headers, _ = fault("429")
    response = post_chat(server, BODY, headers=headers)
    assert response.status == 429
    assert response.headers["retry-after-ms"] == "10"  # fault_retry_after_ms: quick retries
    assert response.headers["retry-after"] == "1"
    assert response.json() == {"error": {"code": "429", "message": TOKEN_429.format(n=1)}}


def test_injected_429_retry_after_follows_the_setting() -> None:
    with MockServer(fault_retry_after_ms=2500) as slow:
        headers, _ = fault("429")
        response = post_chat(slow, BODY, headers=headers)
    assert response.status == 429
    assert response.headers["retry-after-ms"] == "2500"
    assert response.headers["retry-after"] == "3"
    assert response.json()["error"]["message"] == TOKEN_429.format(n=3)


def test_429_without_a_count_exhausts_the_retries(server: MockServer) -> None:
    headers, fault_id = fault("429")
    with pytest.raises(openai.RateLimitError) as caught:
        create(client_for(server, retries=2), headers)
    error = caught.value
    assert error.status_code == 429
    assert error.code == "429"
    assert error.type is None
    seconds = int(error.response.headers["retry-after"])
    assert error.body == {"code": "429", "message": TOKEN_429.format(n=seconds)}
    assert error.message == "Error code: 429 - " + TOKEN_429.format(n=seconds)
    assert statuses(server, fault_id, 3) == [429, 429, 429]  # the first try and two retries


def test_fault_count_two_needs_two_retries(server: MockServer) -> None:
    headers, fault_id = fault("429", count=2)
    with pytest.raises(openai.RateLimitError):
        create(client_for(server, retries=1), headers)
    assert statuses(server, fault_id, 2) == [429, 429]
    # The count is used up: the same id now goes through, even without retries.
    assert create(client_for(server), headers).choices
    assert statuses(server, fault_id, 3) == [429, 429, 200]


def test_fault_ids_are_counted_apart(server: MockServer) -> None:
    first, first_id = fault("500", count=1)
    second, second_id = fault("500", count=1)
    with pytest.raises(openai.InternalServerError):
        create(client_for(server), first)
    with pytest.raises(openai.InternalServerError):
        create(client_for(server), second)
    assert create(client_for(server), first).choices
    assert statuses(server, first_id, 2) == [500, 200]
    assert statuses(server, second_id, 1) == [500]


def test_429_once_on_a_stream_then_the_stream(server: MockServer) -> None:
    headers, fault_id = fault("429", count=1)
    stream = create(client_for(server, retries=2), headers, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text
    assert statuses(server, fault_id, 2) == [429, 200]


# --- 500, 503 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried(server: MockServer, status: int) -> None:
    headers, fault_id = fault(str(status), count=1)
    reply = create(client_for(server, retries=2), headers)
    assert reply.choices[0].message.content
    assert statuses(server, fault_id, 2) == [status, 200]


def test_500_raises_internal_server_error_with_azure_body(server: MockServer) -> None:
    headers, fault_id = fault("500")
    with pytest.raises(openai.InternalServerError) as caught:
        create(client_for(server), headers)
    error = caught.value
    assert error.status_code == 500
    request_id = error.response.headers["apim-request-id"]
    assert UUID.fullmatch(request_id)
    message = SERVER_ERROR.format(request_id=request_id)
    assert error.body == {"message": message, "type": "server_error", "param": None, "code": None}
    assert error.type == "server_error"
    assert error.code is None
    assert error.message == "Error code: 500 - " + message
    assert statuses(server, fault_id, 1) == [500]


def test_503_raises_internal_server_error_with_azure_body(server: MockServer) -> None:
    headers, fault_id = fault("503")
    with pytest.raises(openai.InternalServerError) as caught:
        create(client_for(server), headers)
    error = caught.value
    assert error.status_code == 503
    assert error.body == {
        "message": UNAVAILABLE,
        "type": "server_error",
        "param": None,
        "code": None,
    }
    assert error.response.headers["retry-after"] == "1"
    assert error.response.headers["retry-after-ms"] == "10"
    assert statuses(server, fault_id, 1) == [503]


def test_500_exhausts_retries(server: MockServer) -> None:
    headers, fault_id = fault("500")
    with pytest.raises(openai.InternalServerError):
        create(client_for(server, retries=1), headers)
    assert statuses(server, fault_id, 2) == [500, 500]


def test_400_is_not_retried(server: MockServer) -> None:
    headers, fault_id = fault("400")
    with pytest.raises(openai.BadRequestError) as caught:
        create(client_for(server, retries=2), headers)
    assert caught.value.body == {"code": "400", "message": "Bad Request"}
    assert statuses(server, fault_id, 1) == [400]


# --- capacity -----------------------------------------------------------------------------------


def test_capacity_is_a_rate_limit_error_about_high_demand(server: MockServer) -> None:
    headers, fault_id = fault("capacity")
    with pytest.raises(openai.RateLimitError) as caught:
        create(client_for(server), headers)
    error = caught.value
    assert "high demand" in error.message
    assert error.code == "429"
    seconds = int(error.response.headers["retry-after"])
    assert math.ceil(int(error.response.headers["retry-after-ms"]) / 1000) == seconds
    assert error.body == {"code": "429", "message": CAPACITY.format(n=seconds)}
    # Not the deployment's quota: no policy naming a deployment rate limit.
    assert "policy-id" not in error.response.headers
    assert statuses(server, fault_id, 1) == [429]


def test_capacity_once_then_success(server: MockServer) -> None:
    headers, fault_id = fault("capacity", count=1)
    assert create(client_for(server, retries=2), headers).choices
    assert statuses(server, fault_id, 2) == [429, 200]


# --- connection faults --------------------------------------------------------------------------


def test_reset_is_a_connection_error(server: MockServer) -> None:
    headers, fault_id = fault("reset")
    with pytest.raises(openai.APIConnectionError) as caught:
        create(client_for(server), headers)
    assert not isinstance(caught.value, openai.APITimeoutError)
    assert len(statuses(server, fault_id, 1)) == 1


def test_reset_once_then_success(server: MockServer) -> None:
    headers, fault_id = fault("reset", count=1)
    assert create(client_for(server, retries=2), headers).choices
    answered = statuses(server, fault_id, 2)
    assert len(answered) == 2
    assert answered[-1] == 200


def test_truncate_is_a_connection_error(server: MockServer) -> None:
    headers, _ = fault("truncate")
    with pytest.raises(openai.APIConnectionError) as caught:
        create(client_for(server), headers)
    assert not isinstance(caught.value, openai.APITimeoutError)


def test_truncate_sends_half_the_announced_body(server: MockServer) -> None:
    headers, _ = fault("truncate")
    with pytest.raises(http.client.IncompleteRead) as caught:
        post_chat(server, BODY, headers=headers)
    partial, expected = caught.value.partial, caught.value.expected
    assert partial.startswith(b"{")
    assert expected is not None and expected > 0
    # Half the announced body, rounded down; `expected` counts the bytes still missing.
    assert expected in {len(partial), len(partial) + 1}


def test_garbage_breaks_the_sdk_decoding(server: MockServer) -> None:
    headers, fault_id = fault("garbage")
    # The body is not UTF-8; the SDK decodes it as text and lets the decoder's error through.
    with pytest.raises(UnicodeDecodeError):
        create(client_for(server), headers)
    assert statuses(server, fault_id, 1) == [200]


def test_garbage_body_is_neither_utf8_nor_json(server: MockServer) -> None:
    headers, _ = fault("garbage")
    response = post_chat(server, BODY, headers=headers)
    assert response.status == 200
    assert response.body.startswith(b'{"')
    with pytest.raises(UnicodeDecodeError):
        response.body.decode("utf-8")
    with pytest.raises(ValueError, match=r"."):
        response.json()


@pytest.fixture(scope="module")
def hang_server() -> Iterator[MockServer]:
    """`hang` here gives up on its own after 5 s, so the server can always stop."""
    with MockServer(fault_hang_seconds=5) as running:
        yield running


def test_hang_times_the_client_out(hang_server: MockServer) -> None:
    headers, _ = fault("hang")
    with pytest.raises(openai.APITimeoutError):
        create(client_for(hang_server, timeout=1.0), headers)


@pytest.fixture(scope="module")
def short_hang_server() -> Iterator[MockServer]:
    with MockServer(fault_hang_seconds=0.2) as running:
        yield running


def test_hang_ends_in_azure_408_after_its_bound(short_hang_server: MockServer) -> None:
    headers, fault_id = fault("hang")
    with pytest.raises(openai.APIStatusError) as caught:
        create(client_for(short_hang_server), headers)
    error = caught.value
    assert error.status_code == 408
    assert error.body == {"code": "Timeout", "message": "The operation was timeout."}
    assert error.response.content == (
        b'{ "error": { "code": "Timeout", "message": "The operation was timeout." } }'
    )
    assert statuses(short_hang_server, fault_id, 1) == [408]


def test_hang_once_then_success(short_hang_server: MockServer) -> None:
    headers, fault_id = fault("hang", count=1)
    assert create(client_for(short_hang_server, retries=2), headers).choices
    assert statuses(short_hang_server, fault_id, 2) == [408, 200]


@pytest.mark.parametrize("kind", ["truncate", "garbage"])
def test_body_faults_on_a_stream_are_not_silently_ignored(server: MockServer, kind: str) -> None:
    """A test that asks for a fault must get one (or be told the fault does not apply):
    a streamed request with `truncate`/`garbage` must not come back as a whole, clean stream."""
    headers, _ = fault(kind)
    with pytest.raises((openai.APIError, UnicodeDecodeError, ValueError)):
        stream = create(client_for(server), headers, stream=True)
        for _ in stream:
            pass


@pytest.mark.parametrize("kind", ["reset", "hang"])
def test_journal_does_not_record_an_unanswered_request_as_a_200(
    hang_server: MockServer, kind: str
) -> None:
    """The journal says how each request ended: one that got no answer at all (the server
    dropped it, or the client gave up waiting) must not read as answered with a 200."""
    headers, fault_id = fault(kind)
    with pytest.raises(openai.APIConnectionError):
        create(client_for(hang_server, timeout=0.5), headers)
    (entry,) = entries_for(hang_server, fault_id, 1)
    assert entry.disconnected or entry.status != 200, (entry.status, entry.disconnected)


# --- bad headers, admin -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "quoted"),
    [
        ("x-mock-fault", "boom", "'boom'"),
        ("x-mock-fault", "600", "'600'"),
        ("x-mock-fault", "399", "'399'"),
        ("x-mock-fault-count", "once", "'once'"),
        ("x-mock-fault-count", "-1", "'-1'"),
    ],
)
def test_a_bad_control_header_is_invalid_mock_header(
    server: MockServer, name: str, value: str, quoted: str
) -> None:
    headers = {"x-mock-fault": "500", "x-mock-fault-id": uuid.uuid4().hex, name: value}
    with pytest.raises(openai.BadRequestError) as caught:
        create(client_for(server, retries=2), headers)
    error = caught.value
    assert error.status_code == 400
    assert error.code == "InvalidMockHeader"
    assert isinstance(error.body, dict)
    assert list(error.body) == ["code", "message"]
    message = error.body["message"]
    assert message.startswith(f"{name}: {quoted} ")
    if name == "x-mock-fault":
        assert "reset" in message and "hang" in message and "capacity" in message


def test_admin_routes_ignore_faults(server: MockServer) -> None:
    fault_id = uuid.uuid4().hex
    for kind in ("500", "reset", "hang", "garbage", "boom"):
        headers = {"x-mock-fault": kind, "x-mock-fault-id": fault_id}
        health = rawhttp.request(f"{server.url}/__admin/health", "GET", headers=headers)
        assert health.status == 200, kind
        assert health.json()["status"] == "ok"
        quota = rawhttp.request(f"{server.url}/__admin/quota", "GET", headers=headers)
        assert quota.status == 200, kind
    assert statuses(server, fault_id, 0) == []  # admin calls are not journaled either


# --- seeded fault rates -------------------------------------------------------------------------

RATES = {"429": 0.2, "500": 0.2, "reset": 0.1}
ROUNDS = 30


def outcome(client: openai.AzureOpenAI) -> str:
    try:
        client.chat.completions.create(model=DEPLOYMENT, messages=MESSAGES)
    except openai.APIStatusError as error:
        return str(error.status_code)
    except openai.APIConnectionError:
        return "reset"
    return "ok"


def outcomes(seed: int, rounds: int = ROUNDS) -> list[str]:
    deployments = {DEPLOYMENT: {"model": "o3-mini", "fault_rates": RATES}}
    with MockServer(seed=seed, deployments=deployments) as fresh:
        client = client_for(fresh)
        return [outcome(client) for _ in range(rounds)]


@pytest.fixture(scope="module")
def seeded_runs() -> tuple[list[str], list[str]]:
    return outcomes(seed=11), outcomes(seed=11)


def test_same_seed_same_faults(seeded_runs: tuple[list[str], list[str]]) -> None:
    first, second = seeded_runs
    assert first == second
    assert set(first) <= {"ok", *RATES}


def test_fault_shares_follow_the_rates(seeded_runs: tuple[list[str], list[str]]) -> None:
    counts = Counter(seeded_runs[0])
    for kind, rate in RATES.items():
        share = counts[kind] / ROUNDS
        assert abs(share - rate) <= 0.15, (kind, share, counts)
    assert abs(counts["ok"] / ROUNDS - (1 - sum(RATES.values()))) <= 0.2, counts


def test_another_seed_other_faults(seeded_runs: tuple[list[str], list[str]]) -> None:
    assert outcomes(seed=12) != seeded_runs[0]


def test_reset_restarts_the_fault_sequence() -> None:
    deployments = {DEPLOYMENT: {"model": "o3-mini", "fault_rates": RATES}}
    with MockServer(seed=11, deployments=deployments) as fresh:
        client = client_for(fresh)
        before = [outcome(client) for _ in range(10)]
        reset = rawhttp.request(f"{fresh.url}/__admin/reset", body={"parts": ["quota"]})
        assert reset.status == 200
        after = [outcome(client) for _ in range(10)]
    assert before == after
    assert set(before) != {"ok"}


def test_rolled_faults_are_per_deployment() -> None:
    deployments = {
        DEPLOYMENT: {"model": "o3-mini", "fault_rates": {"500": 1.0}},
        "calm": {"model": "o3-mini"},
    }
    with MockServer(deployments=deployments) as fresh:
        client = client_for(fresh)
        for _ in range(3):
            with pytest.raises(openai.InternalServerError):
                client.chat.completions.create(model=DEPLOYMENT, messages=MESSAGES)
            assert client.chat.completions.create(model="calm", messages=MESSAGES).choices
