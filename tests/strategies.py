"""Hypothesis strategies for valid o3-mini chat-completions requests, drawn from the contract.

    from hypothesis import given
    from tests.strategies import chat_requests

    @given(body=chat_requests())
    def test_my_client_copes_with_any_valid_request(body): ...

Every body drawn is a request Azure's o3-mini deployment accepts: roles, content shapes,
limits and enums come from the extracted request schema
(`contracts/schemas/2025-04-01-preview/chat_completion_request.json`), the o3-mini model
card (`contracts/models/o3-mini.json`: efforts, output limit) and the strict-mode rules
(`contracts/strict_schema.json`). The bodies cover:

- developer and system prompts, user and assistant turns, each with string or text-part
  content and an optional `name`;
- tools whose `parameters` are JSON Schemas (nested objects, arrays, enums, formats),
  strict ones valid for strict mode (`additionalProperties: false`, every property
  required), with `tool_choice` `none` / `auto` / `required` / a named function;
- a correct tool loop in the history: an assistant message with `tool_calls` followed by
  one tool message per call;
- `response_format` `text`, `json_object` (a message then mentions JSON, as the service
  requires) or `json_schema` (strict or not);
- `reasoning_effort`, `max_completion_tokens` within the model's output limit, `n`, `stop`,
  `seed`, `user`, `store`, and `stream` with `stream_options`.

The prompts stay far below the context window, so a body never hits a token limit.

This module needs hypothesis, a dev dependency: `pip install 'mockserver[dev]'` (or
`pip install hypothesis`). The rest of mockserver never imports it.
"""

from __future__ import annotations

import json
import string
from functools import cache
from typing import Any

try:
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover - depends on the installation
    raise ImportError(
        "tests.strategies needs hypothesis: pip install 'mockserver[dev]' "
        "(or pip install hypothesis)"
    ) from error

from mockserver.contract.data import load_json
from mockserver.contract.model_card import ModelCard, load_model_card

__all__ = [
    "assistant_messages",
    "chat_requests",
    "content",
    "conversations",
    "json_schemas",
    "names",
    "prompts",
    "response_formats",
    "texts",
    "tool_choices",
    "tool_loops",
    "tools",
    "user_messages",
]

Body = dict[str, Any]
Schema = dict[str, Any]
FAMILY = "2025-04-01-preview"
MODEL = "o3-mini"
NAME_ALPHABET = string.ascii_letters + string.digits + "_-"
IDENTIFIER = r"[a-z][a-z0-9_]{0,11}"
# Property names the value generator knows (Faker providers), beside made-up ones.
KNOWN_PROPERTY_NAMES = ("city", "email", "title", "count", "date", "country", "price", "name")
WORDS = (
    "weather",
    "Paris",
    "invoice",
    "rivers",
    "python",
    "api",
    "budget",
    "flights",
    "summary",
    "tokens",
)
# Simple patterns the value generator can always satisfy.
PATTERNS = ("^[a-z]{3,8}$", "^[A-Z]{2}-[0-9]{4}$", "^[0-9]{5}$")
MAX_SCHEMA_DEPTH = 2


# --- the contract ---------------------------------------------------------------------------


@cache
def _request_schema() -> Schema:
    schema: Schema = load_json(f"schemas/{FAMILY}/chat_completion_request.json")
    return schema


def _definition(name: str) -> Schema:
    definition: Schema = _request_schema()["$defs"][name]
    return definition


def _property(name: str) -> Schema:
    """A top-level property's schema, without the `null` branch the extraction added."""
    schema: Schema = _request_schema()["properties"][name]
    kind = schema.get("type")
    if isinstance(kind, list):
        return {**schema, "type": next(k for k in kind if k != "null")}
    return schema


def _role(definition: str) -> str:
    role: str = _definition(definition)["properties"]["role"]["enum"][0]
    return role


def _card() -> ModelCard:
    return load_model_card(MODEL)


@cache
def _strict_formats() -> tuple[str, ...]:
    formats: list[str] = load_json("strict_schema.json")["supported_formats"]
    return tuple(formats)


# --- text and names ---------------------------------------------------------------------------


