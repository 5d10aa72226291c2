"""Tool and structured-output errors through the `openai` SDK: message, param and code, as
docs/fidelity.md ("Tools and structured outputs") and azure-contract.md section 3.11 give them.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any, Literal, cast

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
from pydantic import BaseModel, Field

from tests.sdk.helpers import assert_error

MODEL = "o3-mini"
HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]
FUNCTION_PARAMS = "tools[0].function.parameters"
INVALID_PARAMETERS = "invalid_function_parameters"
ROOT_NOT_OBJECT = "schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{}\"'."
REQUIRED = (
    "'required' is required to be supplied and to be an array including every key in properties."
)
ADDITIONAL = "'additionalProperties' is required to be supplied and to be false."


def tool(
    parameters: Any, strict: bool | None = None, name: str = "get_weather"
) -> ChatCompletionToolParam:
    function: dict[str, Any] = {"name": name, "parameters": parameters}
    if strict is not None:
        function["strict"] = strict
    return cast(ChatCompletionToolParam, {"type": "function", "function": function})


def closed(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """An object schema that satisfies strict mode unless a test changes it."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


def create_error(client: openai.AzureOpenAI, **request: Any) -> openai.BadRequestError:
    request.setdefault("messages", HELLO)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, **request)
    return caught.value


def assert_function_schema_error(
    client: openai.AzureOpenAI, parameters: Any, strict: bool | None, detail: str
) -> None:
    error = create_error(client, tools=[tool(parameters, strict)])
    assert_error(
        error,
        status=400,
        message=f"Invalid schema for function 'get_weather': {detail}",
        code=INVALID_PARAMETERS,
        param=FUNCTION_PARAMS,
    )


STRING = {"type": "string"}


# --- strict mode -------------------------------------------------------------------------------


STRICT_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "root-additional-properties-missing": (
        {"type": "object", "properties": {"city": STRING}, "required": ["city"]},
        f"In context=(), {ADDITIONAL}",
    ),
    "root-additional-properties-true": (
        {**closed({"city": STRING}), "additionalProperties": True},
        f"In context=(), {ADDITIONAL}",
    ),
    "nested-additional-properties-missing": (
        closed(
            {
                "address": {
                    "type": "object",
                    "properties": {"street": STRING},
                    "required": ["street"],
                }
            }
        ),
        f"In context=('properties', 'address'), {ADDITIONAL}",
    ),
    "object-in-array-items": (
        closed({"stops": {"type": "array", "items": {"type": "object", "properties": {}}}}),
        f"In context=('properties', 'stops', 'items'), {ADDITIONAL}",
    ),
    "required-missing-key": (
        closed({"a": STRING, "b": STRING}, required=["a"]),
        f"In context=(), {REQUIRED} Missing 'b'.",
    ),
    "required-absent": (
        {"type": "object", "properties": {"a": STRING}, "additionalProperties": False},
        f"In context=(), {REQUIRED} Missing 'a'.",
    ),
    "required-extra-key": (
        closed({"a": STRING}, required=["a", "c"]),
        f"In context=(), {REQUIRED} Extra required key 'c' supplied.",
    ),
    "min-length": (
        closed({"city": {"type": "string", "minLength": 1}}),
        "In context=('properties', 'city'), 'minLength' is not permitted.",
    ),
    "all-of": (
        closed({"city": {"type": "string", "allOf": [STRING]}}),
        "In context=('properties', 'city'), 'allOf' is not permitted.",
    ),
    "uri-format": (
        closed({"homepage": {"type": "string", "format": "uri"}}),
        "In context=('properties', 'homepage'), 'uri' is not a valid format.",
    ),
    "no-type": (
        closed({"city": {"description": "The city"}}),
        "In context=('properties', 'city'), schema must have a 'type' key.",
    ),
    "nested-in-defs": (
        {
            **closed({"home": {"$ref": "#/$defs/address"}}),
            "$defs": {"address": {"type": "object", "properties": {"street": STRING}}},
        },
        f"In context=('$defs', 'address'), {ADDITIONAL}",
    ),
}


@pytest.mark.parametrize("case", sorted(STRICT_CASES))
def test_strict_function_schema_errors(client: openai.AzureOpenAI, case: str) -> None:
    parameters, detail = STRICT_CASES[case]
    assert_function_schema_error(client, parameters, strict=True, detail=detail)


@pytest.mark.parametrize("case", sorted(STRICT_CASES))
def test_strict_rules_do_not_apply_without_strict(client: openai.AzureOpenAI, case: str) -> None:
    parameters, _ = STRICT_CASES[case]
    for strict in (None, False):
        completion = client.chat.completions.create(
            model=MODEL,
            messages=HELLO,
            tools=[tool(parameters, strict)],
            tool_choice="required",
        )
        assert completion.choices[0].message.tool_calls is not None


