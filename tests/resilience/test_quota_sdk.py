"""Quota through the real `openai` SDK: Azure's 429, its headers, enforcement switches, admin.

Quota windows run on real time here, so no test depends on timing: one request with a large
`max_completion_tokens` uses up most of the minute's tokens, the next is refused at once.
Clients have max_retries=0: a quota 429 says "retry after ~60 s", which the SDK would honour.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletion

from mockserver.testing.server import MockServer
from tests.support import rawhttp
from tests.support.chat import API_VERSION, DEPLOYMENT
from tests.support.clients import azure_client, v1_client

TPM = 2000
BIG = 1500  # max_completion_tokens of the request that uses up most of the minute
TOO_MUCH = 1000  # prompt + this no longer fits in what BIG left
MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
RETRY_AFTER = re.compile(r"Please retry after (\d+) seconds\.")
TOKEN_MESSAGE = (
    f"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
    f"{API_VERSION} have exceeded token rate limit of your current AIServices S0 pricing tier. "
    "Please retry after {n} seconds. Please contact Azure support service if you would like "
    "to further increase the default rate limit."
)

MakeServer = Callable[..., MockServer]


@pytest.fixture
def make_server() -> Iterator[MakeServer]:
    """Fresh servers (quota is per server), stopped after the test."""
    running: list[MockServer] = []

    def make(**settings: Any) -> MockServer:
        running.append(MockServer(**settings).start())
        return running[-1]

    yield make
    for server in running:
        failures = server.take_failures()
        server.stop()
        assert not failures, f"the mock server failed while answering: {failures!r}"


def deployment(tpm: int = TPM, **extra: Any) -> dict[str, Any]:
    # Requests per minute set high, so only tokens can refuse unless a test asks otherwise.
    return {"model": "o3-mini", "tokens_per_minute": tpm, "requests_per_minute": 600, **extra}


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


def client_for(server: MockServer) -> openai.AzureOpenAI:
    assert _Shared.http is not None
    return azure_client(server, http_client=_Shared.http)


def ask(
    client: openai.AzureOpenAI, max_completion_tokens: int, model: str = DEPLOYMENT
) -> tuple[ChatCompletion, dict[str, str]]:
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=MESSAGES, max_completion_tokens=max_completion_tokens
    )
    return raw.parse(), dict(raw.headers)


def refused(
    client: openai.AzureOpenAI, max_completion_tokens: int, model: str = DEPLOYMENT
) -> openai.RateLimitError:
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(
            model=model, messages=MESSAGES, max_completion_tokens=max_completion_tokens
        )
    return caught.value


def admin_quota(server: MockServer) -> dict[str, Any]:
    response = rawhttp.request(f"{server.url}/__admin/quota", method="GET")
    assert response.status == 200
    deployments: dict[str, Any] = response.json()["deployments"]
    return deployments


def assert_azure_token_429(error: openai.RateLimitError) -> int:
    """Azure's token 429 as the SDK surfaces it; returns the retry-after seconds."""
    assert error.status_code == 429
    assert error.code == "429"
    assert error.type is None
    assert error.param is None
    headers = error.response.headers
    seconds = int(headers["retry-after"])
    assert 1 <= seconds <= 60
    milliseconds = int(headers["retry-after-ms"])
    assert 0 < milliseconds <= 60_000
    assert math.ceil(milliseconds / 1000) == seconds
    assert headers["policy-id"] == "DeploymentRatelimit-Token"
    assert error.body == {"code": "429", "message": TOKEN_MESSAGE.format(n=seconds)}
    assert error.message == "Error code: 429 - " + TOKEN_MESSAGE.format(n=seconds)
    found = RETRY_AFTER.search(error.message)
    assert found is not None and int(found.group(1)) == seconds
    return seconds


# --- enforced -----------------------------------------------------------------------------------


