"""Pieces of the stream tests: tools, frame kinds, rebuilt choices, the real recordings.

A stream is read without the SDK (tests/support/sockets.py, tests/support/sse.py); each
frame is classified here by what it carries (`frame_kind`), so the mock's frames can be
compared kind by kind with the recorded Azure streams.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

from openai.types.chat import ChatCompletionToolParam

from tests.contract.real_traffic import azure_dir, load_yaml
from tests.support.chat import chat_body as support_chat_body
from tests.support.sse import DONE, parse_frames

MODEL = "o3-mini"
QUESTION = "What steps should I think about when writing my first Python API?"
WEATHER_QUESTION = "What is the weather like in Paris today?"

WEATHER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "The city, e.g. Paris"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
}
GET_WEATHER = cast(
    ChatCompletionToolParam,
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": WEATHER_PARAMETERS,
        },
    },
)
SEARCH_FLIGHTS = cast(
    ChatCompletionToolParam,
    {
        "type": "function",
        "function": {
            "name": "search_flights",
            "description": "Search flights between two airports on a date.",
            "parameters": {
                "type": "object",
                "properties": {
                    "origin": {"type": "string"},
                    "destination": {"type": "string"},
                    "date": {"type": "string", "format": "date"},
                },
                "required": ["origin", "destination", "date"],
            },
        },
    },
)
TICKET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "priority": {"type": "string", "enum": ["low", "medium", "high"]},
        "labels": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["title", "priority", "labels"],
    "additionalProperties": False,
}
TICKET_FORMAT: Any = {
    "type": "json_schema",
    "json_schema": {"name": "ticket", "schema": TICKET_SCHEMA, "strict": True},
}


def chat_body(text: str = QUESTION, **params: Any) -> dict[str, Any]:
    """A raw chat body asking `QUESTION` unless told otherwise."""
    return support_chat_body(text, **params)


# --- SSE frames ------------------------------------------------------------------------------


def frame_kind(frame: Any) -> str:
    """prompt-filter, role, content, arguments, finish, usage, error or done."""
    if frame == DONE:
        return "done"
    if "error" in frame:
        return "error"
    if "prompt_filter_results" in frame:
        return "prompt-filter"
    if not frame["choices"]:
        return "usage"
    choice = frame["choices"][0]
    delta = choice["delta"]
    if choice["finish_reason"] is not None:
        return "finish"
    if "role" in delta:
        return "role"
    if "tool_calls" in delta:
        return "arguments"
    return "content"


def kind_sequence(frames: Iterable[Any]) -> list[str]:
    """The kinds in order, each run of one kind collapsed to one entry."""
    kinds: list[str] = []
    for frame in frames:
        kind = frame_kind(frame)
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
    return kinds


IGNORED_TOP_KEYS = ("service_tier", "latency_checkpoint")  # only the 2026-06 gpt-5.2 stream


def key_signature(frame: dict[str, Any]) -> tuple[tuple[str, ...], ...]:
    """Keys, in order: top level, choices[0], delta, delta.tool_calls[0], its function."""
    top = tuple(key for key in frame if key not in IGNORED_TOP_KEYS)
    if not frame.get("choices"):
        return (top,)
    choice = frame["choices"][0]
    delta = choice["delta"]
    signature = [top, tuple(choice), tuple(delta)]
    if delta.get("tool_calls"):
        call = delta["tool_calls"][0]
        signature += [tuple(call), tuple(call.get("function", {}))]
    return tuple(signature)


def signatures_by_kind(frames: Iterable[Any]) -> dict[str, set[tuple[tuple[str, ...], ...]]]:
    found: dict[str, set[tuple[tuple[str, ...], ...]]] = {}
    for frame in frames:
        kind = frame_kind(frame)
        if kind != "done":
            found.setdefault(kind, set()).add(key_signature(frame))
    return found


def key_tree(value: Any) -> Any:
    """The keys of every object, in order, with the values' own trees; lists element-wise."""
    if isinstance(value, dict):
        return [(key, key_tree(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [key_tree(item) for item in value]
    return None


def unsorted_objects(value: Any, path: str = "$") -> list[str]:
    """Paths of the objects whose keys are not in alphabetical order."""
    found: list[str] = []
    if isinstance(value, dict):
        if list(value) != sorted(value):
            found.append(path)
        for key, item in value.items():
            found += unsorted_objects(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += unsorted_objects(item, f"{path}[{index}]")
    return found


# --- what a stream rebuilds to -----------------------------------------------------------------


@dataclass
class Rebuilt:
    """Per choice index: text, finish reason, tool calls (name, arguments, id)."""

    texts: dict[int, str] = field(default_factory=dict)
    finish: dict[int, str] = field(default_factory=dict)
    calls: dict[int, dict[int, dict[str, str]]] = field(default_factory=dict)


def rebuild(frames: Iterable[Any]) -> Rebuilt:
    """The choices a list of parsed frames (dicts) adds up to."""
    rebuilt = Rebuilt()
    for frame in frames:
        if frame == DONE:
            continue
        for choice in frame.get("choices") or []:
            index = choice["index"]
            delta = choice.get("delta") or {}
            if delta.get("content"):
                rebuilt.texts[index] = rebuilt.texts.get(index, "") + delta["content"]
            for call in delta.get("tool_calls") or []:
                slot = rebuilt.calls.setdefault(index, {}).setdefault(
                    call["index"], {"name": "", "arguments": "", "id": ""}
                )
                function = call.get("function") or {}
                slot["name"] += function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""
                slot["id"] += call.get("id") or ""
            if choice.get("finish_reason"):
                rebuilt.finish[index] = choice["finish_reason"]
    return rebuilt


def content_frames_text(frames: Iterable[Any]) -> str:
    return rebuild(frames).texts.get(0, "")


# --- the real recordings -----------------------------------------------------------------------

OPENLLMETRY = "openllmetry__test_azure__test_chat_streaming.yaml"
CREWAI_USAGE = "crewai__test_azure_streaming_returns_usage_metrics.yaml"
CREWAI_TOOLS = "crewai__TestAzureToolCallStreaming.test_azure_streaming_emits_tool_call_events.yaml"
DD_TRACE = "dd-trace-py__litellm__completion_azure_stream.yaml"

# The 2026 text streams without include_usage, with include_usage, and the tool-call stream.
REAL_TEXT_NO_USAGE = [(OPENLLMETRY, 1), (OPENLLMETRY, 2), (OPENLLMETRY, 3)]
REAL_TEXT_WITH_USAGE = [(CREWAI_USAGE, 0), (DD_TRACE, 0)]
REAL_TOOLS_WITH_USAGE = [(CREWAI_TOOLS, 0)]


@dataclass(frozen=True)
class RealStream:
    source: str
    index: int
    headers: dict[str, str]  # lower-cased names
    body: bytes


@cache
def real_stream(source: str, index: int) -> RealStream:
    interaction = load_yaml(azure_dir() / source)["interactions"][index]
    response = interaction["response"]
    body = response["body"]
    text = body["string"] if isinstance(body, dict) else body
    raw = text.encode() if isinstance(text, str) else bytes(text)
    headers = {
        str(name).lower(): value[0] if isinstance(value, list) else str(value)
        for name, value in response["headers"].items()
    }
    return RealStream(source, index, headers, raw)


def real_frames(source: str, index: int) -> list[Any]:
    return parse_frames(real_stream(source, index).body)