@cache
def texts(min_size: int = 1, max_size: int = 80) -> st.SearchStrategy[str]:
    """Message text: words the generator can talk about, or any Unicode (no surrogates)."""
    words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join)
    anything = st.text(st.characters(codec="utf-8"), min_size=min_size, max_size=max_size)
    return st.one_of(words, anything)


@cache
def names(max_size: int = 64) -> st.SearchStrategy[str]:
    """A function, schema or participant name: `^[a-zA-Z0-9_-]{1,64}$`."""
    return st.text(NAME_ALPHABET, min_size=1, max_size=max_size)


@cache
def _text_parts() -> st.SearchStrategy[list[dict[str, str]]]:
    kind = _definition("chatCompletionRequestMessageContentPartText")["properties"]["type"]
    part = st.builds(lambda text: {"type": kind["enum"][0], "text": text}, texts())
    return st.lists(part, min_size=1, max_size=3)


@cache
def content() -> st.SearchStrategy[str | list[dict[str, str]]]:
    """A string, or text parts (the only parts o3-mini takes)."""
    return st.one_of(texts(), _text_parts())


# --- messages ---------------------------------------------------------------------------------


@st.composite
def _message(draw: st.DrawFn, definition: str) -> Body:
    message: Body = {"role": _role(definition), "content": draw(content())}
    if draw(st.booleans()):
        message["name"] = draw(names(max_size=16))
    return message


@cache
def prompts() -> st.SearchStrategy[Body]:
    """A developer or a system message (o3-mini treats system as developer)."""
    return st.one_of(
        _message("ChatCompletionRequestDeveloperMessage"),
        _message("chatCompletionRequestSystemMessage"),
    )


@cache
def user_messages() -> st.SearchStrategy[Body]:
    return _message("chatCompletionRequestUserMessage")


@cache
def assistant_messages() -> st.SearchStrategy[Body]:
    return _message("chatCompletionRequestAssistantMessage")


@st.composite
def conversations(draw: st.DrawFn, max_turns: int = 3) -> list[Body]:
    """Prompts, then user/assistant turns, ending with a user message."""
    messages: list[Body] = draw(st.lists(prompts(), max_size=2))
    for _ in range(draw(st.integers(0, max_turns - 1))):
        messages += [draw(user_messages()), draw(assistant_messages())]
    messages.append(draw(user_messages()))
    return messages


# --- JSON Schemas -----------------------------------------------------------------------------


@st.composite
def json_schemas(draw: st.DrawFn, strict: bool = False, depth: int = 0) -> Schema:
    """An object schema for tool parameters or structured outputs.

    Strict ones follow strict mode: every object closed with `additionalProperties: false`
    and every property required, only supported keywords and formats.
    """
    keys = draw(_property_names(1 if depth == 0 else 0))
    properties = {key: draw(_cached_property_schema(strict, depth)) for key in keys}
    schema: Schema = {"type": "object", "properties": properties}
    if strict:
        schema["required"] = list(properties)
        schema["additionalProperties"] = False
    else:
        schema["required"] = draw(st.lists(st.sampled_from(keys), unique=True)) if keys else []
    return schema


@st.composite
def _property_schema(draw: st.DrawFn, strict: bool, depth: int) -> Schema:
    kinds = ["string", "integer", "number", "boolean", "enum", "array"]
    if depth < MAX_SCHEMA_DEPTH:
        kinds.append("object")
    kind = draw(st.sampled_from(kinds))
    if kind == "object":
        schema = draw(_cached_json_schemas(strict, depth + 1))
    elif kind == "array":
        item = draw(_cached_property_schema(strict, depth + 1))
        schema = {"type": "array", "items": item}
    else:
        schema = draw(_cached_scalar_schema(kind))
    if draw(st.booleans()):
        schema["description"] = draw(st.sampled_from(WORDS))
    return schema


@cache
def _property_names(min_size: int) -> st.SearchStrategy[list[str]]:
    known = st.sampled_from(KNOWN_PROPERTY_NAMES)
    made_up = st.from_regex(IDENTIFIER, fullmatch=True)
    return st.lists(st.one_of(known, made_up), min_size=min_size, max_size=4, unique=True)


