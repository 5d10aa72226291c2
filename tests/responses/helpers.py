"""Shared pieces of the Responses API tests: raw HTTP, SSE parsing, official validators."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from mockserver.testing.server import MockServer
from tests import rawhttp
from tests.conftest import API_KEY, API_VERSION
from tests.contract.official import NullableField, contract_document, validator_for, violations

MODEL_ID = "o3-mini-2025-01-31"
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}

# Fields the 2025-04-01-preview document declares without `null` that the Responses API
# sends as null (the fields it already marks nullable need no entry).
RESPONSES_NULLABLE_FIELDS: tuple[NullableField, ...] = (
    NullableField(
        "user",
        "ModelResponseProperties",
        ("properties", "user"),
        '"user": null in the response object of the Azure docs example (D-LIFECYCLE, '
        "reference/azure-contract.md section 4.3); the document says string",
    ),
    NullableField(
        "usage",
        "response",
        ("allOf", 2, "properties", "usage"),
        '"usage": null in the response of `response.created` / `response.in_progress` before '
        "any output (OpenAI's streaming reference example); the document says object",
    ),
)


def responses_url(
    server: MockServer, api_version: str | None = API_VERSION, suffix: str = ""
) -> str:
    query = f"?api-version={api_version}" if api_version is not None else ""
    return f"{server.url}/openai/responses{suffix}{query}"


def v1_url(server: MockServer, suffix: str = "") -> str:
    return f"{server.url}/openai/v1/responses{suffix}"


def post(server: MockServer, body: Any, **kwargs: Any) -> rawhttp.RawResponse:
    """POST a Responses body (dict or raw bytes) to the dated route with a key."""
    url = kwargs.pop("url", None) or responses_url(server, **kwargs)
    return rawhttp.request(url, body=body, headers={"api-key": API_KEY})


def call(server: MockServer, method: str, url: str) -> rawhttp.RawResponse:
    return rawhttp.request(url, method=method, headers={"api-key": API_KEY})


def sse_events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """The (event name, data) pairs of a Responses stream; every block has both lines."""
    events = []
    for block in raw.decode().split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        assert len(lines) == 2, block
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        events.append((lines[0][len("event: ") :], json.loads(lines[1][len("data: ") :])))
    return events


@cache
def _document() -> dict[str, Any]:
    return contract_document(nullable_fields=RESPONSES_NULLABLE_FIELDS)


@cache
def validator(component: str) -> Draft202012Validator:
    return validator_for(component, _document())


def assert_valid(component: str, body: Any) -> None:
    problems = violations(validator(component), body)
    assert problems == [], problems


def error_body(
    message: str, param: str | None, code: str | None, kind: str = "invalid_request_error"
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