def test_request_over_what_is_left_gets_azure_429(make_server: MakeServer) -> None:
    server = make_server(enforce_quota=True, deployments={DEPLOYMENT: deployment()})
    client = client_for(server)
    first, headers = ask(client, BIG)
    assert first.usage is not None
    prompt = first.usage.prompt_tokens
    left = TPM - prompt - BIG
    assert headers["x-ratelimit-limit-tokens"] == str(TPM)
    assert headers["x-ratelimit-remaining-tokens"] == str(left)
    assert headers["x-ratelimit-remaining-requests"] == "599"

    error = refused(client, TOO_MUCH)  # prompt + 1000 > what is left
    assert_azure_token_429(error)
    headers_429 = error.response.headers
    # The 429 reached the model's quota: it carries the usage headers, unchanged by it.
    assert headers_429["x-ratelimit-limit-tokens"] == str(TPM)
    assert headers_429["x-ratelimit-remaining-tokens"] == str(left)
    assert headers_429["x-ratelimit-limit-requests"] == "600"
    assert headers_429["x-ratelimit-remaining-requests"] == "599"
    assert headers_429["x-ms-deployment-name"] == DEPLOYMENT
    assert headers_429["apim-request-id"]

    # The refused request was not charged: what is left still fits.
    fits, after = ask(client, left - prompt)
    assert fits.choices
    assert after["x-ratelimit-remaining-tokens"] == "0"
    assert admin_quota(server)[DEPLOYMENT]["tokens_this_minute"] == TPM
    assert [entry.status for entry in server.requests] == [200, 429, 200]


def test_one_request_bigger_than_the_minute_is_refused(make_server: MakeServer) -> None:
    server = make_server(enforce_quota=True, deployments={DEPLOYMENT: deployment(tpm=1000)})
    error = refused(client_for(server), BIG)
    assert_azure_token_429(error)
    assert error.response.headers["x-ratelimit-remaining-tokens"] == "1000"
    assert admin_quota(server)[DEPLOYMENT]["tokens_this_minute"] == 0


def test_a_stream_over_quota_is_refused_before_it_starts(make_server: MakeServer) -> None:
    server = make_server(enforce_quota=True, deployments={DEPLOYMENT: deployment(tpm=1000)})
    with pytest.raises(openai.RateLimitError) as caught:
        client_for(server).chat.completions.create(
            model=DEPLOYMENT, messages=MESSAGES, max_completion_tokens=BIG, stream=True
        )
    assert_azure_token_429(caught.value)
    assert caught.value.response.headers["content-type"] == "application/json"


def test_v1_surface_is_limited_too(make_server: MakeServer) -> None:
    server = make_server(enforce_quota=True, deployments={DEPLOYMENT: deployment(tpm=1000)})
    v1 = v1_client(server, http_client=_Shared.http)
    with pytest.raises(openai.RateLimitError) as caught:
        v1.chat.completions.create(model=DEPLOYMENT, messages=MESSAGES, max_completion_tokens=BIG)
    error = caught.value
    assert error.code == "429"
    assert "have exceeded token rate limit" in error.message
    assert error.response.headers["policy-id"] == "DeploymentRatelimit-Token"


def test_call_rate_limit_429(make_server: MakeServer) -> None:
    # One request per minute over a 60 s window: the second is refused whatever the timing.
    server = make_server(
        enforce_quota=True,
        quota_request_window_seconds=60,
        deployments={DEPLOYMENT: deployment(tpm=100_000, requests_per_minute=1)},
    )
    client = client_for(server)
    ask(client, 10)
    error = refused(client, 10)
    assert error.code == "429"
    assert error.type is None
    headers = error.response.headers
    seconds = int(headers["retry-after"])
    assert 1 <= seconds <= 60
    assert math.ceil(int(headers["retry-after-ms"]) / 1000) == seconds
    assert headers["policy-id"] == "DeploymentRatelimit-Call"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert error.body == {
        "code": "429",
        "message": (
            "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
            f"{API_VERSION} have exceeded call rate limit of your current AIServices S0 pricing "
            f"tier. Please retry after {seconds} seconds. Please contact Azure support service "
            "if you would like to further increase the default rate limit."
        ),
    }


# --- not enforced -------------------------------------------------------------------------------


