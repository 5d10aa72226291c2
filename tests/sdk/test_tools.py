"""Tool calls end to end through the `openai` SDK: an agent loop, tool_choice, arguments.

The rule under test (docs/fidelity.md, "Tools and structured outputs"; the code is
`mockserver/engines/tool_choice.py`): `none` gives a message; a named function a call to it
with `finish_reason: "stop"`; `auto` and `required` a call to the tool sharing most words
with the last user message (`required`: else the first tool; `auto`: else a message, or the
final-answer tool); after tool results a call to another matching tool or the final-answer
tool, else a message.
"""

from __future__ import annotations

import json
from typing import Any, cast

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam, ChatCompletionToolParam

from mockserver.testing.server import MockServer
from mockserver.tokens import counting as tokens
from tests.sdk.helpers import TOOL_CALL_ID
from tests.support import rawhttp
from tests.support.schemas import assert_valid

MODEL = "o3-mini"
WEATHER_QUESTION = "What is the weather like in Paris today?"

WEATHER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "The city, e.g. Paris"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
}


def function_tool(
    name: str, parameters: dict[str, Any], description: str = "", strict: bool | None = None
) -> ChatCompletionToolParam:
    function: dict[str, Any] = {"name": name, "parameters": parameters}
    if description:
        function["description"] = description
    if strict is not None:
        function["strict"] = strict
    return cast(ChatCompletionToolParam, {"type": "function", "function": function})


GET_WEATHER = function_tool(
    "get_weather", WEATHER_PARAMETERS, "Get the current weather for a city."
)
SEARCH_FLIGHTS = function_tool(
    "search_flights",
    {
        "type": "object",
        "properties": {
            "origin": {"type": "string"},
            "destination": {"type": "string"},
            "date": {"type": "string", "format": "date"},
        },
        "required": ["origin", "destination", "date"],
    },
    "Search flights between two airports on a date.",
)
SEND_EMAIL = function_tool(
    "send_email",
    {
        "type": "object",
        "properties": {"to": {"type": "string", "format": "email"}, "body": {"type": "string"}},
        "required": ["to", "body"],
    },
    "Send an email message to a recipient.",
)


def user(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


def parameters_of(tool: ChatCompletionToolParam) -> dict[str, Any]:
    return cast(dict[str, Any], tool["function"]["parameters"])


def single_call(completion: ChatCompletion) -> openai.types.chat.ChatCompletionMessageToolCall:
    """The one tool call of the only choice, with the shape a call always has."""
    assert len(completion.choices) == 1
    message = completion.choices[0].message
    assert message.role == "assistant"
    assert message.content is None
    assert message.refusal is None
    assert message.function_call is None
    assert message.tool_calls is not None
    assert len(message.tool_calls) == 1
    call = message.tool_calls[0]
    assert call.type == "function"
    assert TOOL_CALL_ID.match(call.id), call.id
    return call


def assert_text_reply(completion: ChatCompletion) -> str:
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.tool_calls is None
    assert choice.message.function_call is None
    assert isinstance(choice.message.content, str)
    assert choice.message.content
    return choice.message.content


def arguments_of(call: openai.types.chat.ChatCompletionMessageToolCall) -> Any:
    arguments = json.loads(call.function.arguments)
    assert isinstance(arguments, dict)
    return arguments


# --- the agent loop ----------------------------------------------------------------------------


def run_weather_tool(arguments: dict[str, Any]) -> str:
    return json.dumps({"city": arguments["city"], "temperature": 21, "unit": arguments["unit"]})


@pytest.mark.parametrize("history_form", ["sdk-model", "dict"])
def test_agent_loop_runs_to_completion(client: openai.AzureOpenAI, history_form: str) -> None:
    messages: list[Any] = [
        {"role": "system", "content": "You are a helpful assistant with tools."},
        *user(WEATHER_QUESTION),
    ]
    calls = 0
    for _turn in range(4):
        completion = client.chat.completions.create(
            model=MODEL, messages=messages, tools=[GET_WEATHER]
        )
        choice = completion.choices[0]
        if choice.finish_reason != "tool_calls":
            break
        call = single_call(completion)
        assert call.function.name == "get_weather"
        arguments = arguments_of(call)
        assert_valid(arguments, WEATHER_PARAMETERS)
        calls += 1
        if history_form == "sdk-model":
            messages.append(choice.message)
        else:
            messages.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {
                                "name": call.function.name,
                                "arguments": call.function.arguments,
                            },
                        }
                    ],
                }
            )
        messages.append(
            {"role": "tool", "tool_call_id": call.id, "content": run_weather_tool(arguments)}
        )
    else:
        pytest.fail("the agent loop did not end within 4 turns")
    assert calls == 1
    text = assert_text_reply(completion)
    assert text.startswith("According to get_weather, ")
    assert "temperature is 21" in text.split("\n", 1)[0]