@pytest.mark.parametrize("case", sorted(STRICT_CASES))
def test_strict_response_format_errors(client: openai.AzureOpenAI, case: str) -> None:
    schema, detail = STRICT_CASES[case]
    error = create_error(
        client,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "weather_report", "strict": True, "schema": schema},
        },
    )
    assert_error(
        error,
        status=400,
        message=f"Invalid schema for response_format 'weather_report': {detail}",
        code="invalid_json_schema",
        param="response_format",
    )


# --- any mode ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "shown"),
    [
        ({"type": "array", "items": STRING}, "array"),
        ({"type": "string"}, "string"),
        ({"properties": {"city": STRING}}, "None"),
    ],
)
@pytest.mark.parametrize("strict", [None, True])
def test_root_must_be_an_object(
    client: openai.AzureOpenAI, schema: dict[str, Any], shown: str, strict: bool | None
) -> None:
    assert_function_schema_error(client, schema, strict, ROOT_NOT_OBJECT.format(shown))
    spec: dict[str, Any] = {"name": "out", "schema": schema}
    if strict is not None:
        spec["strict"] = strict
    error = create_error(client, response_format={"type": "json_schema", "json_schema": spec})
    assert_error(
        error,
        status=400,
        message=f"Invalid schema for response_format 'out': {ROOT_NOT_OBJECT.format(shown)}",
        code="invalid_json_schema",
        param="response_format",
    )


@pytest.mark.parametrize("strict", [None, False, True])
def test_array_without_items(client: openai.AzureOpenAI, strict: bool | None) -> None:
    parameters = closed({"tags": {"type": "array"}})
    detail = "In context=('properties', 'tags'), array schema missing items."
    assert_function_schema_error(client, parameters, strict, detail)


def test_array_without_items_in_the_second_tool(client: openai.AzureOpenAI) -> None:
    good = tool(closed({"city": STRING}))
    bad = tool({"type": "object", "properties": {"ids": {"type": "array"}}}, name="list_ids")
    error = create_error(client, tools=[good, bad])
    assert_error(
        error,
        status=400,
        message="Invalid schema for function 'list_ids': In context=('properties', 'ids'), "
        "array schema missing items.",
        code=INVALID_PARAMETERS,
        param="tools[1].function.parameters",
    )


def test_invalid_json_schema_is_refused(client: openai.AzureOpenAI) -> None:
    error = create_error(client, tools=[tool({"type": "object", "properties": {"a": 5}})])
    assert error.code == INVALID_PARAMETERS
    assert error.param == FUNCTION_PARAMS
    assert error.message.startswith("Error code: 400 - Invalid schema for function 'get_weather': ")


# --- names and counts --------------------------------------------------------------------------


def test_function_name_with_a_dot(client: openai.AzureOpenAI) -> None:
    error = create_error(client, tools=[tool(closed({}), name="weather.get")])
    assert_error(
        error,
        status=400,
        message="Invalid 'tools[0].function.name': string does not match pattern. Expected a "
        "string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
        code="invalid_value",
        param="tools[0].function.name",
    )


def test_function_name_of_65_characters(client: openai.AzureOpenAI) -> None:
    error = create_error(client, tools=[tool(closed({}), name="f" * 65)])
    assert_error(
        error,
        status=400,
        message="Invalid 'tools[0].function.name': string too long. Expected a string with "
        "maximum length 64, but got a string with length 65 instead.",
        code="string_above_max_length",
        param="tools[0].function.name",
    )


def test_function_name_of_64_characters_is_accepted(client: openai.AzureOpenAI) -> None:
    name = "f" * 64
    completion = client.chat.completions.create(
        model=MODEL,
        messages=HELLO,
        tools=[tool(closed({}), name=name)],
        tool_choice="required",
    )
    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].type == "function"
    assert calls[0].function.name == name


def test_129_tools(client: openai.AzureOpenAI) -> None:
    tools = [tool(closed({}), name=f"tool_{i}") for i in range(129)]
    error = create_error(client, tools=tools)
    assert_error(
        error,
        status=400,
        message="Invalid 'tools': array too long. Expected an array with maximum length 128, "
        "but got an array with length 129 instead.",
        code="array_above_max_length",
        param="tools",
    )


def test_128_tools_are_accepted(client: openai.AzureOpenAI) -> None:
    tools = [tool(closed({}), name=f"tool_{i}") for i in range(128)]
    completion = client.chat.completions.create(
        model=MODEL,
        messages=HELLO,
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "tool_127"}},
    )
    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].type == "function"
    assert calls[0].function.name == "tool_127"


# --- tool_choice and function_call -------------------------------------------------------------


@pytest.mark.parametrize(
    "choice", ["auto", "none", "required", {"type": "function", "function": {"name": "f"}}]
)
def test_tool_choice_without_tools(client: openai.AzureOpenAI, choice: Any) -> None:
    error = create_error(client, tool_choice=choice)
    assert_error(
        error,
        status=400,
        message="Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' "
        "are specified.",
        code=None,
        param="tool_choice",
    )


