"""Every error body of the inference routes conforms to `errorResponse` (relaxed as Azure is).

The document's `errorResponse` requires nothing (any object passes), so each body is also
checked for the envelope itself: one top-level `error` object with a string `message` and
a `code` key. The flat Entra 401 body is, by design, not enveloped: asserted explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mockserver.contract.errors import catalogue_error, catalogue_names
from mockserver.testing.server import MockServer
from tests.contract import official
from tests.support import rawhttp
from tests.support.chat import API_KEY, chat_url
from tests.support.rawhttp import post_chat

USER = {"role": "user", "content": "hi"}
OK = {"messages": [USER]}
SMALL_BODY_LIMIT = 2048
FLAT_ENTRA_BODY = "InvalidBearerToken"


@pytest.fixture(scope="module")
def small_body_server() -> Iterator[MockServer]:
    """A server whose request-body limit is small enough to hit with an ordinary request."""
    with MockServer(max_body_bytes=SMALL_BODY_LIMIT) as running:
        yield running


@dataclass(frozen=True)
class Servers:
    default: MockServer
    keyed: MockServer
    small_body: MockServer


Send = Callable[[Servers], rawhttp.RawResponse]


def dated(body: Any, **kwargs: Any) -> Send:
    return lambda servers: post_chat(servers.default, body, **kwargs)


def v1(body: Any, api_version: str | None = None, key: str = API_KEY) -> Send:
    def send(servers: Servers) -> rawhttp.RawResponse:
        query = f"?api-version={api_version}" if api_version else ""
        url = f"{servers.default.url}/openai/v1/chat/completions{query}"
        return rawhttp.request(url, body=body, headers={"Authorization": f"Bearer {key}"})

    return send


def keyed(headers: dict[str, str], v1_route: bool = False) -> Send:
    def send(servers: Servers) -> rawhttp.RawResponse:
        server = servers.keyed
        url = f"{server.url}/openai/v1/chat/completions" if v1_route else chat_url(server)
        body = {"model": "o3-mini", **OK} if v1_route else OK
        return rawhttp.request(url, body=body, headers=headers)

    return send


def raw(path: str, method: str = "POST", body: Any = OK) -> Send:
    def send(servers: Servers) -> rawhttp.RawResponse:
        url = f"{servers.default.url}{path}"
        return rawhttp.request(url, method=method, body=body, headers={"api-key": API_KEY})

    return send


def too_large(servers: Servers) -> rawhttp.RawResponse:
    body = {"messages": [{"role": "user", "content": "x" * (2 * SMALL_BODY_LIMIT)}]}
    return post_chat(servers.small_body, body)


def _long_messages(tokens: int) -> list[dict[str, str]]:
    """User messages of about `tokens` tokens (" hello" is one o200k_base token)."""
    per_message = 150_000
    full, rest = divmod(tokens, per_message)
    sizes = [per_message] * full + ([rest] if rest else [])
    return [{"role": "user", "content": " hello" * size} for size in sizes]


@dataclass(frozen=True)
class ErrorCase:
    send: Send
    status: int
    code: str | None


TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "f", "arguments": "{}"},
}

ERROR_CASES: dict[str, ErrorCase] = {
    # gateway: api-version, path, key, deployment
    "missing-api-version": ErrorCase(dated(OK, api_version=None), 404, "404"),
    "unknown-api-version": ErrorCase(dated(OK, api_version="2099-01-01"), 400, "BadRequest"),
    "api-version-too-old-for-o3-mini": ErrorCase(
        dated(OK, api_version="2024-10-21"), 400, "BadRequest"
    ),
    "v1-with-dated-api-version": ErrorCase(
        v1({"model": "o3-mini", **OK}, api_version="2025-04-01-preview"), 400, "BadRequest"
    ),
    "unknown-path": ErrorCase(raw("/openai/nothing?api-version=2025-04-01-preview"), 404, "404"),
    "wrong-method": ErrorCase(
        raw("/openai/deployments/o3-mini/chat/completions?api-version=2025-04-01-preview", "GET"),
        404,
        "404",
    ),
    "no-credential": ErrorCase(keyed({}), 401, "401"),
    "wrong-api-key": ErrorCase(keyed({"api-key": "wrong"}), 401, "401"),
    "empty-api-key": ErrorCase(keyed({"api-key": " "}), 401, "401"),
    "v1-no-credential": ErrorCase(keyed({}, v1_route=True), 401, "401"),
    "deployment-not-found": ErrorCase(dated(OK, deployment="gpt-4o"), 404, "DeploymentNotFound"),
    "v1-deployment-not-found": ErrorCase(v1({"model": "gpt-4o", **OK}), 404, "DeploymentNotFound"),
    "request-too-large": ErrorCase(too_large, 413, "RequestEntityTooLarge"),
    # backend: JSON, schema of the api-version
    "invalid-json": ErrorCase(dated(b"{not json"), 400, None),
    "json-not-an-object": ErrorCase(dated(b"[1, 2]"), 400, None),
    "v1-invalid-json": ErrorCase(v1(b"{not json"), 400, None),
    "v1-missing-model": ErrorCase(v1(OK), 400, None),
    "missing-messages": ErrorCase(dated({"n": 1}), 400, "missing_required_parameter"),
    "empty-messages": ErrorCase(dated({"messages": []}), 400, "empty_array"),
    "content-wrong-type": ErrorCase(
        dated({"messages": [{"role": "user", "content": 5}]}), 400, "invalid_type"
    ),
    "unknown-role": ErrorCase(
        dated({"messages": [{"role": "wizard", "content": "hi"}]}), 400, "invalid_value"
    ),
    "unknown-parameter": ErrorCase(dated({**OK, "colour": "red"}), 400, "unknown_parameter"),
    "n-wrong-type": ErrorCase(dated({**OK, "n": "two"}), 400, "invalid_type"),
    "reasoning-effort-invalid": ErrorCase(
        dated({**OK, "reasoning_effort": "extreme"}), 400, "invalid_value"
    ),
    "parameter-unknown-to-api-version": ErrorCase(
        dated(
            {**OK, "prediction": {"type": "content", "content": "x"}},
            api_version="2024-12-01-preview",
        ),
        400,
        "unknown_parameter",
    ),
    # o3-mini rules
    "max_tokens": ErrorCase(dated({**OK, "max_tokens": 10}), 400, "unsupported_parameter"),
    "temperature": ErrorCase(dated({**OK, "temperature": 0.2}), 400, "unsupported_parameter"),
    "top_p": ErrorCase(dated({**OK, "top_p": 0.5}), 400, "unsupported_parameter"),
    "presence_penalty": ErrorCase(
        dated({**OK, "presence_penalty": 0.1}), 400, "unsupported_parameter"
    ),
    # A 403 since the o4-mini capture (deepeval#2184); temperature 1 passes (RA.Aid#70).
    "logprobs": ErrorCase(dated({**OK, "logprobs": True}), 403, None),
    "parallel_tool_calls": ErrorCase(
        dated({**OK, "parallel_tool_calls": False}), 400, "unsupported_parameter"
    ),
    "v1-temperature": ErrorCase(
        v1({"model": "o3-mini", **OK, "temperature": 0.5}), 400, "unsupported_parameter"
    ),
    "reasoning-effort-minimal": ErrorCase(
        dated({**OK, "reasoning_effort": "minimal"}), 400, "unsupported_value"
    ),
    "image-content-part": ErrorCase(
        dated(
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
                    }
                ]
            }
        ),
        400,
        None,
    ),
    "tool-message-without-tool-calls": ErrorCase(
        dated({"messages": [USER, {"role": "tool", "tool_call_id": "call_1", "content": "1"}]}),
        400,
        None,
    ),
    "tool-calls-without-replies": ErrorCase(
        dated({"messages": [USER, {"role": "assistant", "tool_calls": [TOOL_CALL]}]}),
        400,
        None,
    ),
    # token limits
    "max-completion-tokens-zero": ErrorCase(
        dated({**OK, "max_completion_tokens": 0}), 400, "integer_below_min_value"
    ),
    "max-completion-tokens-too-large": ErrorCase(
        dated({**OK, "max_completion_tokens": 100_001}), 400, "invalid_value"
    ),
    "context-length-exceeded": ErrorCase(
        dated({"messages": _long_messages(200_100)}), 400, "context_length_exceeded"
    ),
    "context-length-exceeded-with-completion": ErrorCase(
        dated({"messages": _long_messages(120_000), "max_completion_tokens": 90_000}),
        400,
        "context_length_exceeded",
    ),
}


@pytest.fixture(scope="module")
def servers(server: MockServer, keyed_server: MockServer, small_body_server: MockServer) -> Servers:
    return Servers(server, keyed_server, small_body_server)


@pytest.fixture(scope="module")
def error_replies(servers: Servers) -> dict[str, rawhttp.RawResponse]:
    return {name: case.send(servers) for name, case in ERROR_CASES.items()}


def assert_enveloped(body: Any) -> None:
    """What `errorResponse` cannot enforce: `{"error": {..., "code", "message": str}}`."""
    assert isinstance(body, dict)
    assert list(body) == ["error"], body
    error = body["error"]
    assert isinstance(error, dict)
    assert isinstance(error.get("message"), str)
    assert error["message"]
    assert "code" in error


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_error_body_validates(name: str, error_replies: dict[str, rawhttp.RawResponse]) -> None:
    case, reply = ERROR_CASES[name], error_replies[name]
    assert reply.status == case.status, reply.body
    body = reply.json()
    assert_enveloped(body)
    assert body["error"]["code"] == case.code
    assert official.violations(official.error_validator(), body) == []


def test_flat_entra_401_is_not_enveloped(servers: Servers) -> None:
    """A bad Entra bearer token gets Azure's flat body, `{"statusCode", "message"}`."""
    reply = keyed({"Authorization": "Bearer not-a-token"})(servers)
    assert reply.status == 401
    body = reply.json()
    assert list(body) == ["statusCode", "message"]
    assert body["statusCode"] == 401
    assert body["message"].startswith("Unauthorized. Access token is missing, invalid")
    assert "error" not in body