def test_crewai_nudge_after_tool_result_gets_a_message(client: openai.AzureOpenAI) -> None:
    """crewAI's native tool loop appends this user message after the tool results (recorded in
    `azure/crewai__TestAzureNativeToolCalling.test_azure_agent_with_native_tool_calling.yaml`);
    the tool is the one of the recorded parallel test. Azure answered such turns with a message;
    a call here would send crewAI round its loop until `max_iter`."""
    search = function_tool(
        "parallel_local_search_one",
        {
            "properties": {
                "query": {"description": "Search query", "title": "Query", "type": "string"}
            },
            "required": ["query"],
            "type": "object",
            "additionalProperties": False,
        },
        "Local search tool #1 for concurrency testing.",
    )
    nudge = (
        "Analyze the tool result. If requirements are met, provide the Final Answer. "
        "Otherwise, call the next tool. Deliver only the answer without meta-commentary."
    )
    messages: list[Any] = user("Search for the latest OpenAI model release notes.")
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=[search])
    call = single_call(first)
    messages += [
        first.choices[0].message,
        {"role": "tool", "tool_call_id": call.id, "content": "[one] release notes"},
        {"role": "user", "content": nudge},
    ]
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=[search])
    assert_text_reply(second)


@pytest.mark.parametrize("unknown", [[[1]], True, [{"id": "call_w", "function": 1}]])
def test_a_tool_result_is_named_by_the_assistant_call_whatever_another_role_holds(
    client: openai.AzureOpenAI, unknown: Any
) -> None:
    """A `tool_calls` field on a user message is an unknown field of any JSON: ignored; the
    result is named by the assistant's call with its id."""
    call = {
        "id": "call_w",
        "type": "function",
        "function": {"name": "get_weather", "arguments": "{}"},
    }
    messages: list[Any] = [
        {"role": "user", "content": WEATHER_QUESTION, "tool_calls": unknown},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_w", "content": '{"temperature": 21}'},
    ]
    completion = client.chat.completions.create(model=MODEL, messages=messages, tools=[GET_WEATHER])
    assert assert_text_reply(completion).startswith("According to get_weather, temperature is 21")


async def test_async_tool_round_trip(async_client: openai.AsyncAzureOpenAI) -> None:
    messages: list[Any] = user(WEATHER_QUESTION)
    async with async_client:
        first = await async_client.chat.completions.create(
            model=MODEL, messages=messages, tools=[GET_WEATHER]
        )
        assert first.choices[0].finish_reason == "tool_calls"
        call = single_call(first)
        assert call.function.name == "get_weather"
        arguments = arguments_of(call)
        assert_valid(arguments, WEATHER_PARAMETERS)
        messages += [
            first.choices[0].message,
            {"role": "tool", "tool_call_id": call.id, "content": run_weather_tool(arguments)},
        ]
        second = await async_client.chat.completions.create(
            model=MODEL, messages=messages, tools=[GET_WEATHER]
        )
    assert assert_text_reply(second).startswith("According to get_weather, ")


# --- tool_choice -------------------------------------------------------------------------------


def test_tool_choice_none_gives_text(client: openai.AzureOpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL, messages=user(WEATHER_QUESTION), tools=[GET_WEATHER], tool_choice="none"
    )
    assert_text_reply(completion)


def test_tool_choice_required_without_a_matching_word_calls_the_first_tool(
    client: openai.AzureOpenAI,
) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=user("Hello there!"),
        tools=[SEND_EMAIL, GET_WEATHER],
        tool_choice="required",
    )
    assert completion.choices[0].finish_reason == "tool_calls"
    call = single_call(completion)
    assert call.function.name == "send_email"
    assert_valid(arguments_of(call), parameters_of(SEND_EMAIL))


