"""Faults inside a stream, asked for with `x-mock-fault` (mockserver/faults/kinds.py).

`stream-error`: some content frames, then `data: {"error": {...}}` (Azure's 500 body's error
object: message, type "server_error", param null, code null) and no [DONE]; the `openai` SDK
raises `APIError` on such a frame (azure-contract.md section 7, "SSE parsing").
`cut-stream`: the stream stops half way without [DONE]; the connection is dropped.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import openai
import pytest

from mockserver.testing.server import MockServer
from tests.stream.helpers import MODEL, QUESTION, chat_body, frame_kind, rebuild
from tests.support.chat import API_KEY, chat_url, user
from tests.support.rawhttp import post_chat
from tests.support.sockets import exchange
from tests.support.sse import parse_frames

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
STREAM_ERROR = {"x-mock-fault": "stream-error"}
CUT_STREAM = {"x-mock-fault": "cut-stream"}


def full_text(server: MockServer) -> str:
    response = post_chat(server, chat_body(QUESTION))
    assert response.status == 200
    content = response.json()["choices"][0]["message"]["content"]
    assert isinstance(content, str) and content
    return content


def assert_strict_prefix(text: str, full: str) -> None:
    assert text, "no content arrived before the fault"
    assert len(text) < len(full)
    assert full.startswith(text)


# --- stream-error -------------------------------------------------------------------------------


@pytest.mark.parametrize("usage", [False, True], ids=["no-usage", "include-usage"])
def test_stream_error_frame_after_some_content(server: MockServer, usage: bool) -> None:
    extra: dict[str, Any] = {"stream_options": {"include_usage": True}} if usage else {}
    raw = exchange(server, {**chat_body(QUESTION), "stream": True, **extra}, STREAM_ERROR)
    assert raw.status == 200
    assert raw.header("Content-Type") == "text/event-stream; charset=utf-8"
    assert b"[DONE]" not in raw.body
    frames = parse_frames(raw.body)  # every event whole: data lines, blank-line ended
    kinds = [frame_kind(frame) for frame in frames]
    assert kinds[:2] == ["prompt-filter", "role"]
    assert kinds[-1] == "error"
    assert set(kinds[2:-1]) == {"content"}
    assert len(kinds[2:-1]) >= 1
    error_frame = frames[-1]
    assert list(error_frame) == ["error"]
    error = error_frame["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "server_error"
    assert error["param"] is None
    assert error["code"] is None
    assert isinstance(error["message"], str) and error["message"]
    ids = UUID.findall(error["message"])
    assert ids, error["message"]
    assert ids[0] in {raw.header("apim-request-id"), raw.header("x-request-id")}
    assert_strict_prefix(rebuild(frames).texts[0], full_text(server))


def test_sdk_raises_api_error_on_the_error_frame(
    server: MockServer, client: openai.AzureOpenAI
) -> None:
    text = ""
    finish_reasons: list[str] = []
    with client, pytest.raises(openai.APIError) as raised:
        stream = client.chat.completions.create(
            model=MODEL, messages=user(QUESTION), stream=True, extra_headers=STREAM_ERROR
        )
        with stream:
            for chunk in stream:
                for choice in chunk.choices:
                    text += choice.delta.content or ""
                    if choice.finish_reason:
                        finish_reasons.append(choice.finish_reason)
    error = raised.value
    assert not isinstance(error, openai.APIStatusError | openai.APIConnectionError)
    assert isinstance(error.body, dict)
    assert error.body["type"] == "server_error"
    assert error.type == "server_error"
    assert error.code is None
    assert error.param is None
    assert error.message == error.body["message"]
    assert finish_reasons == []
    assert_strict_prefix(text, full_text(server))


async def test_async_sdk_raises_api_error_on_the_error_frame(
    server: MockServer, async_client: openai.AsyncAzureOpenAI
) -> None:
    text = ""
    async with async_client:
        stream = await async_client.chat.completions.create(
            model=MODEL, messages=user(QUESTION), stream=True, extra_headers=STREAM_ERROR
        )
        with pytest.raises(openai.APIError) as raised:
            async with stream:
                async for chunk in stream:
                    for choice in chunk.choices:
                        text += choice.delta.content or ""
    assert raised.value.type == "server_error"
    assert_strict_prefix(text, full_text(server))


# --- cut-stream ---------------------------------------------------------------------------------


def test_cut_stream_stops_half_way_without_done(server: MockServer) -> None:
    raw = exchange(server, {**chat_body(QUESTION), "stream": True}, CUT_STREAM)
    assert raw.status == 200
    assert not raw.complete  # no closing zero-length chunk: the connection was dropped
    assert b"[DONE]" not in raw.body
    assert raw.body.endswith(b"\n\n")  # whole frames up to the cut
    frames = parse_frames(raw.body)
    kinds = [frame_kind(frame) for frame in frames]
    assert kinds[:2] == ["prompt-filter", "role"]
    assert set(kinds[2:]) == {"content"}
    assert_strict_prefix(rebuild(frames).texts[0], full_text(server))


def test_cut_stream_is_a_protocol_error_for_httpx(server: MockServer) -> None:
    received = b""
    with (
        httpx.Client(timeout=30) as http,
        http.stream(
            "POST",
            chat_url(server),
            json={**chat_body(QUESTION), "stream": True},
            headers={"api-key": API_KEY, **CUT_STREAM},
        ) as response,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        for piece in response.iter_bytes():
            received += piece
    assert b"[DONE]" not in received
    assert_strict_prefix(rebuild(parse_frames(received)).texts[0], full_text(server))


def test_sdk_reports_the_cut_as_a_connection_error(
    server: MockServer, client: openai.AzureOpenAI
) -> None:
    """What the SDK does with a dropped stream: `APIConnectionError` while iterating, after
    the text received so far; never a normal end."""
    text = ""
    finish_reasons: list[str] = []
    with (
        client,
        pytest.raises(openai.APIConnectionError),
        client.chat.completions.create(
            model=MODEL, messages=user(QUESTION), stream=True, extra_headers=CUT_STREAM
        ) as stream,
    ):
        for chunk in stream:
            for choice in chunk.choices:
                text += choice.delta.content or ""
                if choice.finish_reason:
                    finish_reasons.append(choice.finish_reason)
    assert finish_reasons == []
    assert_strict_prefix(text, full_text(server))


def test_faults_leave_the_next_stream_whole(server: MockServer, client: openai.AzureOpenAI) -> None:
    for headers in (STREAM_ERROR, CUT_STREAM):
        raw = exchange(server, {**chat_body(QUESTION), "stream": True}, headers)
        assert b"[DONE]" not in raw.body
    with (
        client,
        client.chat.completions.create(model=MODEL, messages=user(QUESTION), stream=True) as stream,
    ):
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == full_text(server)
