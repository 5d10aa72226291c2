"""Pieces of the test-double tests: tools, an admin HTTP client, SDK stream rebuilding."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
from openai.types.chat import ChatCompletionChunk, ChatCompletionToolParam

from mockserver.testing.server import MockServer

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


def admin_client(server: MockServer) -> httpx.Client:
    """Raw HTTP to `server`; admin calls see its session (`?session=`), inference calls too
    (`x-mock-session`)."""
    session = server.session_name
    params = {"session": session} if session else {}
    return httpx.Client(
        base_url=server.url, params=params, headers=server.session_headers, timeout=30.0
    )


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