def test_tool_choice_required_prefers_the_matching_tool(client: openai.AzureOpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=user(WEATHER_QUESTION),
        tools=[SEND_EMAIL, GET_WEATHER],
        tool_choice="required",
    )
    assert completion.choices[0].finish_reason == "tool_calls"
    assert single_call(completion).function.name == "get_weather"


def test_named_tool_choice_calls_it_and_stops(client: openai.AzureOpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=user(WEATHER_QUESTION),  # matches get_weather, but the request names another
        tools=[GET_WEATHER, SEARCH_FLIGHTS],
        tool_choice={"type": "function", "function": {"name": "search_flights"}},
    )
    assert completion.choices[0].finish_reason == "stop"
    call = single_call(completion)
    assert call.function.name == "search_flights"
    assert_valid(arguments_of(call), parameters_of(SEARCH_FLIGHTS))


@pytest.mark.parametrize("tool_choice", ["auto", None])
def test_auto_without_a_shared_word_gives_text(
    client: openai.AzureOpenAI, tool_choice: str | None
) -> None:
    extra: dict[str, Any] = {} if tool_choice is None else {"tool_choice": tool_choice}
    completion = client.chat.completions.create(
        model=MODEL,
        messages=user("Hello! How are you doing?"),
        tools=[GET_WEATHER, SEARCH_FLIGHTS],
        **extra,
    )
    assert_text_reply(completion)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Will I need an umbrella? Check the weather in Oslo.", "get_weather"),
        ("Find me flights from Boston to Denver next Friday.", "search_flights"),
        ("Please email my landlord that the rent is paid.", "send_email"),
    ],
)
def test_auto_picks_the_best_matching_tool(
    client: openai.AzureOpenAI, question: str, expected: str
) -> None:
    tools = [GET_WEATHER, SEARCH_FLIGHTS, SEND_EMAIL]
    completion = client.chat.completions.create(
        model=MODEL, messages=user(question), tools=tools, tool_choice="auto"
    )
    assert completion.choices[0].finish_reason == "tool_calls"
    call = single_call(completion)
    assert call.function.name == expected
    tool = next(t for t in tools if t["function"]["name"] == expected)
    assert_valid(arguments_of(call), parameters_of(tool))


# --- determinism -------------------------------------------------------------------------------


def test_same_request_same_arguments_new_ids(client: openai.AzureOpenAI) -> None:
    request: dict[str, Any] = {
        "model": MODEL,
        "messages": user(WEATHER_QUESTION),
        "tools": [GET_WEATHER, SEARCH_FLIGHTS],
    }
    first = single_call(client.chat.completions.create(**request))
    second = single_call(client.chat.completions.create(**request))
    assert first.function == second.function
    assert first.id != second.id  # ids are new on every response, as on Azure


def test_seed_changes_the_arguments(client: openai.AzureOpenAI) -> None:
    # No city named: the prompt fixes nothing (a named one is echoed, test_schema_intent.py).
    arguments = {
        single_call(
            client.chat.completions.create(
                model=MODEL,
                messages=user("What is the weather like today?"),
                tools=[GET_WEATHER],
                seed=seed,
            )
        ).function.arguments
        for seed in range(1, 7)
    }
    assert len(arguments) >= 3
    for text in arguments:
        assert_valid(json.loads(text), WEATHER_PARAMETERS)


def test_n_2_gives_two_calls(client: openai.AzureOpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL, messages=user(WEATHER_QUESTION), tools=[GET_WEATHER], n=2
    )
    assert [choice.index for choice in completion.choices] == [0, 1]
    ids = set()
    for choice in completion.choices:
        assert choice.finish_reason == "tool_calls"
        assert choice.message.content is None
        assert choice.message.tool_calls is not None
        assert len(choice.message.tool_calls) == 1
        call = cast(openai.types.chat.ChatCompletionMessageToolCall, choice.message.tool_calls[0])
        assert TOOL_CALL_ID.match(call.id)
        assert call.function.name == "get_weather"
        assert_valid(json.loads(call.function.arguments), WEATHER_PARAMETERS)
        ids.add(call.id)
    assert len(ids) == 2


# --- arguments for realistic schemas -------------------------------------------------------------

