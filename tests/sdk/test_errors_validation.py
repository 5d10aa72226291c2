"""Schema validation of the request body, in the model backend's words."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from mockserver.testing.server import MockServer
from tests.sdk.helpers import DOC_MESSAGES, assert_error
from tests.support.chat import UUID
from tests.support.clients import azure_client

IMAGE_PART: dict[str, Any] = {"type": "image_url", "image_url": {"url": "https://x/y.png"}}

# (parameters, code, param, message)
CASES: list[tuple[dict[str, Any], str, str, str]] = [
    (
        {"messages": openai.omit},
        "missing_required_parameter",
        "messages",
        "Missing required parameter: 'messages'.",
    ),
    (
        {"messages": []},
        "empty_array",
        "messages",
        "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an "
        "empty array instead.",
    ),
    (
        {"messages": [{"role": "user", "content": 1}]},
        "invalid_type",
        "messages[0].content",
        "Invalid type for 'messages[0].content': expected one of a string or array of objects, "
        "but got an integer instead.",
    ),
    (
        {"messages": [{"role": "bot", "content": "hi"}]},
        "invalid_value",
        "messages[0].role",
        "Invalid value: 'bot'. Supported values are: 'developer', 'system', 'user', "
        "'assistant', 'tool', and 'function'.",
    ),
    (
        {"n": 0},
        "integer_below_min_value",
        "n",
        "Invalid 'n': integer below minimum value. Expected a value >= 1, but got 0 instead.",
    ),
    (
        {"n": 129},
        "integer_above_max_value",
        "n",
        "Invalid 'n': integer above maximum value. Expected a value <= 128, but got 129 instead.",
    ),
    (
        {"stop": ["a", "b", "c", "d", "e"]},
        "array_above_max_length",
        "stop",
        "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an "
        "array with length 5 instead.",
    ),
    (
        {"extra_body": {"foo": 1}},
        "unknown_parameter",
        "foo",
        "Unknown parameter: 'foo'.",
    ),
    (
        {"reasoning_effort": "extreme"},
        "invalid_value",
        "reasoning_effort",
        "Invalid value: 'extreme'. Supported values are: 'low', 'medium', and 'high'.",
    ),
    (
        {"reasoning_effort": "minimal"},
        "unsupported_value",
        "reasoning_effort",
        "Unsupported value: 'reasoning_effort' does not support 'minimal' with this model. "
        "Supported values are: 'low', 'medium', and 'high'.",
    ),
    (
        # deep-research-py#19 quotes this body from OpenAI for `{"type": "object"}`.
        {"response_format": {"type": "xml"}},
        "invalid_value",
        "response_format.type",
        "Invalid value: 'xml'. Supported values are: 'json_object', 'json_schema', and 'text'.",
    ),
    (
        {"response_format": {"type": "json_schema"}},
        "missing_required_parameter",
        "response_format.json_schema",
        "Missing required parameter: 'response_format.json_schema'.",
    ),
    (
        # Developer and system content parts are text only.
        {"messages": [{"role": "developer", "content": [IMAGE_PART]}, *DOC_MESSAGES]},
        "invalid_value",
        "messages[0].content[0].type",
        "Invalid value: 'image_url'. Supported values are: 'text'.",
    ),
    (
        {"messages": [{"role": "system", "content": [IMAGE_PART]}, *DOC_MESSAGES]},
        "invalid_value",
        "messages[0].content[0].type",
        "Invalid value: 'image_url'. Supported values are: 'text'.",
    ),
    (
        # The limit of 2025-2026 captures (10 MiB); the older 1048576 is gone.
        {"messages": [{"role": "user", "content": "x" * 10_485_761}]},
        "string_above_max_length",
        "messages[0].content",
        "Invalid 'messages[0].content': string too long. Expected a string with maximum length "
        "10485760, but got a string with length 10485761 instead.",
    ),
]


@pytest.mark.parametrize(
    ("params", "code", "param", "message"), CASES, ids=[case[1] + "-" + case[2] for case in CASES]
)
def test_invalid_body(
    client: openai.AzureOpenAI, params: dict[str, Any], code: str, param: str, message: str
) -> None:
    params = {"messages": DOC_MESSAGES, **params}
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="o3-mini", **params)
    assert_error(caught.value, status=400, code=code, param=param, message=message)


def test_prediction_unknown_before_2025_01(server: MockServer) -> None:
    client = azure_client(server, api_version="2024-12-01-preview")
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="o3-mini",
            messages=DOC_MESSAGES,
            prediction={"type": "content", "content": "x"},
        )
    assert_error(
        caught.value,
        status=400,
        code="unknown_parameter",
        param="prediction",
        message="Unknown parameter: 'prediction'.",
    )


def test_backend_error_carries_request_id(client: openai.AzureOpenAI) -> None:
    # The request reached the model backend, so its headers (x-request-id) come back.
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="o3-mini", messages=DOC_MESSAGES, n=0)
    assert caught.value.request_id is not None
    assert UUID.match(caught.value.request_id)