def test_tool_choice_naming_an_absent_function(client: openai.AzureOpenAI) -> None:
    error = create_error(
        client,
        tools=[tool(closed({}))],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    assert_error(
        error,
        status=400,
        message="Tool choice 'function' not found in 'tools' parameter.",
        code=None,
        param="tool_choice",
    )


def test_function_call_naming_an_absent_function(client: openai.AzureOpenAI) -> None:
    error = create_error(
        client,
        functions=[{"name": "get_weather", "parameters": closed({})}],
        function_call={"name": "get_time"},
    )
    assert_error(
        error,
        status=400,
        message="Invalid value for 'function_call': function 'get_time' not found in 'functions'.",
        code=None,
        param="function_call",
    )


def test_function_call_without_functions(client: openai.AzureOpenAI) -> None:
    error = create_error(client, function_call="auto")
    assert_error(
        error,
        status=400,
        message="Invalid value for 'function_call': 'function_call' is only allowed when "
        "'functions' are specified.",
        code=None,
        param="function_call",
    )


def test_legacy_function_schema_is_checked(client: openai.AzureOpenAI) -> None:
    error = create_error(
        client,
        functions=[{"name": "get_weather", "parameters": {"type": "array", "items": STRING}}],
    )
    assert_error(
        error,
        status=400,
        message=f"Invalid schema for function 'get_weather': {ROOT_NOT_OBJECT.format('array')}",
        code=INVALID_PARAMETERS,
        param="functions[0].parameters",
    )


# --- response_format ---------------------------------------------------------------------------


def test_json_object_without_the_word_json(client: openai.AzureOpenAI) -> None:
    error = create_error(
        client,
        messages=[{"role": "user", "content": "Describe Paris as an object."}],
        response_format={"type": "json_object"},
    )
    assert_error(
        error,
        status=400,
        message="'messages' must contain the word 'json' in some form, to use "
        "'response_format' of type 'json_object'.",
        code=None,
        param="messages",
    )


def test_strict_response_format_missing_additional_properties(
    client: openai.AzureOpenAI,
) -> None:
    """The observed sentence (azure-contract.md 3.11: response_format 'schemaing')."""
    error = create_error(
        client,
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": "schemaing",
                "strict": True,
                "schema": {"type": "object", "properties": {"a": STRING}, "required": ["a"]},
            },
        },
    )
    assert_error(
        error,
        status=400,
        message=f"Invalid schema for response_format 'schemaing': In context=(), {ADDITIONAL}",
        code="invalid_json_schema",
        param="response_format",
    )


def test_response_format_name_with_a_space(client: openai.AzureOpenAI) -> None:
    error = create_error(
        client,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "weather report", "schema": closed({"a": STRING})},
        },
    )
    assert error.param == "response_format.json_schema.name"
    assert error.code == "invalid_value"


# --- what the SDK's .parse() sends is accepted -------------------------------------------------


class Status(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Point(BaseModel):
    x: float
    y: float = Field(ge=-90, le=90, description="latitude")


class Shape(BaseModel):
    kind: Literal["polygon", "line"]
    points: list[Point]
    label: str | None


class Event(BaseModel):
    id: uuid.UUID
    starts: dt.datetime
    day: dt.date
    status: Status
    code: str = Field(pattern=r"^[A-Z]{3}$")
    shapes: list[Shape]
    parent: Event | None
    tags: list[str]
    score: int | float
    flag: bool = False


class Comment(BaseModel):
    text: str
    replies: list[Comment]


@pytest.mark.parametrize("model", [Event, Comment, Shape, Point], ids=lambda m: m.__name__)
def test_pydantic_models_valid_for_parse_are_accepted(
    client: openai.AzureOpenAI, model: type[BaseModel]
) -> None:
    completion = client.chat.completions.parse(model=MODEL, messages=HELLO, response_format=model)
    assert isinstance(completion.choices[0].message.parsed, model)
    tool_completion = client.chat.completions.parse(
        model=MODEL,
        messages=HELLO,
        tools=[openai.pydantic_function_tool(model)],
        tool_choice="required",
    )
    calls = tool_completion.choices[0].message.tool_calls
    assert calls is not None
    assert isinstance(calls[0].function.parsed_arguments, model)


def test_pydantic_model_outside_strict_mode_is_refused(client: openai.AzureOpenAI) -> None:
    """`min_length` becomes `minLength`, which strict mode does not permit: the service refuses
    what the SDK sends, and so does the mock."""

    class Name(BaseModel):
        value: str = Field(min_length=2)

    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.parse(model=MODEL, messages=HELLO, response_format=Name)
    assert_error(
        caught.value,
        status=400,
        message="Invalid schema for response_format 'Name': In context=('properties', 'value'), "
        "'minLength' is not permitted.",
        code="invalid_json_schema",
        param="response_format",
    )
