"""Exact bytes Azure sends, and small helpers shared by the raw-HTTP tests."""

from __future__ import annotations

import json
from typing import Any

from mockserver.testing.server import MockServer
from tests.support import rawhttp
from tests.support.chat import UUID
from tests.support.rawhttp import key_headers

MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "Say hello."}]
BODY: dict[str, Any] = {"messages": MESSAGES}
V1_BODY: dict[str, Any] = {"model": "o3-mini", "messages": MESSAGES}

RESOURCE_NOT_FOUND = b'{"error":{"code":"404","message": "Resource not found"}}'
API_VERSION_NOT_SUPPORTED = b'{"error":{"code":"BadRequest","message":"API version not supported"}}'
MODEL_TOO_NEW_FOR_VERSION = (
    b'{"error":{"code":"BadRequest","message":"Model {modelName} is enabled only for api '
    b'versions 2024-12-01-preview and later"}}'
)
INVALID_KEY = (
    b'{"error":{"code":"401","message":"Access denied due to invalid subscription key or '
    b"wrong API endpoint. Make sure to provide a valid key for an active subscription and "
    b'use a correct regional API endpoint for your resource."}}'
)
INVALID_BEARER = json.dumps(
    {
        "statusCode": 401,
        "message": "Unauthorized. Access token is missing, invalid, audience is incorrect "
        "(https://cognitiveservices.azure.com), or have expired.",
    }
).encode()
DEPLOYMENT_NOT_FOUND = json.dumps(
    {
        "error": {
            "type": "invalid_request_error",
            "code": "DeploymentNotFound",
            "message": "The API deployment for this resource does not exist. If you created "
            "the deployment within the last 5 minutes, please wait a moment and try again.",
        }
    },
    indent=2,
).encode()
INVALID_JSON_START = "We could not parse the JSON body of your request."

SECURITY_HEADERS = {
    "strict-transport-security": "max-age=31536000; includeSubDomains; preload",
    "x-content-type-options": "nosniff",
}


def v1_chat_url(server: MockServer, api_version: str | None = None) -> str:
    query = f"?api-version={api_version}" if api_version is not None else ""
    return f"{server.url}/openai/v1/chat/completions{query}"


def post_v1(
    server: MockServer,
    body: Any = None,
    api_version: str | None = None,
    headers: dict[str, str] | None = None,
) -> rawhttp.RawResponse:
    return rawhttp.request(
        v1_chat_url(server, api_version),
        body=V1_BODY if body is None else body,
        headers=key_headers(server) if headers is None else headers,
    )


def pretty(payload: Any) -> bytes:
    """A body as the model backend prints it: 2-space indent, no trailing newline."""
    return json.dumps(payload, indent=2, ensure_ascii=False).encode()


def assert_gateway_headers(response: rawhttp.RawResponse, region: str = "East US 2") -> None:
    """What every response carries, errors included, but for the 401s and wrong paths."""
    assert UUID.match(response.headers["apim-request-id"])
    assert response.headers["x-ms-region"] == region
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "server" not in response.headers


def assert_bare_gateway_headers(response: rawhttp.RawResponse) -> None:
    """A refused key: apim-request-id and no other gateway header (recordings 2025-08,
    2026-03: dd-trace-js__..._401.yaml, openllmetry__test_embeddings__...[2-3])."""
    assert UUID.match(response.headers["apim-request-id"])
    for name in ("x-ms-region", *SECURITY_HEADERS):
        assert name.lower() not in response.headers
    assert "server" not in response.headers


def assert_path_error_headers(response: rawhttp.RawResponse) -> None:
    """A wrong path: the security pair but no region (dd-trace-js__..._404.json, 2025-08)."""
    assert UUID.match(response.headers["apim-request-id"])
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "x-ms-region" not in response.headers
    assert "server" not in response.headers


def journal_bytes(server: MockServer) -> int:
    """The bytes the server's journal holds, as its entries count them (what its byte bound
    and the `mockserver_journal_bytes` gauge are about)."""
    return sum(entry.stored_bytes() for entry in server.requests)
