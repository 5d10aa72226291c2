"""Generated valid requests get 200s that conform to the official 2025-04-01-preview document.

Requests come from `tests.strategies.chat_requests` (roles, text parts, names, tools
with JSON-Schema parameters, tool loops, tool_choice, response formats, budgets, `n`, `stop`,
`seed`, streams). Each goes over raw HTTP to the real server on 127.0.0.1 (the dated route
or v1), and:

- it gets a 200 (a generated request is valid, so anything else is a bug; never a 5xx);
- a JSON body validates against `createChatCompletionResponse`, every stream frame against
  `createChatCompletionStreamResponse`, both relaxed only as `tests/contract/official.py`
  lists (the real wire's nulls and the prompt-filter frame's `object: ""`);
- `usage.prompt_tokens` is the cookbook count (`PromptTokenOracle` below, written from the
  cookbook; it shares only the encoding with the server, through `encode_ordinary`);
- a tool call's arguments validate against the tool's `parameters`, and a structured
  output against its schema (unless a budget or a stop sequence cut it).

Profiles: `ci` (the default, 300 examples) and `long` (5,000), chosen with
`MOCKSERVER_CONFORMANCE=long`.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, note, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample
from jsonschema import Draft202012Validator

from mockserver.testing.server import MockServer
from mockserver.tokens import counting as tokens
from tests import strategies
from tests.contract import official
from tests.support import rawhttp
from tests.support.chat import API_KEY, chat_url
from tests.support.sse import DONE, parse_frames
from tests.unit.test_tokens import oracle_prompt_tokens

PROFILE_VARIABLE = "MOCKSERVER_CONFORMANCE"
PROFILES = {"ci": 300, "long": 5000}


def _examples() -> int:
    profile = os.environ.get(PROFILE_VARIABLE, "ci")
    if profile not in PROFILES:
        raise ValueError(f"{PROFILE_VARIABLE}={profile!r}; known profiles: {sorted(PROFILES)}")
    return PROFILES[profile]


CONFORMANCE = settings(
    max_examples=_examples(),
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
# `find` without shrinking: the first example found is enough, and shrinking is slow.
FIND = settings(max_examples=500, database=None, deadline=None, phases=[Phase.generate])


# --- the prompt-token oracle -------------------------------------------------------------------


def _n(text: str) -> int:
    return len(tokens.encoding().encode_ordinary(text))


class PromptTokenOracle:
    """o3-mini's billed prompt, as tests/unit/test_tokens.py's oracle rebuilds it from the
    recordings (3 markers per message, 2 to open the reply, tools and a json_schema as
    messages of their own); not the cookbook's formula, which real o3-mini does not follow."""

    def count(self, body: dict[str, Any]) -> int:
        return oracle_prompt_tokens(
            body["messages"], body.get("tools"), body.get("response_format")
        )


ORACLE = PromptTokenOracle()


# --- sending and checking -----------------------------------------------------------------------


def send(server: MockServer, body: dict[str, Any], v1: bool) -> rawhttp.RawResponse:
    if v1:
        url = f"{server.url}/openai/v1/chat/completions"
        body = {**body, "model": "o3-mini"}
        headers = {"Authorization": f"Bearer {API_KEY}"}
    else:
        url, headers = chat_url(server), {"api-key": API_KEY}
    note(f"{'v1' if v1 else 'dated'} request: {json.dumps(body, ensure_ascii=False)[:4000]}")
    return rawhttp.request(url, body=json.dumps(body).encode(), headers=headers)


def check_json_reply(body: dict[str, Any], reply: rawhttp.RawResponse) -> None:
    assert reply.headers["content-type"].startswith("application/json"), reply.headers
    answer = reply.json()
    assert official.violations(official.response_validator(), answer) == []
    assert len(answer["choices"]) == (body.get("n") or 1)
    assert answer["usage"]["prompt_tokens"] == ORACLE.count(body)
    for choice in answer["choices"]:
        check_reply_content(body, choice["message"], choice["finish_reason"])


