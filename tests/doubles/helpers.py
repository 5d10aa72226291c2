"""Shared pieces of the test-double tests: clients, tools, stream rebuilding, bounded polls."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import httpx
import jsonschema
import openai
from openai.types.chat import ChatCompletionChunk, ChatCompletionToolParam

from mockserver.testing.server import MockServer
from tests.conftest import API_KEY, API_VERSION, DEPLOYMENT

T = TypeVar("T")
POLL_BOUND_SECONDS = 30.0  # a bound against hangs, never a performance threshold
POLL_STEP_SECONDS = 0.02
TOOL_CALL_ID_PREFIX = "call_"

WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 1},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city", "unit", "days"],
    "additionalProperties": False,
}
FLIGHTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "origin": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "destination": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "passengers": {"type": "integer", "minimum": 1, "maximum": 9},
    },
    "required": ["origin", "destination", "passengers"],
    "additionalProperties": False,
}


def tool(name: str, schema: dict[str, Any], description: str = "") -> ChatCompletionToolParam:
    function = {"name": name, "description": description or name, "parameters": schema}
    return cast(ChatCompletionToolParam, {"type": "function", "function": function})


GET_WEATHER = tool("get_weather", WEATHER_SCHEMA, "Get the weather forecast for a city.")
SEARCH_FLIGHTS = tool("search_flights", FLIGHTS_SCHEMA, "Search flights between airports.")


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def azure_client(server: MockServer, **options: Any) -> openai.AzureOpenAI:
    """The server's own factory, with this suite's key and api-version as defaults."""
    return server.azure_openai_client(**{"api_key": API_KEY, "api_version": API_VERSION, **options})


def v1_client(server: MockServer, **options: Any) -> openai.OpenAI:
    return server.openai_client(**{"api_key": API_KEY, **options})


def admin_client(server: MockServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30.0)


def chat_path(deployment: str = DEPLOYMENT) -> str:
    return f"/openai/deployments/{deployment}/chat/completions"


def assert_valid(instance: Any, schema: dict[str, Any]) -> None:
    jsonschema.validate(instance, schema, cls=jsonschema.Draft202012Validator)


def poll(probe: Callable[[], T | None], what: str) -> T:
    """`probe()` until it gives something; fails after POLL_BOUND_SECONDS (a hang guard)."""
    deadline = time.monotonic() + POLL_BOUND_SECONDS
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(POLL_STEP_SECONDS)


@dataclass
class RebuiltCall:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class Rebuilt:
    """What the chunks of choice 0 add up to."""

    content: str = ""
    refusal: str = ""
    finish_reason: str | None = None
    calls: dict[int, RebuiltCall] = field(default_factory=dict)
    filter_results: list[dict[str, Any]] = field(default_factory=list)
    usage: Any = None


def rebuild(chunks: Iterable[ChatCompletionChunk]) -> Rebuilt:
    rebuilt = Rebuilt()
    for chunk in chunks:
        if chunk.usage is not None:
            rebuilt.usage = chunk.usage
        for choice in chunk.choices:
            delta = choice.delta
            rebuilt.content += delta.content or ""
            rebuilt.refusal += delta.refusal or ""
            for piece in delta.tool_calls or []:
                call = rebuilt.calls.setdefault(piece.index, RebuiltCall())
                call.id += piece.id or ""
                if piece.function is not None:
                    call.name += piece.function.name or ""
                    call.arguments += piece.function.arguments or ""
            if choice.finish_reason is not None:
                rebuilt.finish_reason = choice.finish_reason
            extra = choice.model_extra or {}
            if extra.get("content_filter_results"):
                rebuilt.filter_results.append(extra["content_filter_results"])
    return rebuilt


def arguments_of(text: str) -> Any:
    return json.loads(text)
