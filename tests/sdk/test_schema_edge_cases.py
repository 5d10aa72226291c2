"""Schemas at the edges of what the generator reads, answered by the running server.

Patterns in RE2 syntax Python's `re` does not read (`\\z`, `\\pL`, `\\x{10FFFF}`), a
`multipleOf` too small to count multiples of, boolean subschemas, and `maxProperties`
below the required properties: each is answered with 200, arguments or output valid
against the schema, or `{}` when no value satisfies it (the README's promise for schemas
it cannot satisfy). Through the `openai` SDK (chat tools, `response_format`, the
Responses API's tools and `text.format`) and through raw HTTP.
"""

from __future__ import annotations

import json
from typing import Any, cast

import jsonschema_rs
import pytest

from mockserver.support.regexes import linear_regex
from mockserver.testing.server import MockServer
from tests.support.clients import azure_client, v1_client
from tests.support.rawhttp import post_chat

MODEL = "o3-mini"
HELLO: Any = [{"role": "user", "content": "hello"}]


def with_a(schema: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"a": schema}, "required": ["a"]}


def forced_tool(parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "tools": [{"type": "function", "function": {"name": "f", "parameters": parameters}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
    }


def valid(schema: dict[str, Any], value: Any) -> bool:
    """Valid against `schema`, its patterns read by RE2 as the service reads them."""
    validator = jsonschema_rs.validator_for(schema, pattern_options=jsonschema_rs.RegexOptions())
    return validator.is_valid(value)


# Schemas some value satisfies: the arguments are one of them.
SATISFIABLE = {
    "end of text": with_a({"type": "string", "pattern": "a\\z"}),
    "a unicode class": with_a({"type": "string", "pattern": "^\\pL+$"}),
    "an uppercase class": with_a({"type": "string", "pattern": "^\\p{Lu}+$"}),
    "the ungreedy flag": with_a({"type": "string", "pattern": "^(?U)a+$"}),
    "the largest code point": with_a({"type": "string", "pattern": "^\\x{10FFFF}$"}),
    "every code point": with_a({"type": "string", "pattern": "^[\\x{0}-\\x{10FFFF}]{1000}$"}),
    "a tiny multipleOf": with_a({"type": "number", "multipleOf": 1e-308}),
    "allOf true": with_a({"allOf": [True]}),
    "anyOf false or a string": with_a({"anyOf": [False, {"type": "string"}]}),
}
# Schemas no value satisfies: answered with `{}`.
UNSATISFIABLE = {
    "a class of no code point": with_a({"type": "string", "pattern": "[^\\x{0}-\\x{10FFFF}]"}),
    "allOf false": with_a({"allOf": [False]}),
    "more required than maxProperties": {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "required": ["a", "b"],
        "maxProperties": 1,
    },
}


@pytest.mark.parametrize("schema", SATISFIABLE.values(), ids=SATISFIABLE.keys())
def test_raw_http_tool_arguments_satisfy_the_schema(server: MockServer, schema: Any) -> None:
    answer = post_chat(server, {"messages": HELLO, **forced_tool(schema)})
    assert answer.status == 200, answer.body[:500]
    choice = answer.json()["choices"][0]
    arguments = json.loads(choice["message"]["tool_calls"][0]["function"]["arguments"])
    assert valid(schema, arguments), arguments
    assert choice["finish_reason"] == "stop"


@pytest.mark.parametrize("schema", UNSATISFIABLE.values(), ids=UNSATISFIABLE.keys())
def test_raw_http_unsatisfiable_tool_schema_gets_empty_arguments(
    server: MockServer, schema: Any
) -> None:
    # http.client's timeout ends the test if the request never gets its answer.
    answer = post_chat(server, {"messages": HELLO, **forced_tool(schema)})
    assert answer.status == 200, answer.body[:500]
    call = answer.json()["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["arguments"] == "{}"


def test_sdk_chat_tool_with_an_re2_pattern_is_called(server: MockServer) -> None:
    schema = with_a({"type": "string", "pattern": "a\\z"})
    client = azure_client(server, timeout=30, max_retries=0)
    completion = client.chat.completions.create(
        model=MODEL, messages=HELLO, **cast(Any, forced_tool(schema))
    )
    calls = completion.choices[0].message.tool_calls or []
    assert [json.loads(call.function.arguments) for call in calls] == [{"a": "a"}]


@pytest.mark.parametrize("schema", SATISFIABLE.values(), ids=SATISFIABLE.keys())
def test_sdk_response_format_output_satisfies_the_schema(server: MockServer, schema: Any) -> None:
    client = azure_client(server, timeout=30, max_retries=0)
    response_format = {"type": "json_schema", "json_schema": {"name": "out", "schema": schema}}
    completion = client.chat.completions.create(
        model=MODEL, messages=HELLO, response_format=cast(Any, response_format)
    )
    output = json.loads(completion.choices[0].message.content or "")
    assert valid(schema, output), output


@pytest.mark.parametrize("schema", UNSATISFIABLE.values(), ids=UNSATISFIABLE.keys())
def test_sdk_response_format_unsatisfiable_schema_gets_an_empty_object(
    server: MockServer, schema: Any
) -> None:
    client = azure_client(server, timeout=30, max_retries=0)
    response_format = {"type": "json_schema", "json_schema": {"name": "out", "schema": schema}}
    completion = client.chat.completions.create(
        model=MODEL, messages=HELLO, response_format=cast(Any, response_format)
    )
    assert completion.choices[0].message.content == "{}"


def test_sdk_responses_text_format_and_tool_with_re2_patterns(server: MockServer) -> None:
    schema = with_a({"type": "string", "pattern": "^\\p{Lu}+\\z"})
    client = v1_client(server, timeout=30, max_retries=0)
    text_format = {"type": "json_schema", "name": "out", "schema": schema}
    formatted = client.responses.create(
        model=MODEL, input="hello", text=cast(Any, {"format": text_format})
    )
    assert linear_regex("^\\p{Lu}+\\z").search(json.loads(formatted.output_text)["a"])
    called = client.responses.create(
        model=MODEL,
        input="hello",
        tools=[{"type": "function", "name": "f", "parameters": schema, "strict": False}],
        tool_choice={"type": "function", "name": "f"},
    )
    calls = [item for item in called.output if item.type == "function_call"]
    assert [valid(schema, json.loads(call.arguments)) for call in calls] == [True]


# No value fits in the budget: every choice is cut there, whatever its seed.
HUGE_PARAMETERS = with_a({"type": "array", "items": {"type": "integer"}, "minItems": 10**9})


def test_raw_http_choices_no_value_fits_are_one_text_cut_at_the_limit(server: MockServer) -> None:
    body = {
        "messages": HELLO,
        "n": 8,
        "max_completion_tokens": 3000,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": HUGE_PARAMETERS}}],
        "tool_choice": "required",
    }
    first, again = post_chat(server, body), post_chat(server, body)
    assert (first.status, again.status) == (200, 200)
    choices = first.json()["choices"]
    arguments = {c["message"]["tool_calls"][0]["function"]["arguments"] for c in choices}
    assert len(arguments) == 1
    assert {c["finish_reason"] for c in choices} == {"length"}
    assert first.json()["usage"]["completion_tokens"] == 8 * 3000
    assert [c["message"]["tool_calls"][0]["function"]["arguments"] for c in choices] == [
        c["message"]["tool_calls"][0]["function"]["arguments"] for c in again.json()["choices"]
    ]


def test_sdk_structured_outputs_no_value_fits_are_cut_at_the_limit(server: MockServer) -> None:
    client = azure_client(server, timeout=30, max_retries=0)
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": HUGE_PARAMETERS},
    }
    completion = client.chat.completions.create(
        model=MODEL,
        messages=HELLO,
        n=4,
        max_completion_tokens=3000,
        response_format=cast(Any, response_format),
    )
    assert len({choice.message.content for choice in completion.choices}) == 1
    assert {choice.finish_reason for choice in completion.choices} == {"length"}
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 4 * 3000