def check_stream_reply(body: dict[str, Any], reply: rawhttp.RawResponse) -> None:
    assert reply.headers["content-type"].startswith("text/event-stream"), reply.headers
    frames = parse_frames(reply.body)
    assert frames[-1] == DONE
    assert DONE not in frames[:-1]
    for frame in _distinct_shapes(frames[:-1]):
        assert official.violations(official.stream_validator(), frame) == [], frame
    usage = [frame["usage"] for frame in frames[:-1] if frame.get("usage")]
    if (body.get("stream_options") or {}).get("include_usage"):
        assert len(usage) == 1
        assert usage[0]["prompt_tokens"] == ORACLE.count(body)
    else:
        assert usage == []


def _distinct_shapes(frames: list[Any]) -> list[Any]:
    """One frame per shape: a stream repeats its frames with new text, and the document
    types `delta.content`, `tool_calls[].function.arguments` (and never mentions
    `obfuscation`) without constraining the text, so frames differing only there validate
    alike."""
    shapes: dict[str, Any] = {}
    for frame in frames:
        shapes.setdefault(json.dumps(_blank_text(frame), sort_keys=True), frame)
    return list(shapes.values())


def _blank_text(frame: dict[str, Any]) -> dict[str, Any]:
    blank: dict[str, Any] = json.loads(json.dumps(frame))
    if "obfuscation" in blank:
        blank["obfuscation"] = ""
    for choice in blank.get("choices") or []:
        delta = choice.get("delta") or {}
        if isinstance(delta.get("content"), str):
            delta["content"] = ""
        for call in delta.get("tool_calls") or []:
            if isinstance((call.get("function") or {}).get("arguments"), str):
                call["function"]["arguments"] = ""
    return blank


def check_reply_content(body: dict[str, Any], message: dict[str, Any], finish: str) -> None:
    """Arguments fit the tool's parameters; structured output fits its schema (when whole)."""
    if finish == "length":
        return
    parameters = {
        tool["function"]["name"]: tool["function"].get("parameters")
        for tool in body.get("tools") or []
    }
    for call in message.get("tool_calls") or []:
        schema = parameters[call["function"]["name"]]
        arguments = json.loads(call["function"]["arguments"])
        if schema is not None:
            assert list(Draft202012Validator(schema).iter_errors(arguments)) == []
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema" and message["content"] and not body.get("stop"):
        schema = response_format["json_schema"]["schema"]
        output = json.loads(message["content"])
        assert list(Draft202012Validator(schema).iter_errors(output)) == []


# --- the strategies cover what they promise -------------------------------------------------------


def _has_role(role: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: any(m["role"] == role for m in body["messages"])


def _any_message(test: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], bool]:
    return lambda body: any(test(m) for m in body["messages"])


def _strict_tool(body: dict[str, Any]) -> bool:
    return any(t["function"].get("strict") for t in body.get("tools") or [])


def _format(kind: str, strict: bool | None = None) -> Callable[[dict[str, Any]], bool]:
    def test(body: dict[str, Any]) -> bool:
        response_format = body.get("response_format") or {}
        if response_format.get("type") != kind:
            return False
        return strict is None or bool(response_format["json_schema"].get("strict")) is strict

    return test


# What the strategy promises (`test_strategy_covers_every_feature`).
FEATURES: dict[str, Callable[[dict[str, Any]], bool]] = {
    "developer prompt": _has_role("developer"),
    "system prompt": _has_role("system"),
    "assistant turn": _has_role("assistant"),
    "text parts": _any_message(lambda m: isinstance(m.get("content"), list)),
    "name": _any_message(lambda m: "name" in m),
    "tool loop": _has_role("tool"),
    "several calls in one turn": _any_message(lambda m: len(m.get("tool_calls") or []) > 1),
    "strict tool": _strict_tool,
    "nested parameters": lambda body: any(
        '"type": "object"' in json.dumps(t["function"].get("parameters", {}).get("properties"))
        for t in body.get("tools") or []
    ),
    "named tool_choice": lambda body: isinstance(body.get("tool_choice"), dict),
    "tool_choice required": lambda body: body.get("tool_choice") == "required",
    "json_object": _format("json_object"),
    "strict json_schema": _format("json_schema", strict=True),
    "non-strict json_schema": _format("json_schema", strict=False),
    "reasoning_effort high": lambda body: body.get("reasoning_effort") == "high",
    "small budget": lambda body: (body.get("max_completion_tokens") or 10**6) <= 64,
    "n > 1": lambda body: (body.get("n") or 1) > 1,
    "stop list": lambda body: isinstance(body.get("stop"), list),
    "seed": lambda body: "seed" in body,
    "stream with usage": lambda body: bool((body.get("stream_options") or {}).get("include_usage")),
}


