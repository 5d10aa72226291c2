"""Errors of the Responses API name what a Responses client sent and may send: no chat-only
field (`response_format.json_schema`, `tool_choice.function`) or content part type
(`image_url`, `text`) leaks from the chat checks the request is translated for."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai.types.responses import ResponseInputParam

from mockserver.testing.server import MockServer
from tests.responses.helpers import WEATHER_TOOL, error_body, post, v1_url

IMAGE = {"type": "input_image", "image_url": "https://example.com/y.png"}
SCHEMA = {"type": "object", "properties": {}, "additionalProperties": False}


def _format(**fields: Any) -> dict[str, Any]:
    return {"text": {"format": {"type": "json_schema", **fields}}}


def _first_turn(role: str, part: dict[str, Any]) -> dict[str, Any]:
    turns = [{"role": role, "content": [part]}, {"role": "user", "content": "hi"}]
    return {"input": turns}


def _part_type_error(message: str, item: int = 0) -> dict[str, Any]:
    return error_body(message, f"input[{item}].content[0].type", "invalid_value")


LISTED = (
    "'input_text', 'input_image', 'output_text', 'refusal', 'input_file', "
    "'computer_screenshot', and 'summary_text'"
)
HI = {"role": "user", "content": "hi"}
CALL = {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"}
OUTPUT = {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}
NO_OUTPUT = error_body("No tool output found for function call call_1.", "input", None)
NO_CALL = error_body(
    "No tool call found for function call output with call_id call_1.", "input", None
)

CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # OpenAI names the missing name first (openai/openai-node#1404; the nested chat form,
    # which has neither name nor schema at the top, is answered with the name).
    "format-without-name-or-schema": (
        _format(),
        error_body(
            "Missing required parameter: 'text.format.name'.",
            "text.format.name",
            "missing_required_parameter",
        ),
    ),
    "format-without-schema": (
        _format(name="answer"),
        error_body(
            "Missing required parameter: 'text.format.schema'.",
            "text.format.schema",
            "missing_required_parameter",
        ),
    ),
    "format-schema-not-object": (
        _format(name="answer", schema=5),
        error_body(
            "Invalid type for 'text.format.schema': expected an object, but got an integer "
            "instead.",
            "text.format.schema",
            "invalid_type",
        ),
    ),
    "format-strict-not-boolean": (
        _format(name="answer", schema=SCHEMA, strict="yes"),
        error_body(
            "Invalid type for 'text.format.strict': expected a boolean, but got a string instead.",
            "text.format.strict",
            "invalid_type",
        ),
    ),
    "format-name-pattern": (
        _format(name="an answer", schema=SCHEMA),
        error_body(
            "Invalid 'text.format.name': string does not match pattern. Expected a string "
            "that matches the pattern '^[a-zA-Z0-9_-]+$'.",
            "text.format.name",
            "invalid_value",
        ),
    ),
    "developer-image": (
        _first_turn("developer", IMAGE),
        _part_type_error("Invalid value: 'input_image'. Supported values are: 'input_text'."),
    ),
    "system-refusal": (
        _first_turn("system", {"type": "refusal", "refusal": "no"}),
        _part_type_error("Invalid value: 'refusal'. Supported values are: 'input_text'."),
    ),
    "assistant-image": (
        _first_turn("assistant", IMAGE),
        _part_type_error(
            "Invalid value: 'input_image'. Supported values are: 'output_text' and 'refusal'."
        ),
    ),
    "user-refusal": (
        {"input": [{"role": "user", "content": [{"type": "refusal", "refusal": "no"}]}]},
        _part_type_error(
            "Invalid value: 'refusal'. Supported values are: 'input_text' and 'input_image'."
        ),
    ),
    "user-image": (
        {"input": [{"role": "user", "content": [IMAGE]}]},
        error_body(
            "Invalid content type. input_image is only supported by certain models.",
            "input[0].content[0].type",
            None,
        ),
    ),
    # Chat's `text` part is refused, with the service's whole list (observed wording).
    "chat-text-part": (
        {"input": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]},
        _part_type_error(f"Invalid value: 'text'. Supported values are: {LISTED}."),
    ),
    "unknown-part": (
        {"input": [{"role": "user", "content": [{"type": "bogus"}]}]},
        _part_type_error(f"Invalid value: 'bogus'. Supported values are: {LISTED}."),
    ),
    "part-without-type": (
        {"input": [{"role": "user", "content": [{"text": "hi"}]}]},
        error_body(
            "Missing required parameter: 'input[0].content[0].type'.",
            "input[0].content[0].type",
            "missing_required_parameter",
        ),
    ),
    # Listed by the service, but not parts o3-mini takes.
    "file-part": (
        {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
        error_body(
            "Invalid content type. input_file is only supported by certain models.",
            "input[0].content[0].type",
            None,
        ),
    ),
    # Chat's tool-message order errors name `tool_calls` / `tool_call_id`; a call and an
    # output that do not pair up are worded as the Responses API's own checks word them.
    "message-between-call-and-output": ({"input": [HI, CALL, HI, OUTPUT]}, NO_OUTPUT),
    "call-id-twice": ({"input": [HI, CALL, CALL, OUTPUT]}, NO_OUTPUT),
    "output-twice": ({"input": [HI, CALL, OUTPUT, OUTPUT]}, NO_CALL),
    "output-after-a-message": ({"input": [HI, CALL, OUTPUT, HI, OUTPUT]}, NO_CALL),
    "tool-choice-type": (
        {"tools": [WEATHER_TOOL], "tool_choice": {"type": "file_search"}},
        error_body(
            "Invalid value: 'file_search'. Supported values are: 'function'.",
            "tool_choice.type",
            "invalid_value",
        ),
    ),
    "tool-choice-without-name": (
        {"tools": [WEATHER_TOOL], "tool_choice": {"type": "function"}},
        error_body(
            "Missing required parameter: 'tool_choice.name'.",
            "tool_choice.name",
            "missing_required_parameter",
        ),
    ),
}


@pytest.mark.parametrize(("extra", "expected"), CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("surface", ["dated", "v1"])
def test_errors_use_responses_words(
    server: MockServer, surface: str, extra: dict[str, Any], expected: dict[str, Any]
) -> None:
    url = v1_url(server) if surface == "v1" else None
    response = post(server, {"model": "o3-mini", "input": "hi", **extra}, url=url)
    assert response.status == 400
    assert response.json() == expected


def test_the_part_type_named_is_the_one_sent(server: MockServer) -> None:
    """The chat form turns `output_text` into `text`; the error names the item's part."""
    parts = [{"type": "output_text", "text": "x"}, IMAGE]
    turns = [{"role": "user", "content": "a"}, {"role": "developer", "content": parts}]
    response = post(server, {"model": "o3-mini", "input": turns})
    assert response.status == 400
    assert response.json() == error_body(
        "Invalid value: 'input_image'. Supported values are: 'input_text'.",
        "input[1].content[1].type",
        "invalid_value",
    )


