"""Response headers and the wire layout of a success body, as real Azure traffic has them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from mockserver.contract.headers import model_headers
from mockserver.stores.quota import QuotaSnapshot
from mockserver.testing.server import MockServer
from tests.contract.real_traffic import azure_dir, load_yaml
from tests.http.helpers import (
    BODY,
    V1_BODY,
    assert_bare_gateway_headers,
    assert_gateway_headers,
    assert_path_error_headers,
    post_v1,
)
from tests.support import rawhttp
from tests.support.chat import CHAT_ID, UUID
from tests.support.rawhttp import post_chat

Send = Callable[..., rawhttp.RawResponse]
Check = Callable[[rawhttp.RawResponse], None]
SURFACES: dict[str, tuple[Send, str]] = {
    "dated": (lambda server, **kw: post_chat(server, BODY, **kw), "application/json"),
    "v1": (lambda server, **kw: post_v1(server, V1_BODY, **kw), "application/json; charset=utf-8"),
}


@pytest.fixture(params=sorted(SURFACES))
def surface(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def send(server: MockServer, surface: str, **kwargs: object) -> rawhttp.RawResponse:
    response = SURFACES[surface][0](server, **kwargs)
    assert response.status == 200, response.body
    return response


def test_success_carries_azures_headers(server: MockServer, surface: str) -> None:
    response = send(server, surface)
    headers = response.headers
    assert_gateway_headers(response)
    assert UUID.match(headers["x-request-id"])
    assert headers["x-request-id"] != headers["apim-request-id"]
    assert headers["x-ms-deployment-name"] == "o3-mini"
    assert headers["azureml-model-session"]
    assert headers["x-ms-rai-invoked"] == "true"
    assert headers["x-accel-buffering"] == "no"
    for name in ("requests", "tokens"):
        assert int(headers[f"x-ratelimit-limit-{name}"]) > 0
        assert (
            0
            <= int(headers[f"x-ratelimit-remaining-{name}"])
            < int(headers[f"x-ratelimit-limit-{name}"])
        )


def test_content_type_per_surface(server: MockServer, surface: str) -> None:
    assert send(server, surface).headers["content-type"] == SURFACES[surface][1]


def test_api_supported_versions_only_on_v1(server: MockServer) -> None:
    assert send(server, "v1").headers["api-supported-versions"] == "1"
    assert "api-supported-versions" not in send(server, "dated").headers


def test_no_server_or_openai_headers(server: MockServer, surface: str) -> None:
    names = [name.lower() for name in send(server, surface).header_names]
    assert "server" not in names
    assert not [name for name in names if name.startswith("openai-")]
    assert len(names) == len(set(names)), "a header was sent twice"


def test_request_ids_are_new_for_every_response(server: MockServer, surface: str) -> None:
    first, second = send(server, surface), send(server, surface)
    for name in ("apim-request-id", "x-request-id"):
        assert first.headers[name] != second.headers[name]


def test_model_session_is_stable_across_requests(server: MockServer) -> None:
    first, second = send(server, "dated"), send(server, "v1")
    assert first.headers["azureml-model-session"] == second.headers["azureml-model-session"]


def test_client_request_id_is_echoed_only_when_sent(server: MockServer, surface: str) -> None:
    echoed = send(server, surface, headers={"api-key": "k", "x-ms-client-request-id": "abc-123"})
    assert echoed.headers["x-ms-client-request-id"] == "abc-123"
    assert "x-ms-client-request-id" not in send(server, surface).headers


# A refused key and a wrong path carry fewer gateway headers than the rest (recordings:
# dd-trace-js__..._401.yaml and openllmetry__test_embeddings__...[2-3] for the 401,
# dd-trace-js__..._404.json for "Resource not found").
@pytest.mark.parametrize(
    ("deployment", "api_version", "headers", "status", "check"),
    [
        ("o3-mini", None, {"api-key": "k"}, 404, assert_path_error_headers),
        ("o3-mini", "2099-01-01", {"api-key": "k"}, 400, assert_gateway_headers),
        ("o3-mini", "2025-04-01-preview", {"api-key": ""}, 401, assert_bare_gateway_headers),
        ("nope", "2025-04-01-preview", {"api-key": "k"}, 404, assert_gateway_headers),
        ("o3-mini", "2024-10-21", {"api-key": "k"}, 400, assert_gateway_headers),
    ],
)
def test_errors_carry_gateway_headers_and_echo_client_id(
    server: MockServer,
    deployment: str,
    api_version: str | None,
    headers: dict[str, str],
    status: int,
    check: Check,
) -> None:
    response = post_chat(
        server,
        BODY,
        deployment=deployment,
        api_version=api_version,
        headers={**headers, "x-ms-client-request-id": "client-7"},
    )
    assert response.status == status
    check(response)
    assert response.headers["x-ms-client-request-id"] == "client-7"


# The status lines recorded: dd-trace-js's 401 "PermissionDenied" and 404 "Resource Not
# Found" (2025-08), openllmetry's DeploymentNotFound "Not Found" (2025-08).
@pytest.mark.parametrize(
    ("deployment", "api_version", "headers", "status_line"),
    [
        ("o3-mini", None, {"api-key": "k"}, (404, "Resource Not Found")),
        ("o3-mini", "2025-04-01-preview", {"api-key": ""}, (401, "PermissionDenied")),
        ("nope", "2025-04-01-preview", {"api-key": "k"}, (404, "Not Found")),
        ("o3-mini", "2099-01-01", {"api-key": "k"}, (400, "Bad Request")),
    ],
)
def test_errors_have_azures_status_lines(
    server: MockServer,
    deployment: str,
    api_version: str | None,
    headers: dict[str, str],
    status_line: tuple[int, str],
) -> None:
    response = post_chat(
        server, BODY, deployment=deployment, api_version=api_version, headers=headers
    )
    assert (response.status, response.reason) == status_line


def test_error_headers_on_unknown_path(server: MockServer) -> None:
    response = rawhttp.request(server.url + "/nowhere", "GET")
    assert response.status == 404
    assert_path_error_headers(response)
    assert "x-ms-client-request-id" not in response.headers


TOP_KEYS = [
    "choices",
    "created",
    "id",
    "model",
    "object",
    "prompt_filter_results",
    "system_fingerprint",
    "usage",
]
CHOICE_KEYS = ["content_filter_results", "finish_reason", "index", "logprobs", "message"]
MESSAGE_KEYS = ["annotations", "content", "refusal", "role"]
USAGE_KEYS = [
    "completion_tokens",
    "completion_tokens_details",
    "prompt_tokens",
    "prompt_tokens_details",
    "total_tokens",
]


def test_success_body_is_compact_alphabetical_and_ends_with_newline(
    server: MockServer, surface: str
) -> None:
    response = send(server, surface)
    body = response.json()
    assert response.body.endswith(b"}\n")
    assert not response.body.endswith(b"\n\n")
    compact = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    assert response.body == compact + b"\n"
    assert list(body) == TOP_KEYS
    [choice] = body["choices"]
    assert list(choice) == CHOICE_KEYS
    assert list(choice["message"]) == MESSAGE_KEYS
    assert list(body["usage"]) == USAGE_KEYS
    assert list(body["prompt_filter_results"][0]) == ["prompt_index", "content_filter_results"]


def test_success_body_values(server: MockServer) -> None:
    body = send(server, "dated").json()
    assert CHAT_ID.match(body["id"])
    assert body["object"] == "chat.completion"
    assert body["model"] == "o3-mini-2025-01-31"
    assert isinstance(body["created"], int)
    [choice] = body["choices"]
    assert choice["index"] == 0
    assert choice["logprobs"] is None
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["refusal"] is None
    assert choice["message"]["annotations"] == []
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert 0 < reasoning <= usage["completion_tokens"]


@pytest.fixture
def quota_server() -> Iterator[MockServer]:
    deployments = {"o3-mini": {"model": "o3-mini", "tokens_per_minute": 5000}}
    with MockServer(deployments=deployments) as running:
        yield running


def test_first_request_is_charged_prompt_plus_max_completion_tokens(
    quota_server: MockServer,
) -> None:
    response = post_chat(quota_server, {**BODY, "max_completion_tokens": 700})
    prompt = response.json()["usage"]["prompt_tokens"]
    assert response.headers["x-ratelimit-limit-tokens"] == "5000"
    # 6 requests per minute for each 1,000 tokens per minute: Azure's documented ratio.
    assert response.headers["x-ratelimit-limit-requests"] == "30"
    assert response.headers["x-ratelimit-remaining-requests"] == "29"
    assert int(response.headers["x-ratelimit-remaining-tokens"]) == 5000 - prompt - 700


def test_remaining_counts_decrease_between_requests(azure_mock: MockServer, surface: str) -> None:
    # A session of its own (quota is kept per session): on the shared default one, charges
    # of earlier tests leave the one-minute window at any moment and would move the counts.
    first = send(azure_mock, surface)
    second = send(azure_mock, surface)
    # Without max_completion_tokens a request is charged its prompt, and nothing more once
    # answered: its completion and reasoning tokens are not counted (real answers show it).
    prompt = second.json()["usage"]["prompt_tokens"]
    remaining = {
        name: [int(r.headers[f"x-ratelimit-remaining-{name}"]) for r in (first, second)]
        for name in ("requests", "tokens")
    }
    assert remaining["requests"][0] - remaining["requests"][1] == 1
    assert remaining["tokens"][0] - remaining["tokens"][1] == prompt


def test_an_answer_is_charged_its_prompt_not_the_completion_it_spent(
    quota_server: MockServer,
) -> None:
    response = post_chat(quota_server, BODY)
    usage = response.json()["usage"]
    assert usage["completion_tokens"] > usage["completion_tokens_details"]["reasoning_tokens"] > 0
    assert int(response.headers["x-ratelimit-remaining-tokens"]) == 5000 - usage["prompt_tokens"]
    again = post_chat(quota_server, BODY)
    assert int(again.headers["x-ratelimit-remaining-tokens"]) == 5000 - 2 * usage["prompt_tokens"]


@pytest.mark.parametrize("recording", ["openllmetry__test_azure__test_chat.yaml"])
def test_real_answers_show_only_the_prompt_charged(recording: str) -> None:
    """What the rule above follows: recorded answers with no max_tokens, each the only
    request of its minute, left the limit less about the prompt (Azure's own estimate of
    it, a few tokens off the count), never less the completion."""
    interactions = load_yaml(azure_dir() / recording)["interactions"]
    for interaction in interactions:
        headers = {k.lower(): v[0] for k, v in interaction["response"]["headers"].items()}
        usage = json.loads(interaction["response"]["body"]["string"])["usage"]
        assert "max_tokens" not in interaction["request"]["body"]
        charged = int(headers.get("x-ratelimit-limit-tokens", "120000")) - int(
            headers["x-ratelimit-remaining-tokens"]
        )
        assert abs(charged - usage["prompt_tokens"]) <= 2 < usage["completion_tokens"]


RECORDED_LIMITS = {"o3-mini": {"requests_per_minute": 120, "tokens_per_minute": 120_000}}
FOURTEEN_TOKEN_PROMPT = {
    "messages": [{"role": "user", "content": "Tell me a short joke about rate limits"}]
}


def refill_ms(headers: dict[str, str], kind: str) -> int:
    """What the recorded resets are: the milliseconds to give back what is used."""
    limit = int(headers[f"x-ratelimit-limit-{kind}"])
    used = limit - int(headers[f"x-ratelimit-remaining-{kind}"])
    return -(-used * 60_000 // limit)


@pytest.mark.parametrize(
    "recording",
    [
        "openllmetry__test_azure__test_chat.yaml",
        "openllmetry__test_azure__test_chat_streaming.yaml",
        "openllmetry__test_azure__test_chat_content_filtering.yaml",
        "openllmetry__test_azure__test_prompt_content_filtering.yaml",
    ],
)
def test_recorded_resets_are_milliseconds_to_give_back_what_is_used(recording: str) -> None:
    interactions = load_yaml(azure_dir() / recording)["interactions"]
    seen = 0
    for interaction in interactions:
        headers = {k.lower(): v[0] for k, v in interaction["response"]["headers"].items()}
        if "x-ratelimit-reset-tokens" not in headers:
            continue
        seen += 1
        assert int(headers["x-ratelimit-reset-requests"]) == refill_ms(headers, "requests")
        assert int(headers["x-ratelimit-reset-tokens"]) == refill_ms(headers, "tokens")
    assert seen


@pytest.mark.parametrize(
    "send", [post_chat, lambda server, body: post_v1(server, {**V1_BODY, **body})]
)
def test_resets_read_as_the_recorded_answers_do(send: Callable[..., rawhttp.RawResponse]) -> None:
    with MockServer(deployments=RECORDED_LIMITS) as server:
        first, second = (send(server, FOURTEEN_TOKEN_PROMPT) for _ in range(2))
    assert first.status == second.status == 200, first.body
    assert first.json()["usage"]["prompt_tokens"] == 14
    # The recorded first answers' four values, exactly.
    recorded = {"remaining-requests": "119", "remaining-tokens": "119986"}
    recorded |= {"reset-requests": "500", "reset-tokens": "7"}
    assert {name: first.headers[f"x-ratelimit-{name}"] for name in recorded} == recorded
    # Two requests and 28 tokens used: twice as long to give back.
    assert (
        second.headers["x-ratelimit-reset-requests"],
        second.headers["x-ratelimit-reset-tokens"],
    ) == ("1000", "14")


def test_remaining_tokens_include_the_completion_budget(azure_mock: MockServer) -> None:
    before = post_chat(azure_mock, BODY)  # its own window, as above
    after = post_chat(azure_mock, {**BODY, "max_completion_tokens": 1234})
    prompt = after.json()["usage"]["prompt_tokens"]
    spent = int(before.headers["x-ratelimit-remaining-tokens"]) - int(
        after.headers["x-ratelimit-remaining-tokens"]
    )
    assert spent == prompt + 1234


def test_model_headers_made_from_a_kept_block_are_in_azure_order_each_time() -> None:
    """The constant part of a deployment's model headers is made once; each answer still
    gets its own x-request-id and quota values, in the order Azure sends them."""
    quota = QuotaSnapshot(120, 120_000, 119, 119_986)  # openllmetry's 2026 answers
    first = model_headers("o3-mini", "session-1", quota, "dated")
    again = model_headers("o3-mini", "session-1", QuotaSnapshot(120, 120_000, 118, 119_972), "v1")
    assert list(first)[:7] == [
        "x-request-id",
        "azureml-model-session",
        "x-ms-rai-invoked",
        "x-ms-deployment-name",
        "x-ms-is-spilled-over",
        "skip-error-remapping",
        "x-accel-buffering",
    ]
    assert list(first)[-2:] == ["x-ratelimit-abusepenalty-active", "x-ratelimit-key"]
    assert list(again)[-1] == "api-supported-versions" and "api-supported-versions" not in first
    assert first["x-request-id"] != again["x-request-id"]
    assert (first["x-ratelimit-remaining-tokens"], again["x-ratelimit-remaining-tokens"]) == (
        "119986",
        "119972",
    )
    # As those answers read: one request and 14 tokens, given back in 500 and 7 ms.
    assert first["x-ratelimit-reset-requests"] == "500" and first["x-ratelimit-reset-tokens"] == "7"
    assert (
        again["x-ratelimit-reset-requests"] == "1000" and again["x-ratelimit-reset-tokens"] == "14"
    )
