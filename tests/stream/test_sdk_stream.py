"""Streams through the real `openai` SDK (sync, async, v1): chunks rebuild the non-streamed reply.

Every test asks the same question twice, streamed and not; the generator answers a request
by its content (messages, tools, response_format, seed), so both must carry the same reply.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import BaseModel

from mockserver.testing.server import MockServer
from mockserver.tokens import counting as tokens
from tests.stream.helpers import (
    GET_WEATHER,
    MODEL,
    QUESTION,
    SEARCH_FLIGHTS,
    TICKET_FORMAT,
    WEATHER_QUESTION,
)
from tests.support.chat import user
from tests.support.clients import async_azure_client

T = TypeVar("T")
INCLUDE_USAGE: dict[str, Any] = {"stream_options": {"include_usage": True}}
CALL_ID_PREFIX = "call_"


class Surface:
    """One way of calling the server: `create` (a completion) and `stream` (all its chunks)."""

    name = ""

    def create(self, **params: Any) -> ChatCompletion:
        raise NotImplementedError

    def stream(self, **params: Any) -> list[ChatCompletionChunk]:
        raise NotImplementedError


@dataclass
class SyncSurface(Surface):
    client: openai.OpenAI
    name: str = "sync"

    def create(self, **params: Any) -> ChatCompletion:
        completion: ChatCompletion = self.client.chat.completions.create(model=MODEL, **params)
        return completion

    def stream(self, **params: Any) -> list[ChatCompletionChunk]:
        with self.client.chat.completions.create(model=MODEL, stream=True, **params) as stream:
            return list(stream)


@dataclass
class AsyncSurface(Surface):
    """`AsyncAzureOpenAI`, one client and one event loop per call (closed afterwards)."""

    server: MockServer
    name: str = "async"

    def _run(self, call: Callable[[openai.AsyncAzureOpenAI], Coroutine[Any, Any, T]]) -> T:
        async def main() -> T:
            async with async_azure_client(self.server) as client:
                return await asyncio.wait_for(call(client), timeout=60)

        return asyncio.run(main())

    def create(self, **params: Any) -> ChatCompletion:
        async def call(client: openai.AsyncAzureOpenAI) -> ChatCompletion:
            completion: ChatCompletion = await client.chat.completions.create(model=MODEL, **params)
            return completion

        return self._run(call)

    def stream(self, **params: Any) -> list[ChatCompletionChunk]:
        async def call(client: openai.AsyncAzureOpenAI) -> list[ChatCompletionChunk]:
            stream = await client.chat.completions.create(model=MODEL, stream=True, **params)
            async with stream:
                return [chunk async for chunk in stream]

        return self._run(call)


@pytest.fixture(params=["azure", "async", "v1"])
def surface(
    request: pytest.FixtureRequest,
    server: MockServer,
    client: openai.AzureOpenAI,
    v1_client: openai.OpenAI,
) -> Iterator[Surface]:
    if request.param == "async":
        yield AsyncSurface(server)
        return
    chosen = client if request.param == "azure" else v1_client
    with chosen:
        yield SyncSurface(chosen, request.param)


# --- rebuilding ---------------------------------------------------------------------------------


@dataclass
class Call:
    id: str
    name: str
    arguments: str


@dataclass
class Rebuilt:
    texts: dict[int, str]
    finish: dict[int, str]
    calls: dict[int, list[Call]]
    roles: dict[int, str]


def rebuild(chunks: list[ChatCompletionChunk]) -> Rebuilt:
    texts: dict[int, str] = {}
    finish: dict[int, str] = {}
    roles: dict[int, str] = {}
    calls: dict[int, dict[int, Call]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            delta = choice.delta
            if delta.role:
                assert choice.index not in roles, "a second role delta"
                roles[choice.index] = delta.role
            if delta.content:
                texts[choice.index] = texts.get(choice.index, "") + delta.content
            for fragment in delta.tool_calls or []:
                slot = calls.setdefault(choice.index, {}).setdefault(
                    fragment.index, Call("", "", "")
                )
                slot.id += fragment.id or ""
                if fragment.function is not None:
                    slot.name += fragment.function.name or ""
                    slot.arguments += fragment.function.arguments or ""
            if choice.finish_reason is not None:
                assert choice.index not in finish, "a second finish_reason"
                finish[choice.index] = choice.finish_reason
    ordered = {index: [c[k] for k in sorted(c)] for index, c in calls.items()}
    return Rebuilt(texts, finish, ordered, roles)


def contents(completion: ChatCompletion) -> dict[int, str]:
    found = {}
    for choice in completion.choices:
        assert choice.message.content is not None
        found[choice.index] = choice.message.content
    return found


def assert_prompt_filter_first(chunks: list[ChatCompletionChunk]) -> None:
    first = chunks[0]
    assert first.choices == []
    assert first.id == ""
    assert first.model_extra is not None
    results = first.model_extra["prompt_filter_results"]
    assert isinstance(results, list) and len(results) == 1
    assert results[0]["prompt_index"] == 0
    assert all(not verdict["filtered"] for verdict in results[0]["content_filter_results"].values())
    for chunk in chunks[1:]:
        assert chunk.model_extra is None or "prompt_filter_results" not in chunk.model_extra


# --- text ---------------------------------------------------------------------------------------


def test_text_rebuilds_the_non_streamed_content(surface: Surface) -> None:
    expected = surface.create(messages=user(QUESTION))
    chunks = surface.stream(messages=user(QUESTION))
    assert_prompt_filter_first(chunks)
    rebuilt = rebuild(chunks)
    assert rebuilt.texts == contents(expected)
    assert rebuilt.roles == {0: "assistant"}
    assert rebuilt.finish == {0: "stop"}
    assert all(chunk.usage is None for chunk in chunks)
    model_chunks = chunks[1:]
    assert {chunk.id for chunk in model_chunks} != {expected.id}  # a new id per response
    assert len({chunk.id for chunk in model_chunks}) == 1
    assert {chunk.model for chunk in model_chunks} == {expected.model}
    assert {chunk.object for chunk in model_chunks} == {"chat.completion.chunk"}
    assert {chunk.system_fingerprint for chunk in model_chunks} == {expected.system_fingerprint}
    assert len([c for c in model_chunks if c.choices and c.choices[0].delta.content]) > 10


def test_include_usage_final_chunk_equals_non_streamed_usage(surface: Surface) -> None:
    expected = surface.create(messages=user(QUESTION))
    chunks = surface.stream(messages=user(QUESTION), **INCLUDE_USAGE)
    assert_prompt_filter_first(chunks)
    *body, last = chunks
    assert last.choices == []
    assert last.usage is not None and expected.usage is not None
    assert last.usage == expected.usage
    details = last.usage.completion_tokens_details
    assert details is not None and details.reasoning_tokens
    expected_details = expected.usage.completion_tokens_details
    assert expected_details is not None
    assert details.reasoning_tokens == expected_details.reasoning_tokens
    assert last.usage.prompt_tokens == expected.usage.prompt_tokens
    assert last.usage.completion_tokens == expected.usage.completion_tokens
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert all(chunk.usage is None for chunk in body)
    assert rebuild(chunks).texts == contents(expected)
    # The streamed text plus the 13 hidden tokens o3-mini bills with a text answer (real:
    # 87 = 64 + 13 + 10 for "hello", tests/sdk/test_real_o3mini_usage.py).
    visible = tokens.count(rebuild(chunks).texts[0])
    assert last.usage.completion_tokens == details.reasoning_tokens + 13 + visible


def test_include_obfuscation_false_sends_chunks_without_the_pad(surface: Surface) -> None:
    padded = surface.stream(messages=user(QUESTION), **INCLUDE_USAGE)
    options = {"include_usage": True, "include_obfuscation": False}
    plain = surface.stream(messages=user(QUESTION), stream_options=options)
    # The SDK declares the field (None when absent); to_dict() leaves out what was not sent.
    assert sum("obfuscation" in chunk.to_dict() for chunk in padded) > 3
    assert not any("obfuscation" in chunk.to_dict() for chunk in plain)
    assert rebuild(plain).texts == rebuild(padded).texts
    assert plain[-1].usage == padded[-1].usage


def test_n_2_rebuilds_both_choices(surface: Surface) -> None:
    expected = surface.create(messages=user(QUESTION), n=2)
    chunks = surface.stream(messages=user(QUESTION), n=2, **INCLUDE_USAGE)
    rebuilt = rebuild(chunks)
    assert len(expected.choices) == 2
    assert rebuilt.texts == contents(expected)
    assert rebuilt.texts[0] != rebuilt.texts[1]
    assert rebuilt.finish == {0: "stop", 1: "stop"}
    assert rebuilt.roles == {0: "assistant", 1: "assistant"}
    assert chunks[-1].usage == expected.usage


# --- tool calls ---------------------------------------------------------------------------------

TOOL_CASES = [
    pytest.param({}, "get_weather", "tool_calls", id="auto"),
    pytest.param(
        {"tool_choice": {"type": "function", "function": {"name": "search_flights"}}},
        "search_flights",
        "stop",
        id="named",
    ),
]


@pytest.mark.parametrize(("extra", "name", "finish_reason"), TOOL_CASES)
def test_tool_call_rebuilds_the_non_streamed_call(
    surface: Surface, extra: dict[str, Any], name: str, finish_reason: str
) -> None:
    request: dict[str, Any] = {
        "messages": user(WEATHER_QUESTION),
        "tools": [GET_WEATHER, SEARCH_FLIGHTS],
        **extra,
    }
    expected = surface.create(**request)
    chunks = surface.stream(**request, **INCLUDE_USAGE)
    assert_prompt_filter_first(chunks)
    rebuilt = rebuild(chunks)
    (expected_call,) = expected.choices[0].message.tool_calls or []
    expected_call = cast(openai.types.chat.ChatCompletionMessageToolCall, expected_call)
    (call,) = rebuilt.calls[0]
    assert call.name == expected_call.function.name == name
    assert call.arguments == expected_call.function.arguments
    json.loads(call.arguments)
    assert call.id.startswith(CALL_ID_PREFIX)
    assert call.id != expected_call.id  # ids are new on every response
    assert rebuilt.texts == {}
    assert rebuilt.finish == {0: finish_reason}
    assert expected.choices[0].finish_reason == finish_reason
    assert chunks[-1].usage == expected.usage
    opening = chunks[1].choices[0].delta
    assert opening.role == "assistant"
    assert opening.content is None
    assert opening.tool_calls is not None
    assert opening.tool_calls[0].type == "function"


# --- structured output and the reasoning budget -------------------------------------------------


def test_structured_output_streams_as_json_content(surface: Surface) -> None:
    request: dict[str, Any] = {
        "messages": user("Turn this into a ticket: the login page is broken since Monday."),
        "response_format": TICKET_FORMAT,
    }
    expected = surface.create(**request)
    chunks = surface.stream(**request)
    text = rebuild(chunks).texts[0]
    assert text == expected.choices[0].message.content
    ticket = json.loads(text)
    assert set(ticket) == {"title", "priority", "labels"}
    assert rebuild(chunks).finish == {0: "stop"}


def test_reasoning_budget_spent_streams_role_then_length(surface: Surface) -> None:
    expected = surface.create(messages=user(QUESTION), max_completion_tokens=30)
    assert expected.choices[0].finish_reason == "length"
    chunks = surface.stream(messages=user(QUESTION), max_completion_tokens=30, **INCLUDE_USAGE)
    assert_prompt_filter_first(chunks)
    _prompt_filter, role, finish, usage = chunks
    assert role.choices[0].delta.role == "assistant"
    assert role.choices[0].delta.content == ""
    assert role.choices[0].finish_reason is None
    assert finish.choices[0].finish_reason == "length"
    assert finish.choices[0].delta.content is None
    assert rebuild(chunks).texts == {}
    assert usage.choices == []
    assert usage.usage == expected.usage
    assert usage.usage is not None
    assert usage.usage.completion_tokens == 30
    assert usage.usage.completion_tokens_details is not None
    assert usage.usage.completion_tokens_details.reasoning_tokens == 30


# --- the SDK's stream helpers -------------------------------------------------------------------


class Ticket(BaseModel):
    title: str
    priority: str
    labels: list[str]


@pytest.mark.parametrize("which", ["azure", "v1"])
def test_stream_helper_text_events_and_final_completion(
    client: openai.AzureOpenAI, v1_client: openai.OpenAI, which: str
) -> None:
    sdk: openai.OpenAI = client if which == "azure" else v1_client
    with sdk:
        expected = sdk.chat.completions.create(model=MODEL, messages=user(QUESTION))
        with sdk.chat.completions.stream(
            model=MODEL, messages=user(QUESTION), **INCLUDE_USAGE
        ) as stream:
            events = list(stream)
            final = stream.get_final_completion()
    content = expected.choices[0].message.content
    deltas = [e for e in events if e.type == "content.delta"]
    assert "".join(e.delta for e in deltas) == content
    assert deltas[-1].snapshot == content
    done = [e for e in events if e.type == "content.done"]
    assert len(done) == 1
    assert done[0].content == content
    assert events[0].type == "chunk"
    assert final.choices[0].message.content == content
    assert final.choices[0].finish_reason == "stop"
    assert final.usage == expected.usage


@pytest.mark.parametrize(("extra", "name", "finish_reason"), TOOL_CASES)
def test_stream_helper_tool_call(
    client: openai.AzureOpenAI, extra: dict[str, Any], name: str, finish_reason: str
) -> None:
    request: dict[str, Any] = {
        "model": MODEL,
        "messages": user(WEATHER_QUESTION),
        "tools": [GET_WEATHER, SEARCH_FLIGHTS],
        **extra,
    }
    with client:
        expected = client.chat.completions.create(**request)
        with client.chat.completions.stream(**request) as stream:
            events = list(stream)
            final = stream.get_final_completion()
    (expected_call,) = expected.choices[0].message.tool_calls or []
    expected_call = cast(openai.types.chat.ChatCompletionMessageToolCall, expected_call)
    argument_deltas = [e for e in events if e.type == "tool_calls.function.arguments.delta"]
    assert argument_deltas
    assert "".join(e.arguments_delta for e in argument_deltas) == expected_call.function.arguments
    (done,) = [e for e in events if e.type == "tool_calls.function.arguments.done"]
    assert done.name == name
    assert done.arguments == expected_call.function.arguments
    assert not [e for e in events if e.type.startswith("content.")]
    (call,) = final.choices[0].message.tool_calls or []
    assert call.function.name == name
    assert call.function.arguments == expected_call.function.arguments
    assert final.choices[0].finish_reason == finish_reason


def test_stream_helper_parses_structured_output(client: openai.AzureOpenAI) -> None:
    messages = user("Turn this into a ticket: the build is red.")
    with client:
        expected = client.chat.completions.parse(
            model=MODEL, messages=messages, response_format=Ticket
        )
        with client.chat.completions.stream(
            model=MODEL, messages=messages, response_format=Ticket
        ) as stream:
            events = list(stream)
            final = stream.get_final_completion()
    assert expected.choices[0].message.parsed is not None
    assert final.choices[0].message.parsed == expected.choices[0].message.parsed
    (done,) = [e for e in events if e.type == "content.done"]
    assert done.parsed == expected.choices[0].message.parsed


async def test_async_stream_helper_text(async_client: openai.AsyncAzureOpenAI) -> None:
    async with async_client:
        expected = await async_client.chat.completions.create(model=MODEL, messages=user(QUESTION))
        async with async_client.chat.completions.stream(
            model=MODEL, messages=user(QUESTION)
        ) as stream:
            deltas = [e.delta async for e in stream if e.type == "content.delta"]
            final = await stream.get_final_completion()
    assert "".join(deltas) == expected.choices[0].message.content
    assert final.choices[0].message.content == expected.choices[0].message.content


def test_beta_stream_helper(client: openai.AzureOpenAI) -> None:
    """`client.beta.chat.completions.stream` exists in this SDK and streams the same reply."""
    beta = client.beta.chat.completions
    with client:
        expected = client.chat.completions.create(model=MODEL, messages=user(QUESTION))
        with beta.stream(model=MODEL, messages=user(QUESTION)) as stream:
            events = list(stream)
            final = stream.get_final_completion()
    text = "".join(e.delta for e in events if e.type == "content.delta")
    assert text == expected.choices[0].message.content
    assert final.choices[0].message.content == text