@cache
def _cached_json_schemas(strict: bool, depth: int) -> st.SearchStrategy[Schema]:
    return json_schemas(strict=strict, depth=depth)


@cache
def _cached_property_schema(strict: bool, depth: int) -> st.SearchStrategy[Schema]:
    return _property_schema(strict, depth)


@cache
def _cached_scalar_schema(kind: str) -> st.SearchStrategy[Schema]:
    return _scalar_schema(kind)


@st.composite
def _scalar_schema(draw: st.DrawFn, kind: str) -> Schema:
    if kind == "enum":
        values = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4, unique=True))
        return {"type": "string", "enum": values}
    if kind == "string":
        extra = draw(
            st.one_of(
                st.just({}),
                st.sampled_from(_strict_formats()).map(lambda f: {"format": f}),
                st.sampled_from(PATTERNS).map(lambda p: {"pattern": p}),
            )
        )
        return {"type": "string", **extra}
    if kind in ("integer", "number") and draw(st.booleans()):
        low = draw(st.integers(-1000, 1000))
        return {"type": kind, "minimum": low, "maximum": low + draw(st.integers(0, 1000))}
    return {"type": kind}


# --- tools ------------------------------------------------------------------------------------


@st.composite
def _function(draw: st.DrawFn, name: str) -> Body:
    function: Body = {"name": name}
    if draw(st.booleans()):
        function["description"] = draw(texts(max_size=40))
    strict = draw(st.booleans())
    if strict or draw(st.booleans()):
        function["parameters"] = draw(_cached_json_schemas(strict, 0))
    if strict:
        function["strict"] = True
    return function


@st.composite
def tools(draw: st.DrawFn, max_tools: int = 4) -> list[Body]:
    """Function tools with distinct names; parameters are JSON Schemas, strict or not."""
    tool_names = draw(st.lists(names(max_size=24), min_size=1, max_size=max_tools, unique=True))
    kind = _definition("chatCompletionTool")["properties"]["type"]["enum"][0]
    return [{"type": kind, "function": draw(_function(name))} for name in tool_names]


def tool_choices(offered: list[Body]) -> st.SearchStrategy[Any]:
    """`none`, `auto`, `required`, or one of the offered functions by name."""
    modes = _definition("chatCompletionToolChoiceOption")["oneOf"][0]["enum"]
    named = st.sampled_from([tool["function"]["name"] for tool in offered]).map(
        lambda name: {"type": "function", "function": {"name": name}}
    )
    return st.one_of(st.sampled_from(modes), named)


@cache
def _call_id() -> st.SearchStrategy[str]:
    return st.text(string.ascii_letters + string.digits, min_size=24, max_size=24).map(
        lambda tail: "call_" + tail
    )


@st.composite
def tool_loops(draw: st.DrawFn, offered: list[Body]) -> list[Body]:
    """An assistant message calling offered tools, then one tool message per call.

    The tool messages answer the calls in any order, as the service allows.
    """
    count = draw(st.integers(1, 3))
    ids = draw(st.lists(_call_id(), min_size=count, max_size=count, unique=True))
    calls = [
        {
            "id": call_id,
            "type": "function",
            "function": {
                "name": draw(st.sampled_from([t["function"]["name"] for t in offered])),
                "arguments": json.dumps(draw(_arguments())),
            },
        }
        for call_id in ids
    ]
    assistant: Body = {
        "role": "assistant",
        "content": draw(st.none() | texts()),
        "tool_calls": calls,
    }
    answers = [
        {"role": "tool", "tool_call_id": call_id, "content": draw(content())}
        for call_id in draw(st.permutations(ids))
    ]
    return [assistant, *answers]


@cache
def _arguments() -> st.SearchStrategy[dict[str, Any]]:
    scalars = st.one_of(st.integers(-1000, 1000), st.sampled_from(WORDS), st.booleans())
    return st.dictionaries(st.from_regex(IDENTIFIER, fullmatch=True), scalars, max_size=3)


# --- response formats -------------------------------------------------------------------------