# --- the property -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean_server(server: MockServer) -> MockServer:
    """The session's server, without stubs or scenarios other tests may have left."""
    server.reset()
    return server


@CONFORMANCE
@given(body=strategies.chat_requests(), v1=st.booleans())
def test_generated_requests_get_conforming_200s(
    clean_server: MockServer, body: dict[str, Any], v1: bool
) -> None:
    reply = send(clean_server, body, v1)
    assert reply.status < 500, (reply.status, reply.body[:2000])
    assert reply.status == 200, (reply.status, reply.body[:2000])
    if body.get("stream"):
        check_stream_reply(body, reply)
    else:
        check_json_reply(body, reply)


def test_strategy_covers_every_feature() -> None:
    """Drawing requests until each promised feature has appeared (at most 3,000 draws)."""
    seen: set[str] = set()

    def covers_all(body: dict[str, Any]) -> bool:
        seen.update(name for name, has in FEATURES.items() if has(body))
        return seen == set(FEATURES)

    everything = settings(FIND, max_examples=3000)
    with contextlib.suppress(NoSuchExample):  # raised when 3,000 draws did not cover all
        find(strategies.chat_requests(), covers_all, settings=everything)
    assert sorted(set(FEATURES) - seen) == []


def test_profile_is_chosen_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROFILE_VARIABLE, "long")
    assert _examples() == 5000
    monkeypatch.delenv(PROFILE_VARIABLE)
    assert _examples() == 300
    monkeypatch.setenv(PROFILE_VARIABLE, "huge")
    with pytest.raises(ValueError, match="known profiles"):
        _examples()


# --- the oracle against a hand count --------------------------------------------------------------


def test_oracle_counts_the_azure_documentation_example() -> None:
    """Azure's docs: this one message is 20 prompt tokens on o1; o3-mini opens the reply
    with 2 tokens, not 3 (crewai__test_o3_mini_reasoning_effort_high.yaml bills 13)."""
    text = "What steps should I think about when writing my first Python API?"
    assert ORACLE.count({"messages": [{"role": "user", "content": text}]}) == 19


def test_oracle_counts_names_parts_tool_calls_and_tools() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    body = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi"}], "name": "bob"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "f",
                    "description": "Does f.",
                    "parameters": {
                        "type": "object",
                        "properties": {"u": {"type": "string", "enum": ["a", "b"]}},
                    },
                },
            }
        ],
    }
    # The call is a message from `assistant to=functions.f`, its result one from
    # `f to=assistant`; the tool_call_id is not shown to the model.
    messages = (3 + _n("user") + _n("hi") + _n("bob") + 1) + (
        3 + _n("assistant to=functions.f") + _n("{}")
    )
    messages += 3 + _n("f to=assistant") + _n("ok")
    namespace = (
        "# Tools\n\n## functions\n\nnamespace functions {\n\n// Does f.\n"
        'type f = (_: {\nu?: "a" | "b",\n}) => any;\n\n} // namespace functions'
    )
    tools = 3 + _n("system") + _n(namespace)
    assert ORACLE.count(body) == messages + 2 + tools


def test_json_object_requests_mention_json() -> None:
    """The service refuses `json_object` unless a message says "json"; the strategy does."""
    found = find(strategies.chat_requests(), _format("json_object"), settings=FIND)
    assert any("json" in json.dumps(m).lower() for m in found["messages"])


def test_stream_argument_forces_streaming() -> None:
    streamed = find(strategies.chat_requests(stream=True), lambda b: True, settings=FIND)
    assert streamed["stream"] is True
    plain = find(strategies.chat_requests(stream=False), lambda b: True, settings=FIND)
    assert plain["stream"] is False
    assert "stream_options" not in plain


def test_strategies_need_hypothesis_and_nothing_else_does() -> None:
    """Without hypothesis, `tests.strategies` says what to install; the server starts."""
    script = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import mockserver.cli.main, mockserver.testing.server, mockserver.http.app\n"
        "try:\n    import tests.strategies\n"
        "except ImportError as error:\n    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "tests.strategies needs hypothesis" in done.stdout