def test_sdk_json_schema_format_without_name(azure: openai.AzureOpenAI) -> None:
    nameless = {"type": "json_schema", "schema": SCHEMA}  # the SDK's types require a name
    with pytest.raises(openai.BadRequestError) as raised:
        azure.responses.create(
            model="o3-mini", input="hi", extra_body={"text": {"format": nameless}}
        )
    assert raised.value.status_code == 400
    assert (raised.value.param, raised.value.code) == ("text.format.name", _MISSING)
    assert (
        raised.value.body
        == error_body(
            "Missing required parameter: 'text.format.name'.", "text.format.name", _MISSING
        )["error"]
    )


def test_sdk_image_in_a_developer_message(v1: openai.OpenAI) -> None:
    turns: ResponseInputParam = [
        {
            "role": "developer",
            "content": [{"type": "input_image", "image_url": IMAGE["image_url"], "detail": "auto"}],
        },
        {"role": "user", "content": "hi"},
    ]
    with pytest.raises(openai.BadRequestError) as raised:
        v1.responses.create(model="o3-mini", input=turns)
    assert raised.value.status_code == 400
    assert (raised.value.param, raised.value.code) == ("input[0].content[0].type", "invalid_value")
    assert (
        raised.value.body
        == _part_type_error("Invalid value: 'input_image'. Supported values are: 'input_text'.")[
            "error"
        ]
    )


def test_sdk_chat_text_part_is_refused(v1: openai.OpenAI) -> None:
    """Chat's part shape sent to the Responses API fails there as on the service."""
    turns: Any = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    with pytest.raises(openai.BadRequestError) as raised:
        v1.responses.create(model="o3-mini", input=turns)
    assert raised.value.status_code == 400
    expected = _part_type_error(f"Invalid value: 'text'. Supported values are: {LISTED}.")
    assert raised.value.body == expected["error"]


_MISSING = "missing_required_parameter"
