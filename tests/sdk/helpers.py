"""Pieces of the SDK tests: the doc's example prompt, error assertions, tool call ids."""

from __future__ import annotations

import re
from typing import Any

import openai

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
INVALID_REQUEST = "invalid_request_error"


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
