"""o3-mini's own rules: refused parameters, no vision, tool-message order."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.sdk.helpers import DOC_MESSAGES, assert_error

# temperature 1 passes (RA.Aid#70, NextChat#6138: "set temperature=1"; LiteLLM sends 1 to
# o-series) and logprobs is a 403: tests/sdk/test_o3mini_params.py has both.
UNSUPPORTED: list[tuple[str, Any]] = [
    ("temperature", 0.2),
    ("temperature", 0),
    ("temperature", 2),
    ("temperature", True),  # not the number 1
    ("temperature", "1"),
    # Refused even at their defaults, unlike temperature: tgpt#333 (top_p refused while
    # temperature 1 passed), HELM#3617 (defaults 1 and 0 had to be dropped), simonw/llm#731.
    ("top_p", 1),
    ("presence_penalty", 0),
    ("frequency_penalty", 0),
    ("frequency_penalty", 0.5),
    ("top_logprobs", 2),
    ("logit_bias", {"1734": -100}),
    ("parallel_tool_calls", False),
    ("parallel_tool_calls", True),
]
TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}


def _create(client: openai.AzureOpenAI, messages: Any = None, **params: Any) -> None:
    client.chat.completions.create(model="o3-mini", messages=messages or DOC_MESSAGES, **params)


@pytest.mark.parametrize(("name", "value"), UNSUPPORTED)
def test_unsupported_parameter(client: openai.AzureOpenAI, name: str, value: Any) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _create(client, **{name: value})
    assert_error(
        caught.value,
        status=400,
        code="unsupported_parameter",
        param=name,
        message=f"Unsupported parameter: '{name}' is not supported with this model.",
    )


def test_max_tokens_points_to_max_completion_tokens(client: openai.AzureOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _create(client, max_tokens=100)
    assert_error(
        caught.value,
        status=400,
        code="unsupported_parameter",
        param="max_tokens",
        message="Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead.",
    )


def test_null_unsupported_parameter_is_not_given(client: openai.AzureOpenAI) -> None:
    # An explicit null is how many clients say "not set".
    completion = client.chat.completions.create(
        model="o3-mini", messages=DOC_MESSAGES, extra_body={"temperature": None}
    )
    assert completion.choices[0].message.content


def test_image_content_part(client: openai.AzureOpenAI) -> None:
    content = [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]
    with pytest.raises(openai.BadRequestError) as caught:
        _create(client, [{"role": "user", "content": content}])
    assert_error(
        caught.value,
        status=400,
        code=None,
        param="messages.[0].content.[1].type",
        message="Invalid content type. image_url is only supported by certain models.",
    )


def test_text_content_parts_accepted(client: openai.AzureOpenAI) -> None:
    content: list[Any] = [{"type": "text", "text": "Hello"}, {"type": "text", "text": "there"}]
    completion = client.chat.completions.create(
        model="o3-mini", messages=[{"role": "user", "content": content}]
    )
    assert completion.choices[0].message.content


def test_tool_message_without_tool_calls(client: openai.AzureOpenAI) -> None:
    messages = [
        *DOC_MESSAGES,
        {"role": "assistant", "content": "Let me look."},
        {"role": "tool", "tool_call_id": "call_1", "content": "r"},
    ]
    with pytest.raises(openai.BadRequestError) as caught:
        _create(client, messages)
    assert_error(
        caught.value,
        status=400,
        code=None,
        param="messages.[2].role",
        message="Invalid parameter: messages with role 'tool' must be a response to a "
        "preceeding message with 'tool_calls'.",
    )


def test_tool_calls_not_answered(client: openai.AzureOpenAI) -> None:
    messages = [*DOC_MESSAGES, {"role": "assistant", "tool_calls": [TOOL_CALL]}, *DOC_MESSAGES]
    with pytest.raises(openai.BadRequestError) as caught:
        _create(client, messages)
    assert_error(
        caught.value,
        status=400,
        code=None,
        param="messages.[1].role",
        message="An assistant message with 'tool_calls' must be followed by tool messages "
        "responding to each 'tool_call_id'. The following tool_call_ids did not have "
        "response messages: call_1",
    )


def test_unknown_tool_call_id(client: openai.AzureOpenAI) -> None:
    messages = [
        *DOC_MESSAGES,
        {"role": "assistant", "tool_calls": [TOOL_CALL]},
        {"role": "tool", "tool_call_id": "x", "content": "r"},
    ]
    with pytest.raises(openai.BadRequestError) as caught:
        _create(client, messages)
    assert_error(
        caught.value,
        status=400,
        code=None,
        param="messages.[2].tool_call_id",
        message="Invalid parameter: 'tool_call_id' of 'x' not found in 'tool_calls' of "
        "previous message.",
    )