@cache
def response_formats() -> st.SearchStrategy[Body]:
    """`text`, `json_object`, or `json_schema` (strict or not) with an object schema."""
    kinds = [
        _definition(name)["properties"]["type"]["enum"][0]
        for name in ("ResponseFormatText", "ResponseFormatJsonObject")
    ]
    plain = st.sampled_from(kinds).map(lambda kind: {"type": kind})
    return st.one_of(plain, _json_schema_format())


@st.composite
def _json_schema_format(draw: st.DrawFn) -> Body:
    strict = draw(st.booleans())
    spec: Body = {"name": draw(names(max_size=32)), "schema": draw(_cached_json_schemas(strict, 0))}
    if strict or draw(st.booleans()):
        spec["strict"] = strict
    return {"type": "json_schema", "json_schema": spec}


def _mention_json(messages: list[Body]) -> list[Body]:
    """`json_object` needs the word "json" in some message: a developer prompt says it."""
    return [{"role": "developer", "content": "Reply with a JSON object."}, *messages]


# --- the request ------------------------------------------------------------------------------


@st.composite
def chat_requests(
    draw: st.DrawFn,
    stream: bool | None = None,
    model: str | None = None,
    max_n: int = 3,
) -> Body:
    """A valid o3-mini chat request body.

    `stream`: True or False forces streaming on or off; None draws it. `model`: sets the
    body's `model` (the deployment on the v1 route). `max_n`: the largest `n` drawn (the
    schema allows up to 128; larger values only make replies slower).
    """
    body: Body = {}
    messages = draw(_cached_conversations())
    offered = draw(_cached_tools())
    if offered is not None:
        body["tools"] = offered
        messages = _with_tool_loop(draw, messages, offered)
        if draw(st.booleans()):
            body["tool_choice"] = draw(tool_choices(offered))
    _add_response_format(draw, body, messages)
    body.update(draw(_cached_options(max_n)))
    _add_stream(draw, body, stream)
    if model is not None:
        body["model"] = model
    return body


@cache
def _cached_conversations() -> st.SearchStrategy[list[Body]]:
    return conversations()


@cache
def _cached_tools() -> st.SearchStrategy[list[Body] | None]:
    return st.none() | tools()


def _with_tool_loop(draw: st.DrawFn, messages: list[Body], offered: list[Body]) -> list[Body]:
    if not draw(st.booleans()):
        return messages
    loop = draw(tool_loops(offered))
    follow_up = [draw(user_messages())] if draw(st.booleans()) else []
    return [*messages, *loop, *follow_up]


def _add_response_format(draw: st.DrawFn, body: Body, messages: list[Body]) -> None:
    response_format = draw(st.none() | response_formats())
    if response_format is not None:
        body["response_format"] = response_format
        if response_format["type"] == "json_object":
            messages = _mention_json(messages)
    body["messages"] = messages


@cache
def _cached_options(max_n: int) -> st.SearchStrategy[Body]:
    return _options(max_n)


@st.composite
def _options(draw: st.DrawFn, max_n: int) -> Body:
    """The optional scalar parameters o3-mini takes, each present or not."""
    card = _card()
    n = _property("n")
    stop = _property("stop")["anyOf"][0]["oneOf"][1]
    seed = _property("seed")
    budget = st.one_of(st.integers(1, 256), st.integers(1, card.max_output_tokens))
    stop_text = texts(max_size=4)
    optional = {
        "reasoning_effort": st.sampled_from(card.reasoning_effort.supported),
        "max_completion_tokens": budget,
        "n": st.integers(n["minimum"], min(max_n, n["maximum"])),
        "stop": stop_text | st.lists(stop_text, min_size=1, max_size=stop["maxItems"]),
        "seed": st.integers(seed["minimum"], seed["maximum"]),
        "user": names(max_size=32),
        "store": st.booleans(),
    }
    drawn: Body = draw(st.fixed_dictionaries({}, optional=optional))
    return drawn


def _add_stream(draw: st.DrawFn, body: Body, stream: bool | None) -> None:
    streaming = draw(st.booleans()) if stream is None else stream
    if streaming:
        body["stream"] = True
        if draw(st.booleans()):
            body["stream_options"] = {"include_usage": draw(st.booleans())}
    elif stream is False or draw(st.booleans()):
        body["stream"] = False
