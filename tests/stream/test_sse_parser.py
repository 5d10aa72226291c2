"""An SSE parser no one here wrote (`httpx-sse`) reads the mock's streams.

httpx-sse follows the WHATWG event-stream rules; it must find data-only `message` events whose
data parse as JSON, with `[DONE]` last, and the same text the `openai` SDK rebuilds.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse, connect_sse

from mockserver.testing.server import MockServer
from tests.stream.helpers import (
    GET_WEATHER,
    MODEL,
    QUESTION,
    WEATHER_QUESTION,
    chat_body,
    kind_sequence,
    rebuild,
)
from tests.support.chat import API_KEY, chat_url, user
from tests.support.sse import DONE

HEADERS = {"api-key": API_KEY}


def check_events(events: list[ServerSentEvent]) -> list[Any]:
    """The events are plain messages; their data are JSON, then `[DONE]`; return them parsed."""
    assert len(events) > 3
    assert events[-1].data == DONE
    parsed: list[Any] = []
    for event in events:
        assert event.event == "message"
        assert event.id == ""
        assert event.retry is None
        parsed.append(DONE if event.data == DONE else json.loads(event.data))
    assert DONE not in parsed[:-1]
    return parsed


def sdk_text(client: openai.AzureOpenAI, text: str, **params: Any) -> str:
    with client.chat.completions.create(
        model=MODEL, messages=user(text), stream=True, **params
    ) as stream:
        return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


@pytest.mark.parametrize("usage", [False, True], ids=["no-usage", "include-usage"])
def test_httpx_sse_reads_the_text_stream(
    server: MockServer, client: openai.AzureOpenAI, usage: bool
) -> None:
    extra: dict[str, Any] = {"stream_options": {"include_usage": True}} if usage else {}
    body = {**chat_body(QUESTION), "stream": True, **extra}
    with (
        httpx.Client(timeout=30) as http,
        connect_sse(http, "POST", chat_url(server), json=body, headers=HEADERS) as source,
    ):
        assert source.response.status_code == 200
        events = list(source.iter_sse())
    frames = check_events(events)
    expected_kinds = ["prompt-filter", "role", "content", "finish"]
    expected_kinds += ["usage", "done"] if usage else ["done"]
    assert kind_sequence(frames) == expected_kinds
    with client:
        assert rebuild(frames).texts[0] == sdk_text(client, QUESTION, **extra)
        completion = client.chat.completions.create(model=MODEL, messages=user(QUESTION))
    assert rebuild(frames).texts[0] == completion.choices[0].message.content


def test_httpx_sse_reads_the_tool_call_stream(
    server: MockServer, client: openai.AzureOpenAI
) -> None:
    body = {**chat_body(WEATHER_QUESTION, tools=[GET_WEATHER]), "stream": True}
    with (
        httpx.Client(timeout=30) as http,
        connect_sse(http, "POST", chat_url(server), json=body, headers=HEADERS) as source,
    ):
        frames = check_events(list(source.iter_sse()))
    assert kind_sequence(frames) == ["prompt-filter", "role", "arguments", "finish", "done"]
    (call,) = rebuild(frames).calls[0].values()
    with client:
        completion = client.chat.completions.create(
            model=MODEL, messages=user(WEATHER_QUESTION), tools=[GET_WEATHER]
        )
    (expected,) = completion.choices[0].message.tool_calls or []
    assert expected.type == "function"
    assert call["name"] == expected.function.name
    assert call["arguments"] == expected.function.arguments


async def test_async_httpx_sse_on_the_v1_route(server: MockServer) -> None:
    body = {**chat_body(QUESTION), "model": MODEL, "stream": True}
    url = f"{server.v1_base_url}chat/completions"
    async with (
        httpx.AsyncClient(timeout=30) as http,
        aconnect_sse(
            http, "POST", url, json=body, headers={"Authorization": f"Bearer {API_KEY}"}
        ) as source,
    ):
        assert source.response.status_code == 200
        events = [event async for event in source.aiter_sse()]
        plain = await http.post(
            url, json={**body, "stream": False}, headers={"Authorization": f"Bearer {API_KEY}"}
        )
    frames = check_events(events)
    assert kind_sequence(frames) == ["prompt-filter", "role", "content", "finish", "done"]
    assert rebuild(frames).texts[0] == plain.json()["choices"][0]["message"]["content"]
