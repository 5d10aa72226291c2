"""Pieces of the Responses API tests: raw HTTP, the official validators, error bodies."""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema.protocols import Validator
from openai.types.responses import FunctionToolParam

from mockserver.testing.server import MockServer
from tests.contract.official import NullableField, contract_document, validator_for, violations
from tests.support import rawhttp
from tests.support.chat import API_VERSION
from tests.support.rawhttp import key_headers

WEATHER_TOOL: FunctionToolParam = {
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
    return rawhttp.request(url, body=body, headers=key_headers(server))


def call(server: MockServer, method: str, url: str) -> rawhttp.RawResponse:
    return rawhttp.request(url, method=method, headers=key_headers(server))


@cache
def _document() -> dict[str, Any]:
    return contract_document(nullable_fields=RESPONSES_NULLABLE_FIELDS)


@cache
def validator(component: str) -> Validator:
    return validator_for(component, _document())


def assert_valid(component: str, body: Any) -> None:
    problems = violations(validator(component), body)
    assert problems == [], problems


def error_body(
    message: str, param: str | None, code: str | None, kind: str = "invalid_request_error"
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