ADDRESS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "street": {"type": "string"},
        "city": {"type": "string"},
        "postal_code": {"type": "string", "pattern": "^[0-9]{5}$"},
        "country": {"type": "string", "enum": ["US", "FR", "DE", "JP"]},
    },
    "required": ["street", "city", "postal_code", "country"],
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "nested_objects": {
        "type": "object",
        "properties": {
            "customer": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "address": ADDRESS,
                    "contact": {
                        "type": "object",
                        "properties": {
                            "email": {"type": "string", "format": "email"},
                            "phone": {"type": "string"},
                        },
                        "required": ["email"],
                    },
                },
                "required": ["name", "address", "contact"],
            }
        },
        "required": ["customer"],
    },
    "arrays_with_bounds": {
        "type": "object",
        "properties": {
            "tags": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 2,
                "maxItems": 4,
            },
            "scores": {
                "type": "array",
                "items": {"type": "number", "minimum": 0, "maximum": 1},
                "minItems": 1,
                "maxItems": 1,
            },
            "matrix": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "integer"}, "minItems": 3},
                "minItems": 2,
                "maxItems": 2,
            },
        },
        "required": ["tags", "scores", "matrix"],
    },
    "enums": {
        "type": "object",
        "properties": {
            "priority": {"type": "string", "enum": ["low", "medium", "high", "urgent"]},
            "level": {"type": "integer", "enum": [1, 2, 3]},
            "mixed": {"enum": ["a", 1, None, True]},
            "kind": {"const": "ticket"},
        },
        "required": ["priority", "level", "mixed", "kind"],
    },
    "formats": {
        "type": "object",
        "properties": {
            "day": {"type": "string", "format": "date"},
            "at": {"type": "string", "format": "date-time"},
            "email": {"type": "string", "format": "email"},
            "id": {"type": "string", "format": "uuid"},
            "host": {"type": "string", "format": "ipv4"},
            "v6": {"type": "string", "format": "ipv6"},
        },
        "required": ["day", "at", "email", "id", "host", "v6"],
    },
    "integer_bounds": {
        "type": "object",
        "properties": {
            "page": {"type": "integer", "minimum": 1, "maximum": 10},
            "offset": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 3},
            "step": {"type": "integer", "multipleOf": 5, "minimum": 10, "maximum": 30},
            "ratio": {"type": "number", "minimum": -1.5, "maximum": -1.25},
        },
        "required": ["page", "offset", "step", "ratio"],
    },
    "any_of_null": {
        "type": "object",
        "properties": {
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "limit": {"type": ["integer", "null"], "minimum": 0},
            "filter": {
                "anyOf": [
                    {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
                    {"type": "null"},
                ]
            },
        },
        "required": ["note", "limit", "filter"],
    },
    "defs_and_refs": {
        "type": "object",
        "$defs": {
            "address": ADDRESS,
            "person": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "home": {"$ref": "#/$defs/address"},
                    "work": {"anyOf": [{"$ref": "#/$defs/address"}, {"type": "null"}]},
                },
                "required": ["name", "home", "work"],
            },
        },
        "properties": {
            "sender": {"$ref": "#/$defs/person"},
            "recipients": {"type": "array", "items": {"$ref": "#/$defs/person"}, "minItems": 1},
        },
        "required": ["sender", "recipients"],
    },
    "recursive_tree": {
        "type": "object",
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                },
                "required": ["label", "children"],
            }
        },
        "properties": {"root": {"$ref": "#/$defs/node"}},
        "required": ["root"],
    },
    "optional_properties": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to look for"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
            "include_archived": {"type": "boolean"},
        },
        "required": ["query"],
    },
    "no_properties": {"type": "object", "properties": {}},
}


def strictly(schema: Any) -> Any:
    """The strict-mode form: every object closed, every property required, nothing left out."""
    if isinstance(schema, list):
        return [strictly(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: strictly(value) for key, value in schema.items() if key != "default"}
    kinds = result.get("type")
    if kinds == "object" or (isinstance(kinds, list) and "object" in kinds):
        result["additionalProperties"] = False
        result["required"] = list(result.get("properties", {}))
    return result


STRICT_SCHEMAS: dict[str, dict[str, Any]] = {name: strictly(s) for name, s in SCHEMAS.items()}
STRICT_SCHEMAS["root_recursion"] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "children": {"type": "array", "items": {"$ref": "#"}},
    },
    "required": ["name", "children"],
    "additionalProperties": False,
}
STRICT_SCHEMAS["formats_strict_only"] = {
    "type": "object",
    "properties": {
        "at": {"type": "string", "format": "time"},
        "took": {"type": "string", "format": "duration"},
        "host": {"type": "string", "format": "hostname"},
    },
    "required": ["at", "took", "host"],
    "additionalProperties": False,
}


