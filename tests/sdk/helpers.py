"""Shared pieces of the SDK tests: messages, client builders, error assertions."""

from __future__ import annotations

import re
from typing import Any

import openai

from mockserver.testing import MockServer
from tests.conftest import API_KEY, API_VERSION

# The official Azure reasoning doc's example prompt: 20 prompt tokens.
DOC_MESSAGES: list[Any] = [
    {
        "role": "user",
        "content": "What steps should I think about when writing my first Python API?",
    }
]
DOC_PROMPT_TOKENS = 20
MODEL_ID = "o3-mini-2025-01-31"
CHAT_ID = re.compile(r"^chatcmpl-[A-Za-z0-9]{29}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
INVALID_REQUEST = "invalid_request_error"


def azure_client(server: MockServer, **options: Any) -> openai.AzureOpenAI:
    """An `AzureOpenAI` on `server`; `options` override the defaults (key, api-version)."""
    settings: dict[str, Any] = {"api_key": API_KEY, "api_version": API_VERSION, **options}
    if "azure_ad_token" in options:
        settings.pop("api_key")
    return openai.AzureOpenAI(azure_endpoint=server.url, max_retries=0, **settings)


def v1_client_for(server: MockServer, **options: Any) -> openai.OpenAI:
    settings: dict[str, Any] = {"api_key": API_KEY, **options}
    return openai.OpenAI(base_url=server.v1_base_url, max_retries=0, **settings)


def assert_error(
    error: openai.APIStatusError,
    *,
    status: int,
    message: str,
    code: str | None,
    param: str | None = None,
    type_: str | None = INVALID_REQUEST,
) -> None:
    """The SDK's view of an Azure error: status, code, param, type and message."""
    assert error.status_code == status
    assert isinstance(error.body, dict)
    assert error.body["message"] == message
    assert error.message == f"Error code: {status} - {message}"
    assert error.code == code
    assert error.param == param
    assert error.type == type_


def assert_gateway_error(
    error: openai.APIStatusError, status: int, code: str, message: str
) -> None:
    """Azure's gateway envelope: `{"error": {"code", "message"}}`, no `type` or `param`."""
    assert_error(error, status=status, message=message, code=code, type_=None)
    assert error.body == {"code": code, "message": message}
