"""Every 200 body of the mock conforms to `createChatCompletionResponse` (relaxed as Azure is).

Requests go over raw HTTP to a real server on 127.0.0.1, in many shapes: roles, content
parts, `n`, `stop`, budgets, `reasoning_effort`, tools, both surfaces and api-versions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mockserver.testing.server import MockServer
from tests.contract import official
from tests.support import rawhttp
from tests.support.chat import API_KEY
from tests.support.rawhttp import post_chat

USER = {"role": "user", "content": "Name three rivers of Europe."}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}
TOOL_CALL = {
    "id": "call_Cow46pNllpDx0pxUgZFeqlh1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
}


@dataclass(frozen=True)
class Shape:
    """One request: its body, the surface it goes to, and what the reply must show."""

    body: dict[str, Any]
    surface: str = "dated"
    api_version: str | None = "2025-04-01-preview"
    choices: int = 1
    finish_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


SHAPES: dict[str, Shape] = {
    "plain": Shape({"messages": [USER]}),
    "developer-role": Shape(
        {"messages": [{"role": "developer", "content": "Answer briefly."}, USER]}
    ),
    "system-role": Shape({"messages": [{"role": "system", "content": "Answer briefly."}, USER]}),
    "multi-part-text": Shape(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Name three rivers"},
                        {"type": "text", "text": "of Europe."},
                    ],
                }
            ]
        }
    ),
    "developer-multi-part": Shape(
        {
            "messages": [
                {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
                USER,
            ]
        }
    ),
    "conversation": Shape(
        {
            "messages": [
                USER,
                {"role": "assistant", "content": "Rhine, Danube, Seine."},
                {"role": "user", "content": "And in Asia?"},
            ]
        }
    ),
    "n=3": Shape({"messages": [USER], "n": 3}, choices=3),
    "stop-string": Shape({"messages": [USER], "stop": "."}, finish_reason="stop"),
    "stop-list": Shape({"messages": [USER], "stop": ["\n", "the"]}, finish_reason="stop"),
    "length": Shape({"messages": [USER], "max_completion_tokens": 8}, finish_reason="length"),
    "length-n=2": Shape(
        {"messages": [USER], "max_completion_tokens": 5, "n": 2},
        choices=2,
        finish_reason="length",
    ),
    "reasoning-low": Shape({"messages": [USER], "reasoning_effort": "low"}),
    "reasoning-medium": Shape({"messages": [USER], "reasoning_effort": "medium"}),
    "reasoning-high": Shape({"messages": [USER], "reasoning_effort": "high"}),
    "large-budget": Shape({"messages": [USER], "max_completion_tokens": 100_000}),
    # metadata needs store (OpenAI: "The 'metadata' parameter is only allowed when 'store'
    # is enabled.", spiceai#5231): with store false this is a 400 now.
    "seed-user-store-metadata": Shape(
        {"messages": [USER], "seed": 7, "user": "u-1", "store": True, "metadata": {"k": "v"}}
    ),
    "explicit-nulls": Shape({"messages": [USER], "temperature": None, "stop": None}),
    "stream-false": Shape({"messages": [USER], "stream": False}),
    "tools": Shape({"messages": [USER], "tools": [WEATHER_TOOL]}),
    "tools-tool-choice-auto": Shape(
        {"messages": [USER], "tools": [WEATHER_TOOL], "tool_choice": "auto"}
    ),
    "tools-tool-choice-function": Shape(
        {
            "messages": [USER],
            "tools": [WEATHER_TOOL],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        }
    ),
    "tool-results": Shape(
        {
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
                {"role": "tool", "tool_call_id": TOOL_CALL["id"], "content": '{"temp":18}'},
            ],
            "tools": [WEATHER_TOOL],
        }
    ),
    "response-format-json-schema": Shape(
        {
            "messages": [USER],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "rivers",
                    "strict": True,
                    "schema": {
                        "type": "object",
                        "properties": {"rivers": {"type": "array", "items": {"type": "string"}}},
                        "required": ["rivers"],
                        "additionalProperties": False,
                    },
                },
            },
        }
    ),
    "oldest-o3-mini-api-version": Shape({"messages": [USER]}, api_version="2024-12-01-preview"),
    "v1": Shape({"model": "o3-mini", "messages": [USER]}, surface="v1", api_version=None),
    "v1-preview": Shape(
        {"model": "o3-mini", "messages": [USER], "n": 2},
        surface="v1",
        api_version="preview",
        choices=2,
    ),
    "v1-tools-length": Shape(
        {
            "model": "o3-mini",
            "messages": [USER],
            "tools": [WEATHER_TOOL],
            "max_completion_tokens": 3,
        },
        surface="v1",
        api_version=None,
        finish_reason="length",
    ),
}


def send(server: MockServer, shape: Shape) -> rawhttp.RawResponse:
    if shape.surface == "dated":
        return post_chat(server, shape.body, api_version=shape.api_version)
    query = f"?api-version={shape.api_version}" if shape.api_version else ""
    url = f"{server.url}/openai/v1/chat/completions{query}"
    return rawhttp.request(url, body=shape.body, headers={"Authorization": f"Bearer {API_KEY}"})


@pytest.fixture(scope="module")
def replies(server: MockServer) -> dict[str, rawhttp.RawResponse]:
    return {name: send(server, shape) for name, shape in SHAPES.items()}


@pytest.mark.parametrize("name", list(SHAPES))
def test_success_body_validates(name: str, replies: dict[str, rawhttp.RawResponse]) -> None:
    reply = replies[name]
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert official.violations(official.response_validator(), body) == []


@pytest.mark.parametrize("name", list(SHAPES))
def test_success_body_matches_the_request(
    name: str, replies: dict[str, rawhttp.RawResponse]
) -> None:
    shape, body = SHAPES[name], replies[name].json()
    assert body["object"] == "chat.completion"
    assert [choice["index"] for choice in body["choices"]] == list(range(shape.choices))
    if shape.finish_reason is not None:
        assert {c["finish_reason"] for c in body["choices"]} == {shape.finish_reason}


@pytest.mark.parametrize("name", ["length", "length-n=2", "v1-tools-length"])
def test_budget_spent_on_reasoning_gives_empty_content(
    name: str, replies: dict[str, rawhttp.RawResponse]
) -> None:
    """A budget below the reasoning need: finish_reason `length`, content `""`."""
    body = replies[name].json()
    for choice in body["choices"]:
        assert choice["finish_reason"] == "length"
        assert choice["message"]["content"] == ""
    budget = SHAPES[name].body["max_completion_tokens"]
    assert body["usage"]["completion_tokens"] == budget * len(body["choices"])


@pytest.mark.parametrize("name", list(SHAPES))
def test_usage_adds_up(name: str, replies: dict[str, rawhttp.RawResponse]) -> None:
    """What the schema cannot say: totals add up, reasoning is part of completion tokens."""
    usage = replies[name].json()["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert 0 < reasoning <= usage["completion_tokens"]
    assert usage["prompt_tokens"] > 0


def test_stop_sequence_never_appears_in_content(replies: dict[str, rawhttp.RawResponse]) -> None:
    for name in ("stop-string", "stop-list"):
        stops = SHAPES[name].body["stop"]
        for choice in replies[name].json()["choices"]:
            content = choice["message"]["content"]
            assert not any(s in content for s in ([stops] if isinstance(stops, str) else stops))


def test_model_is_the_served_model_version(replies: dict[str, rawhttp.RawResponse]) -> None:
    """`model` is the model version, never the deployment name (real-traffic-facts.md 3)."""
    assert {reply.json()["model"] for reply in replies.values()} == {"o3-mini-2025-01-31"}


# --- tool calls and structured output: the shapes real Azure sends for them ------------------


def test_forced_tool_choice_answers_with_a_tool_call(server: MockServer) -> None:
    """`tool_choice` naming a function forces a call (official document, `tool_choice`).

    Azure's tool-call-only choice has `content: null`, `content_filter_results: {}` and
    `{"function":{"arguments","name"},"id":"call_<24>","type":"function"}` calls
    (real-traffic-facts.md section 3, crewAI recordings).
    """
    reply = send(server, SHAPES["tools-tool-choice-function"])
    assert reply.status == 200, reply.body
    body = reply.json()
    assert official.violations(official.response_validator(), body) == []
    choice = body["choices"][0]
    message = choice["message"]
    assert message["content"] is None
    assert choice["content_filter_results"] == {}
    (call,) = message["tool_calls"]
    assert list(call) == ["function", "id", "type"]
    assert list(call["function"]) == ["arguments", "name"]
    assert call["function"]["name"] == "get_weather"
    assert re.fullmatch(r"call_[A-Za-z0-9]{24}", call["id"])
    assert "city" in json.loads(call["function"]["arguments"])


def test_json_schema_response_format_answers_with_conforming_json(server: MockServer) -> None:
    """Structured output: `content` is the JSON text, `refusal` null, `finish_reason` stop
    (real-traffic-facts.md section 3, `crewai__test_azure_agent_kickoff_structured_output...`).
    """
    shape = SHAPES["response-format-json-schema"]
    reply = send(server, shape)
    assert reply.status == 200, reply.body
    choice = reply.json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["refusal"] is None
    schema = shape.body["response_format"]["json_schema"]["schema"]
    content = json.loads(choice["message"]["content"])
    assert list(Draft202012Validator(schema).iter_errors(content)) == []