def test_not_enforced_by_default_only_the_headers_show_usage(make_server: MakeServer) -> None:
    server = make_server(deployments={DEPLOYMENT: deployment()})
    assert server.settings.quota.enforce is False
    client = client_for(server)
    first, headers = ask(client, BIG)
    assert first.usage is not None
    prompt = first.usage.prompt_tokens
    assert headers["x-ratelimit-remaining-tokens"] == str(TPM - prompt - BIG)
    second, headers = ask(client, TOO_MUCH)  # would be refused if enforced
    assert second.choices
    assert headers["x-ratelimit-remaining-tokens"] == "0"
    third, headers = ask(client, BIG)
    assert third.choices
    assert headers["x-ratelimit-remaining-tokens"] == "0"
    assert headers["x-ratelimit-remaining-requests"] == "597"
    used = admin_quota(server)[DEPLOYMENT]
    assert used["enforced"] is False
    assert used["tokens_this_minute"] == 3 * prompt + BIG + TOO_MUCH + BIG
    assert used["requests_last_minute"] == 3
    assert [entry.status for entry in server.requests] == [200, 200, 200]


# --- per-deployment enforcement -----------------------------------------------------------------


@pytest.mark.parametrize("server_wide", [True, False])
def test_deployment_enforce_quota_overrides_the_server(
    make_server: MakeServer, server_wide: bool
) -> None:
    server = make_server(
        enforce_quota=server_wide,
        deployments={
            "strict": deployment(tpm=1000, enforce_quota=True),
            "lax": deployment(tpm=1000, enforce_quota=False),
            "inherits": deployment(tpm=1000),
        },
    )
    client = client_for(server)
    assert_azure_token_429(refused(client, BIG, model="strict"))
    reply, headers = ask(client, BIG, model="lax")
    assert reply.choices
    assert headers["x-ratelimit-remaining-tokens"] == "0"
    if server_wide:
        assert_azure_token_429(refused(client, BIG, model="inherits"))
    else:
        assert ask(client, BIG, model="inherits")[0].choices
    quota = admin_quota(server)
    assert quota["strict"]["enforced"] is True
    assert quota["lax"]["enforced"] is False
    assert quota["inherits"]["enforced"] is server_wide


# --- admin --------------------------------------------------------------------------------------


def test_admin_quota_shows_limits_and_usage(make_server: MakeServer) -> None:
    server = make_server(
        enforce_quota=True,
        deployments={DEPLOYMENT: deployment(), "other": {"model": "o3-mini"}},
    )
    quota = admin_quota(server)
    assert quota == {
        DEPLOYMENT: {
            "tokens_per_minute": TPM,
            "requests_per_minute": 600,
            "enforced": True,
            "tokens_this_minute": 0,
            "requests_last_minute": 0,
        },
        "other": {
            "tokens_per_minute": 250_000,
            "requests_per_minute": 1500,  # Azure's ratio: 6 per 1,000 tokens per minute
            "enforced": True,
            "tokens_this_minute": 0,
            "requests_last_minute": 0,
        },
    }
    first, _ = ask(client_for(server), BIG)
    assert first.usage is not None
    quota = admin_quota(server)
    assert quota[DEPLOYMENT]["tokens_this_minute"] == first.usage.prompt_tokens + BIG
    assert quota[DEPLOYMENT]["requests_last_minute"] == 1
    assert quota["other"]["tokens_this_minute"] == 0


def test_admin_reset_of_quota_lets_the_next_request_pass(make_server: MakeServer) -> None:
    server = make_server(enforce_quota=True, deployments={DEPLOYMENT: deployment()})
    client = client_for(server)
    ask(client, BIG)
    refused(client, TOO_MUCH)
    reset = rawhttp.request(f"{server.url}/__admin/reset", body={"parts": ["quota"]})
    assert reset.status == 200
    assert reset.json() == {"reset": ["quota"]}
    used = admin_quota(server)[DEPLOYMENT]
    assert used["tokens_this_minute"] == 0
    assert used["requests_last_minute"] == 0
    reply, headers = ask(client, TOO_MUCH)
    assert reply.choices
    assert reply.usage is not None
    assert headers["x-ratelimit-remaining-tokens"] == str(
        TPM - reply.usage.prompt_tokens - TOO_MUCH
    )
    # Only the quota was reset: the journal still has all three requests.
    assert [entry.status for entry in server.requests] == [200, 429, 200]


def test_admin_reset_rejects_unknown_parts(make_server: MakeServer) -> None:
    server = make_server(enforce_quota=True, deployments={DEPLOYMENT: deployment()})
    response = rawhttp.request(f"{server.url}/__admin/reset", body={"parts": ["quotas"]})
    assert response.status == 400
    assert response.json()["error"]["code"] == "InvalidRequest"
    assert "quotas" in response.json()["error"]["message"]