def test_cases_cover_every_reachable_catalogue_entry(
    error_replies: dict[str, rawhttp.RawResponse],
) -> None:
    """Each catalogue body the routes can reach without faults is exercised above."""
    seen = {reply.json()["error"]["code"] for reply in error_replies.values()}
    messages = " ".join(reply.json()["error"]["message"] for reply in error_replies.values())
    assert {"404", "BadRequest", "401", "DeploymentNotFound", "RequestEntityTooLarge"} <= seen
    assert "We could not parse the JSON body" in messages
    assert "maximum context length is 200000 tokens" in messages
    assert re.search(r"\(\d+ in the messages, 90000 in the completion\)", messages)


def _sample_values() -> dict[str, object]:
    return {
        "limit": 1024,
        "context_window": 200_000,
        "prompt_tokens": 200_100,
        "total_tokens": 210_000,
        "completion_tokens": 9_900,
        "requested": 100_001,
        "max_output_tokens": 100_000,
        "request_id": "6d6321f8-e4aa-4a77-9aa0-67868802d7ca",
        "api_version": "2025-04-01-preview",
        "retry_after": 2,
        "min_api_version": "2024-12-01-preview",
    }


ENVELOPED_CATALOGUE = [name for name in catalogue_names() if name != FLAT_ENTRA_BODY]


@pytest.mark.parametrize("surface", ["dated", "v1"])
@pytest.mark.parametrize("name", ENVELOPED_CATALOGUE)
def test_every_catalogue_body_validates(name: str, surface: str) -> None:
    """Catalogue bodies only faults or quotas reach (429, 500, 503, content_filter) too,
    and the v1 surface's own variants (content_filter)."""
    error = catalogue_error(name, surface, **_sample_values())
    body = error.payload()
    assert_enveloped(body)
    assert official.violations(official.error_validator(), body) == []


def test_catalogue_flat_entra_body_is_the_only_unenveloped_one() -> None:
    assert FLAT_ENTRA_BODY in catalogue_names()
    body = catalogue_error(FLAT_ENTRA_BODY).payload()
    assert set(body) == {"statusCode", "message"}