def ask_for_call(
    client: openai.AzureOpenAI, parameters: dict[str, Any], strict: bool | None, seed: int
) -> tuple[ChatCompletion, Any]:
    tool = function_tool("record_item", parameters, "Record an item.", strict=strict)
    completion = client.chat.completions.create(
        model=MODEL,
        messages=user("Record the item."),
        tools=[tool],
        tool_choice="required",
        seed=seed,
    )
    assert completion.choices[0].finish_reason == "tool_calls"
    call = single_call(completion)
    assert call.function.name == "record_item"
    assert call.function.arguments == json.dumps(
        json.loads(call.function.arguments), separators=(",", ":"), ensure_ascii=False
    ), "arguments are compact JSON"
    return completion, arguments_of(call)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_arguments_validate(client: openai.AzureOpenAI, name: str) -> None:
    schema = SCHEMAS[name]
    for seed in range(4):
        _, arguments = ask_for_call(client, schema, strict=None, seed=seed)
        assert_valid(arguments, schema)


@pytest.mark.parametrize("name", sorted(STRICT_SCHEMAS))
def test_strict_arguments_validate(client: openai.AzureOpenAI, name: str) -> None:
    schema = STRICT_SCHEMAS[name]
    for seed in range(4):
        _, arguments = ask_for_call(client, schema, strict=True, seed=seed)
        assert_valid(arguments, schema)


def tree_depth(node: dict[str, Any], key: str) -> int:
    return 1 + max((tree_depth(child, key) for child in node[key]), default=0)


def test_recursive_tree_has_depth(client: openai.AzureOpenAI) -> None:
    """The recursion is used (some tree goes below the root) and ends."""
    depths = []
    for seed in range(12):
        _, arguments = ask_for_call(client, SCHEMAS["recursive_tree"], strict=None, seed=seed)
        depths.append(tree_depth(arguments["root"], "children"))
    assert max(depths) >= 2
    assert all(depth >= 1 for depth in depths)


def test_optional_properties_are_sometimes_left_out(client: openai.AzureOpenAI) -> None:
    present = set()
    for seed in range(10):
        _, arguments = ask_for_call(client, SCHEMAS["optional_properties"], None, seed)
        assert "query" in arguments
        present |= set(arguments)
    assert present >= {"query", "limit"}


# --- usage -------------------------------------------------------------------------------------


def test_completion_tokens_cover_reasoning_and_arguments(client: openai.AzureOpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL, messages=user(WEATHER_QUESTION), tools=[GET_WEATHER]
    )
    call = single_call(completion)
    usage = completion.usage
    assert usage is not None
    assert usage.completion_tokens_details is not None
    reasoning = usage.completion_tokens_details.reasoning_tokens
    assert reasoning is not None
    assert reasoning > 0
    arguments = tokens.count(call.function.arguments)
    assert usage.completion_tokens >= reasoning + arguments
    # The reasoning, the call's name and arguments, and the 21 hidden tokens real o3-mini
    # bills with one tool call (crewai's recording: 347 = 320 + 21 + 5 + 1).
    assert usage.completion_tokens == reasoning + 21 + tokens.count("get_weather") + arguments
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_budget_too_small_cuts_the_arguments(client: openai.AzureOpenAI) -> None:
    request: dict[str, Any] = {
        "model": MODEL,
        "messages": user(WEATHER_QUESTION),
        "tools": [GET_WEATHER],
        "reasoning_effort": "low",
    }
    full = client.chat.completions.create(**request)
    full_call = single_call(full)
    assert full.usage is not None
    assert full.usage.completion_tokens_details is not None
    reasoning = full.usage.completion_tokens_details.reasoning_tokens
    assert reasoning is not None
    budget = reasoning + 21 + tokens.count("get_weather") + 3  # 21: the call's hidden framing
    assert tokens.count(full_call.function.arguments) > 3
    cut = client.chat.completions.create(**request, max_completion_tokens=budget)
    assert cut.choices[0].finish_reason == "length"
    cut_call = single_call(cut)
    assert cut_call.function.name == "get_weather"
    assert tokens.count(cut_call.function.arguments) == 3
    assert full_call.function.arguments.startswith(cut_call.function.arguments)
    assert cut.usage is not None
    assert cut.usage.completion_tokens == budget


