"""Headers and error shapes the 2026 recordings show and the mock must match.

- `x-ratelimit-abusepenalty-active: False` and `x-ratelimit-key: <deployment>` on answers
  from the model (openllmetry__test_azure__test_chat.yaml [1-4], 2026-03;
  crewai__TestAzureResponsesCall..., 2026-04; dd-trace-py__litellm__completion_azure_stream,
  2026-06).
- The prompt content filter's 400: the legacy dated shape (`innererror`,
  `content_filter_result`, `status`) on dated routes; the v1 surface's own shape
  (`inner_error`, `content_filter_results`, a CRLF before the link, no `status`). The dated
  message is the one Azure SDK for Go's captured fixture holds, its typographic apostrophe
  ("OpenAI" then U+2019 then "s") included: clients match that text.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mockserver.testing.server import MockServer
from tests.contract.real_traffic import issue_error_bodies
from tests.http.helpers import BODY, V1_BODY, post_v1
from tests.support import rawhttp
from tests.support.rawhttp import post_chat

LEGACY_FILTER_KEYS = ["message", "type", "param", "code", "status", "innererror"]
V1_FILTER_KEYS = ["inner_error", "code", "message", "param", "type"]
FILTER_LINK = "https://go.microsoft.com/fwlink/?linkid=2198766"
GO_SDK_FILTER_FIXTURE = "issue-excerpts:azure-content_filter-prompt-400-fixture"

Send = Callable[..., rawhttp.RawResponse]
SURFACES: dict[str, Send] = {
    "dated": lambda server, body=BODY: post_chat(server, body),
    "v1": lambda server, body=V1_BODY: post_v1(server, body),
}


@pytest.fixture
def mock(azure_mock: MockServer) -> MockServer:
    """A session of its own: the stub below must not answer other tests' requests."""
    return azure_mock


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_model_answers_name_the_rate_limit_key(server: MockServer, surface: str) -> None:
    response = SURFACES[surface](server)
    assert response.status == 200
    assert response.headers["x-ratelimit-abusepenalty-active"] == "False"
    assert response.headers["x-ratelimit-key"] == "o3-mini"


def test_streams_and_backend_errors_carry_them_too(server: MockServer) -> None:
    streamed = post_chat(server, {**BODY, "stream": True})
    refused = post_chat(server, {**BODY, "top_p": 0.5})
    assert (streamed.status, refused.status) == (200, 400)
    for response in (streamed, refused):
        assert response.headers["x-ratelimit-key"] == "o3-mini"
        assert response.headers["x-ratelimit-abusepenalty-active"] == "False"
    gateway = post_chat(server, BODY, deployment="no-such-deployment")
    assert gateway.status == 404
    assert "x-ratelimit-key" not in gateway.headers  # the request never reached a model


def test_streams_say_so_and_name_the_served_model(server: MockServer) -> None:
    # dd-trace-py__litellm__completion_azure_stream.yaml (2026-06): azureai-fe-is-streaming
    # and x-ms-served-model on a stream; the non-streamed recordings have neither.
    streamed = post_chat(server, {**BODY, "stream": True})
    plain = post_chat(server, BODY)
    assert streamed.headers["azureai-fe-is-streaming"] == "True"
    assert streamed.headers["x-ms-served-model"] == "o3-mini-2025-01-31"
    assert "azureai-fe-is-streaming" not in plain.headers
    assert "x-ms-served-model" not in plain.headers


def test_content_filter_shape_per_surface(mock: MockServer) -> None:
    mock.stub(answer={"error": {"name": "content_filter"}}, times=2)
    _assert_legacy_filter_error(post_chat(mock, BODY))
    _assert_v1_filter_error(post_v1(mock, V1_BODY))


def _assert_legacy_filter_error(response: rawhttp.RawResponse) -> None:
    assert response.status == 400
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert list(error) == LEGACY_FILTER_KEYS
    assert error["status"] == 400
    assert error["message"] == dict(issue_error_bodies())[GO_SDK_FILTER_FIXTURE]["error"]["message"]
    assert "triggering Azure OpenAI\u2019s content management policy" in error["message"]
    assert error["message"].endswith(f"documentation: {FILTER_LINK}")
    assert "content_filter_result" in error["innererror"]


def _assert_v1_filter_error(response: rawhttp.RawResponse) -> None:
    assert response.status == 400
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    error = response.json()["error"]
    assert list(error) == V1_FILTER_KEYS
    assert error["code"] == "content_filter"
    assert error["param"] == "prompt"
    assert error["type"] is None
    assert error["message"].endswith(f"documentation: \r\n{FILTER_LINK}.")
    inner = error["inner_error"]
    assert inner["code"] == "ResponsibleAIPolicyViolation"
    assert inner["content_filter_results"]["violence"] == {"filtered": True, "severity": "medium"}
    assert b"\\r\\n" in response.body  # escaped in the JSON, as Azure sends it


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**V1_BODY, "temperature": 0.5}, "unsupported_parameter"),
        ({**V1_BODY, "max_completion_tokens": 0}, "integer_below_min_value"),
    ],
)
def test_model_errors_on_v1_say_their_charset(
    mock: MockServer, body: dict[str, object], code: str
) -> None:
    """The model's 400s on v1 are sent as its successes are, `; charset=utf-8`; on the
    dated routes, plain `application/json`."""
    v1 = post_v1(mock, body)
    assert (v1.status, v1.json()["error"]["code"]) == (400, code)
    assert v1.headers["content-type"] == "application/json; charset=utf-8"
    dated = post_chat(mock, {**BODY, **{k: v for k, v in body.items() if k != "model"}})
    assert (dated.status, dated.json()["error"]["code"]) == (400, code)
    assert dated.headers["content-type"] == "application/json"


def test_a_v1_rate_limit_keeps_the_gateways_content_type(mock: MockServer) -> None:
    mock.stub(answer={"error": {"name": "rate_limit_tokens"}})
    response = post_v1(mock, V1_BODY)
    assert response.status == 429
    assert response.headers["content-type"] == "application/json"
    # Filled as the mock's own 429 is (a stub's named error once kept its placeholders).
    assert (response.headers["retry-after"], response.headers["retry-after-ms"]) == ("1", "10")
    message = response.json()["error"]["message"]
    assert "API version v1 have exceeded" in message and "retry after 1 seconds" in message
