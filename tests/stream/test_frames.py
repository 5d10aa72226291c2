"""The stream on the wire, byte for byte, against the real Azure recordings.

Real streams: `tests/data/real-traffic/azure/` (openllmetry 2026 text streams without
include_usage, crewAI text and tool-call streams with it, dd-trace-py's 2026-06 stream);
reference: real-traffic-facts.md section 4 and azure-contract.md section 4.2.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockserver.testing.server import MockServer
from tests.stream.helpers import (
    DD_TRACE,
    GET_WEATHER,
    OPENLLMETRY,
    REAL_TEXT_NO_USAGE,
    REAL_TEXT_WITH_USAGE,
    REAL_TOOLS_WITH_USAGE,
    WEATHER_QUESTION,
    chat_body,
    frame_kind,
    key_signature,
    key_tree,
    kind_sequence,
    real_frames,
    real_stream,
    rebuild,
    signatures_by_kind,
    unsorted_objects,
)
from tests.support.chat import API_KEY, chat_url
from tests.support.rawhttp import post_chat
from tests.support.sockets import exchange
from tests.support.sse import DONE, parse_frames, sse_data

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CHAT_ID = re.compile(r"^chatcmpl-[A-Za-z0-9]+$")
CALL_ID = re.compile(r"^call_[A-Za-z0-9]{24}$")
EVENT_STREAM = "text/event-stream; charset=utf-8"
RATE_LIMIT_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
)
TEXT = chat_body()
TOOLS = chat_body(WEATHER_QUESTION, tools=[GET_WEATHER])
WITH_USAGE: dict[str, Any] = {"stream_options": {"include_usage": True}}


@pytest.fixture(scope="module")
def buffered_server() -> Iterator[MockServer]:
    with MockServer(stream_chunking="buffered", stream_buffer_tokens=8) as running:
        yield running


@pytest.fixture(scope="module")
def unpadded_server() -> Iterator[MockServer]:
    with MockServer(stream_obfuscation=False) as running:
        yield running


def streamed(server: MockServer, body: dict[str, Any], **extra: Any) -> list[Any]:
    raw = exchange(server, {**body, **extra, "stream": True})
    assert raw.status == 200, raw.body[:300]
    assert raw.complete
    return parse_frames(raw.body)


def non_streamed(server: MockServer, body: dict[str, Any]) -> dict[str, Any]:
    response = post_chat(server, body)
    assert response.status == 200, response.body[:300]
    result: dict[str, Any] = response.json()
    return result


def model_frames(frames: list[Any]) -> list[dict[str, Any]]:
    """Every frame but the prompt-filter frame and [DONE]."""
    return [f for f in frames if frame_kind(f) not in ("prompt-filter", "done")]


# --- headers and framing -------------------------------------------------------------------------


def test_stream_headers(server: MockServer) -> None:
    raw = exchange(server, {**TEXT, "stream": True})
    assert raw.status == 200
    assert raw.header("Content-Type") == EVENT_STREAM
    assert raw.header("Transfer-Encoding") == "chunked"
    assert raw.header("Content-Length") is None
    assert raw.header("Server") is None  # Azure sends no Server header
    for name in ("apim-request-id", "x-request-id"):
        value = raw.header(name)
        assert value is not None and UUID.match(value), (name, value)
    assert raw.header("x-ms-region")
    assert raw.header("x-ms-deployment-name") == "o3-mini"
    assert raw.header("x-accel-buffering") == "no"
    for name in RATE_LIMIT_HEADERS:
        value = raw.header(name)
        assert value is not None and value.isdigit(), (name, value)


def test_real_2026_streams_have_the_same_content_type() -> None:
    """The oracle itself: what the recordings say the header is."""
    for source, index in [*REAL_TEXT_NO_USAGE, *REAL_TEXT_WITH_USAGE, *REAL_TOOLS_WITH_USAGE]:
        headers = real_stream(source, index).headers
        assert headers["content-type"] == EVENT_STREAM
        assert headers["transfer-encoding"] == "chunked"
        assert "content-length" not in headers


@pytest.mark.parametrize("body", [TEXT, TOOLS], ids=["text", "tools"])
@pytest.mark.parametrize("usage", [False, True], ids=["no-usage", "include-usage"])
def test_body_is_compact_data_only_events_ending_in_done(
    server: MockServer, body: dict[str, Any], usage: bool
) -> None:
    raw = exchange(server, {**body, **(WITH_USAGE if usage else {}), "stream": True})
    data = raw.body
    assert b"\r" not in data
    assert not re.search(rb"(^|\n)(event|id|retry):", data)
    assert not data.startswith(b":")
    assert data.endswith(b"\n\ndata: [DONE]\n\n")
    payloads = sse_data(data)
    assert payloads[-1] == b"[DONE]"
    assert b"[DONE]" not in payloads[:-1]
    for payload in payloads[:-1]:
        compact = json.dumps(json.loads(payload), separators=(",", ":"), ensure_ascii=False)
        assert payload == compact.encode(), payload[:200]


def test_each_frame_is_its_own_chunk(server: MockServer) -> None:
    """Frames are flushed one by one: every HTTP chunk holds exactly one whole event."""
    raw = exchange(server, {**TEXT, "stream": True})
    events = sse_data(raw.body)
    assert len(events) > 10
    assert len(raw.chunks) == len(events)
    for chunk, event in zip(raw.chunks, events, strict=True):
        assert chunk == b"data: " + event + b"\n\n"


def test_frames_arrive_incrementally_over_httpx(server: MockServer) -> None:
    """Read the response as it comes: more than one piece arrives, the first is a whole frame."""
    pieces: list[bytes] = []
    with (
        httpx.Client(timeout=30) as http,
        http.stream(
            "POST", chat_url(server), json={**TEXT, "stream": True}, headers={"api-key": API_KEY}
        ) as response,
    ):
        assert response.status_code == 200
        for piece in response.iter_raw():
            pieces.append(piece)
    assert len(pieces) > 1
    assert pieces[0].startswith(b'data: {"choices":[],"created":0,')
    body = b"".join(pieces)
    assert body.endswith(b"data: [DONE]\n\n")
    assert rebuild(parse_frames(body)).texts[0] == _content(non_streamed(server, TEXT))


# --- frame kinds and keys, compared with the recordings ------------------------------------------

CASES = [
    pytest.param(TEXT, {}, REAL_TEXT_NO_USAGE, id="text-no-usage"),
    pytest.param(TEXT, WITH_USAGE, REAL_TEXT_WITH_USAGE, id="text-include-usage"),
    pytest.param(TOOLS, WITH_USAGE, REAL_TOOLS_WITH_USAGE, id="tools-include-usage"),
    pytest.param(TOOLS, {}, [], id="tools-no-usage"),
]


@pytest.mark.parametrize(("body", "extra", "recordings"), CASES)
def test_frame_kinds_in_the_recorded_order(
    server: MockServer, body: dict[str, Any], extra: dict[str, Any], recordings: list[Any]
) -> None:
    kinds = kind_sequence(streamed(server, body, **extra))
    middle = "arguments" if "tools" in body else "content"
    expected = ["prompt-filter", "role", middle, "finish"]
    expected += ["usage", "done"] if extra else ["done"]
    assert kinds == expected
    for source, index in recordings:
        assert kind_sequence(real_frames(source, index)) == kinds, source


@pytest.mark.parametrize(
    ("body", "extra", "recordings"), [case for case in CASES if case.values[2]]
)
def test_keys_of_each_frame_kind_equal_the_recordings(
    server: MockServer, body: dict[str, Any], extra: dict[str, Any], recordings: list[Any]
) -> None:
    """Top level, choices[0], delta (and tool_calls[0], function): same keys, same order."""
    mock = signatures_by_kind(streamed(server, body, **extra))
    for source, index in recordings:
        real = signatures_by_kind(real_frames(source, index))
        assert set(mock) == set(real), source
        for kind in real:
            assert mock[kind] == real[kind], (source, kind)


@pytest.mark.parametrize("body", [TEXT, TOOLS], ids=["text", "tools"])
@pytest.mark.parametrize("usage", [False, True], ids=["no-usage", "include-usage"])
def test_key_order_is_alphabetical_except_prompt_filter_items(
    server: MockServer, body: dict[str, Any], usage: bool
) -> None:
    frames = streamed(server, body, **(WITH_USAGE if usage else {}))
    first, rest = frames[0], frames[1:-1]
    assert list(first) == sorted(first)
    for frame in rest:
        assert unsorted_objects(frame) == [], frame
    # The prompt-filter frame's whole key tree, item keys included, as in the 2026 recordings
    # (2026-01's crewAI streams put jailbreak's `filtered` before `detected`; 2026-03 on do not).
    for source, index in [*REAL_TEXT_NO_USAGE, (DD_TRACE, 0)]:
        assert key_tree(first) == key_tree(real_frames(source, index)[0]), source


def test_recordings_sort_their_keys_too() -> None:
    """The oracle of the test above: the real frames are alphabetical outside the filter items."""
    for source, index in [*REAL_TEXT_NO_USAGE, *REAL_TEXT_WITH_USAGE, *REAL_TOOLS_WITH_USAGE]:
        frames = real_frames(source, index)
        assert list(frames[0]["prompt_filter_results"][0]) == [
            "prompt_index",
            "content_filter_results",
        ]
        for frame in frames[1:-1]:
            assert unsorted_objects(frame) == [], source


def test_prompt_filter_frame(server: MockServer) -> None:
    frames = streamed(server, TEXT, **WITH_USAGE)
    first = frames[0]
    assert frame_kind(first) == "prompt-filter"
    assert "usage" not in first
    assert "system_fingerprint" not in first
    assert "obfuscation" not in first
    assert {k: first[k] for k in ("choices", "created", "id", "model", "object")} == {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
    }
    (item,) = first["prompt_filter_results"]
    assert item["prompt_index"] == 0
    real = real_frames(OPENLLMETRY, 1)[0]["prompt_filter_results"][0]
    assert item["content_filter_results"] == real["content_filter_results"]  # all safe


def test_role_content_finish_frames(server: MockServer) -> None:
    frames = model_frames(streamed(server, TEXT))
    role, *contents, finish = frames
    assert role["choices"][0]["delta"] == {"content": "", "refusal": None, "role": "assistant"}
    assert role["choices"][0]["content_filter_results"] == {}
    assert finish["choices"][0]["delta"] == {}
    assert finish["choices"][0]["content_filter_results"] == {}
    assert finish["choices"][0]["finish_reason"] == "stop"
    real_categories = {
        tuple(frame["choices"][0]["content_filter_results"])
        for source, index in [*REAL_TEXT_NO_USAGE, *REAL_TEXT_WITH_USAGE]
        for frame in real_frames(source, index)
        if frame_kind(frame) == "content"
    }
    for frame in contents:
        choice = frame["choices"][0]
        assert frame_kind(frame) == "content"
        assert choice["finish_reason"] is None
        assert choice["logprobs"] is None
        assert choice["index"] == 0
        assert isinstance(choice["delta"]["content"], str) and choice["delta"]["content"]
        verdicts = choice["content_filter_results"]
        assert tuple(verdicts) in real_categories
        assert all(not verdict["filtered"] for verdict in verdicts.values())


def test_tool_call_frames_as_in_the_crewai_recording(server: MockServer) -> None:
    frames = model_frames(streamed(server, TOOLS, **WITH_USAGE))
    role, *fragments, finish, usage = frames
    delta = role["choices"][0]["delta"]
    assert delta["content"] is None
    assert delta["refusal"] is None
    assert delta["role"] == "assistant"
    (opening,) = delta["tool_calls"]
    assert opening["function"] == {"arguments": "", "name": "get_weather"}
    assert CALL_ID.match(opening["id"])
    assert opening["index"] == 0
    assert opening["type"] == "function"
    assert fragments
    for frame in fragments:
        choice = frame["choices"][0]
        assert choice["content_filter_results"] == {}
        (fragment,) = choice["delta"]["tool_calls"]
        assert set(fragment) == {"function", "index"}
        assert set(fragment["function"]) == {"arguments"}
        assert fragment["function"]["arguments"]
    assert finish["choices"][0]["finish_reason"] == "tool_calls"
    assert finish["choices"][0]["delta"] == {}
    assert usage["choices"] == []
    real = real_frames(*REAL_TOOLS_WITH_USAGE[0])
    assert key_signature(real[1]) == key_signature(role)
    # the rebuilt call is the non-streamed one
    message = non_streamed(server, TOOLS)["choices"][0]["message"]
    (expected,) = message["tool_calls"]
    (call,) = rebuild(frames).calls[0].values()
    assert call["name"] == expected["function"]["name"]
    assert call["arguments"] == expected["function"]["arguments"]


# --- usage, identity, obfuscation ----------------------------------------------------------------


@pytest.mark.parametrize("body", [TEXT, TOOLS], ids=["text", "tools"])
@pytest.mark.parametrize("usage", [False, True], ids=["no-usage", "include-usage"])
def test_usage_null_on_every_model_frame_iff_include_usage(
    server: MockServer, body: dict[str, Any], usage: bool
) -> None:
    frames = streamed(server, body, **(WITH_USAGE if usage else {}))
    assert "usage" not in frames[0]
    usage_frames = [f for f in frames if frame_kind(f) == "usage"]
    if not usage:
        assert usage_frames == []
        assert all("usage" not in frame for frame in frames[:-1])
        return
    (usage_frame,) = usage_frames
    assert frames[-2] is usage_frame
    assert usage_frame["choices"] == []
    assert isinstance(usage_frame["usage"], dict)
    for frame in model_frames(frames)[:-1]:
        assert "usage" in frame and frame["usage"] is None, frame


@pytest.mark.parametrize("body", [TEXT, TOOLS], ids=["text", "tools"])
def test_usage_frame_equals_the_non_streamed_usage(
    server: MockServer, body: dict[str, Any]
) -> None:
    frames = streamed(server, body, **WITH_USAGE)
    expected = non_streamed(server, body)["usage"]
    assert frames[-2]["usage"] == expected
    assert key_tree(frames[-2]["usage"]) == key_tree(
        real_frames(*REAL_TOOLS_WITH_USAGE[0])[-2]["usage"]
    )


def test_model_frames_share_one_identity(server: MockServer) -> None:
    frames = model_frames(streamed(server, TEXT, n=2, **WITH_USAGE))
    identities = {
        (f["id"], f["created"], f["model"], f["object"], f["system_fingerprint"]) for f in frames
    }
    assert len(identities) == 1
    ((chat_id, created, model, kind, fingerprint),) = identities
    assert CHAT_ID.match(chat_id)
    assert created > 0
    assert model == "o3-mini-2025-01-31"
    assert kind == "chat.completion.chunk"
    assert isinstance(fingerprint, str) and fingerprint.startswith("fp_")


def test_every_model_frame_carries_obfuscation(server: MockServer) -> None:
    for frame in model_frames(streamed(server, TEXT, **WITH_USAGE)):
        assert isinstance(frame["obfuscation"], str)
        assert re.fullmatch(r"[A-Za-z0-9]{0,15}", frame["obfuscation"])


def test_random_pads_differ_from_one_stream_to_the_next(server: MockServer) -> None:
    """With random ids, pads are random too (taken from the process's pool from a random
    place for each stream): the same request streamed again has other pads (three streams
    starting at one place by chance: one in 2**28)."""
    pads = [
        tuple(frame["obfuscation"] for frame in model_frames(streamed(server, TEXT)))
        for _ in range(3)
    ]
    assert len(pads[0]) == len(pads[1]) == len(pads[2]) > 10
    assert len(set(pads)) > 1


def test_n_2_gives_each_choice_its_role_content_and_finish(server: MockServer) -> None:
    frames = streamed(server, TEXT, n=2, **WITH_USAGE)
    expected = non_streamed(server, {**TEXT, "n": 2})
    rebuilt = rebuild(frames)
    assert rebuilt.texts == {c["index"]: c["message"]["content"] for c in expected["choices"]}
    assert rebuilt.finish == {0: "stop", 1: "stop"}
    for index in (0, 1):
        own = [
            f for f in model_frames(frames) if f["choices"] and f["choices"][0]["index"] == index
        ]
        assert frame_kind(own[0]) == "role"
        assert frame_kind(own[-1]) == "finish"
        assert all(frame_kind(f) == "content" for f in own[1:-1])
    assert frames[-2]["usage"] == expected["usage"]


# --- server options ------------------------------------------------------------------------------


def _pieces(frames: list[Any]) -> list[str]:
    found = []
    for frame in frames:
        if frame_kind(frame) == "content":
            found.append(frame["choices"][0]["delta"]["content"])
        elif frame_kind(frame) == "arguments":
            found.append(frame["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"])
    return found


@pytest.mark.parametrize("body", [TEXT, TOOLS], ids=["text", "tools"])
def test_buffered_chunking_sends_pieces_of_8_tokens(
    server: MockServer, buffered_server: MockServer, body: dict[str, Any]
) -> None:
    """Buffered pieces are the token-mode pieces (one token each) joined 8 by 8."""
    tokens = _pieces(streamed(server, body))
    buffered_frames = streamed(buffered_server, body)
    buffered = _pieces(buffered_frames)
    assert len(tokens) > 8  # at least two buffered pieces
    assert buffered == ["".join(tokens[i : i + 8]) for i in range(0, len(tokens), 8)]
    assert "".join(buffered) == "".join(tokens)
    kinds = kind_sequence(buffered_frames)
    assert kinds == kind_sequence(streamed(server, body))
    if body is TEXT:
        assert rebuild(buffered_frames).texts[0] == _content(non_streamed(buffered_server, TEXT))


def test_obfuscation_off_removes_only_that_key(
    server: MockServer, unpadded_server: MockServer
) -> None:
    padded = streamed(server, TEXT, **WITH_USAGE)
    plain = streamed(unpadded_server, TEXT, **WITH_USAGE)
    assert all("obfuscation" not in frame for frame in plain if frame != DONE)
    assert len(plain) == len(padded)
    for one, other in zip(padded, plain, strict=True):
        if one == DONE:
            assert other == DONE
            continue
        stripped = {k: v for k, v in one.items() if k not in ("obfuscation", "id", "created")}
        assert stripped == {k: v for k, v in other.items() if k not in ("id", "created")}


def test_a_request_can_turn_obfuscation_off(
    server: MockServer, unpadded_server: MockServer
) -> None:
    """`stream_options.include_obfuscation: false` (OpenAI's documented switch) drops the pad
    for that request, as the server setting does for all; true or absent keeps it."""
    options = {"include_usage": True, "include_obfuscation": False}
    plain = streamed(server, TEXT, stream_options=options)
    assert all("obfuscation" not in frame for frame in plain if frame != DONE)
    unpadded = streamed(unpadded_server, TEXT, stream_options=options)
    assert [_unnamed(frame) for frame in plain] == [_unnamed(frame) for frame in unpadded]
    kept = streamed(server, TEXT, stream_options={**options, "include_obfuscation": True})
    assert all("obfuscation" in frame for frame in model_frames(kept))


def _unnamed(frame: Any) -> Any:
    """A frame without what differs between two servers' answers: its id and time."""
    return (
        frame if frame == DONE else {k: v for k, v in frame.items() if k not in ("id", "created")}
    )


def _content(completion: dict[str, Any]) -> str:
    content = completion["choices"][0]["message"]["content"]
    assert isinstance(content, str)
    return content