def test_budget_taken_by_reasoning_gives_no_call(client: openai.AzureOpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=user(WEATHER_QUESTION),
        tools=[GET_WEATHER],
        max_completion_tokens=16,
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "length"
    assert choice.message.content == ""
    assert choice.message.tool_calls is None
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 16
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 16


# --- the deprecated functions / function_call pair -------------------------------------------

WEATHER_FUNCTION: dict[str, Any] = {
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": WEATHER_PARAMETERS,
}


def test_legacy_functions_round_trip(client: openai.AzureOpenAI) -> None:
    messages: list[Any] = user(WEATHER_QUESTION)
    first = client.chat.completions.create(
        model=MODEL, messages=messages, functions=[cast(Any, WEATHER_FUNCTION)]
    )
    choice = first.choices[0]
    assert choice.finish_reason == "function_call"
    assert choice.message.content is None
    assert choice.message.tool_calls is None
    call = choice.message.function_call
    assert call is not None
    assert call.name == "get_weather"
    arguments = json.loads(call.arguments)
    assert_valid(arguments, WEATHER_PARAMETERS)
    messages += [
        choice.message,
        {"role": "function", "name": "get_weather", "content": run_weather_tool(arguments)},
    ]
    second = client.chat.completions.create(
        model=MODEL, messages=messages, functions=[cast(Any, WEATHER_FUNCTION)]
    )
    text = assert_text_reply(second)
    assert text.startswith("According to get_weather, ")
    assert "temperature is 21" in text


def test_legacy_named_function_call_stops(client: openai.AzureOpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=user("Hello there"),
        functions=[cast(Any, WEATHER_FUNCTION)],
        function_call={"name": "get_weather"},
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.tool_calls is None
    assert choice.message.function_call is not None
    assert choice.message.function_call.name == "get_weather"
    assert_valid(json.loads(choice.message.function_call.arguments), WEATHER_PARAMETERS)


def test_legacy_function_call_none_gives_text(client: openai.AzureOpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=user(WEATHER_QUESTION),
        functions=[cast(Any, WEATHER_FUNCTION)],
        function_call="none",
    )
    assert_text_reply(completion)


@pytest.mark.parametrize("named", [False, True])
def test_legacy_function_call_streams_as_function_call_pieces(
    client: openai.AzureOpenAI, named: bool
) -> None:
    """OpenAI's legacy stream: `delta.function_call` (its name first, then pieces of its
    arguments), no `tool_calls`; joined, the non-streamed reply's `function_call`."""
    options: dict[str, Any] = {
        "model": MODEL,
        "messages": user(WEATHER_QUESTION),
        "functions": [WEATHER_FUNCTION],
    }
    if named:
        options["function_call"] = {"name": "get_weather"}
    whole = client.chat.completions.create(**options).choices[0]
    name, arguments, finish, deltas = "", "", None, 0
    for chunk in client.chat.completions.create(**options, stream=True):
        for choice in chunk.choices:
            assert choice.delta.tool_calls is None
            if choice.delta.function_call is not None:
                deltas += 1
                name += choice.delta.function_call.name or ""
                arguments += choice.delta.function_call.arguments or ""
            finish = choice.finish_reason or finish
    assert whole.message.function_call is not None
    assert (name, arguments) == (
        whole.message.function_call.name,
        whole.message.function_call.arguments,
    )
    assert finish == whole.finish_reason == ("stop" if named else "function_call")
    assert deltas > 2  # the name's frame, then the arguments piece by piece


def test_legacy_function_call_stream_frames_over_raw_http(server: MockServer) -> None:
    body = {"messages": user(WEATHER_QUESTION), "functions": [WEATHER_FUNCTION], "stream": True}
    answer = rawhttp.post_chat(server, body)
    assert answer.status == 200
    frames = [
        json.loads(line[len(b"data: ") :])
        for line in answer.body.split(b"\n\n")
        if line.startswith(b"data: {")
    ]
    deltas = [frame["choices"][0]["delta"] for frame in frames if frame["choices"]]
    assert list(deltas[0]) == ["content", "function_call", "refusal", "role"]
    assert deltas[0]["function_call"] == {"arguments": "", "name": "get_weather"}
    assert all(list(delta) == ["function_call"] for delta in deltas[1:-1])
    assert deltas[-1] == {}  # the finish frame's
    assert "tool_calls" not in answer.body.decode()
