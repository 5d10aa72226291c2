"""Shared pieces of the SDK tests: messages, client builders, error assertions."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import jsonschema
import openai

from mockserver.testing.server import MockServer
from tests.conftest import API_KEY, API_VERSION

# The official Azure reasoning doc's example prompt: 20 prompt tokens on o1 (the doc's
# model), 19 on o3-mini, which opens the reply with 2 tokens, not 3 (real o3-mini bills
# 13 for "What is the capital of France?": crewai__test_o3_mini_reasoning_effort_high.yaml).
DOC_MESSAGES: list[Any] = [
    {
        "role": "user",
        "content": "What steps should I think about when writing my first Python API?",
    }
]
DOC_PROMPT_TOKENS = 19
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


# --- tools and structured outputs ------------------------------------------------------------

TOOL_CALL_ID = re.compile(r"^call_[A-Za-z0-9]{24}$")


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)", value):
        return False
    datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))  # raises if impossible
    return True


def _is_time(value: object) -> bool:
    return not isinstance(value, str) or bool(
        re.fullmatch(r"\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)?", value)
    )


_DURATION = re.compile(r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")


def _is_duration(value: object) -> bool:
    return not isinstance(value, str) or bool(_DURATION.fullmatch(value))


FORMAT_CHECKER = jsonschema.FormatChecker()
FORMAT_CHECKER.checks("date-time", raises=ValueError)(_is_date_time)
FORMAT_CHECKER.checks("time")(_is_time)
FORMAT_CHECKER.checks("duration")(_is_duration)


def assert_valid(instance: Any, schema: dict[str, Any]) -> None:
    """`instance` validates against `schema` (Draft 2020-12), formats included."""
    jsonschema.validate(
        instance,
        schema,
        cls=jsonschema.Draft202012Validator,
        format_checker=FORMAT_CHECKER,
    )
