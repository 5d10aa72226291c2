"""SSE framing in-process: chat chunks and Responses events, frame by frame, no socket."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from mockserver.engines.reply import Choice, Completion, ToolCall, Usage
from mockserver.operations.responses.events import ResponseEvents
from mockserver.serialize.ids import ResponseIdentity
from mockserver.serialize.sse import DONE, ChunkStream, StreamOptions, token_pieces

IDENTITY = ResponseIdentity("chatcmpl-test", 1_738_281_600)
USAGE = Usage(prompt_tokens=12, completion_tokens=90, reasoning_tokens=64)
TEXT = "Paris is the capital of France. Ça va? 東京 too."


def completion(*choices: Choice) -> Completion:
    return Completion(choices, USAGE, "o3-mini-2025-01-31", "fp_test")


def payloads(frames: list[bytes]) -> list[dict[str, Any]]:
    """Each `data:` frame's JSON, [DONE] left out; every frame is one complete event."""
    decoded = []
    for raw in frames:
        assert raw.startswith(b"data: ") and raw.endswith(b"\n\n"), raw
        if raw != DONE:
            decoded.append(orjson.loads(raw[len(b"data: ") : -2]))
    return decoded


def chat_frames(done: Completion, **options: Any) -> list[bytes]:
    settings = {"include_usage": False, **options}
    return list(ChunkStream(done, IDENTITY, StreamOptions(**settings)).frames())


def test_a_text_answer_is_framed_as_azure_sends_it() -> None:
    frames = chat_frames(completion(Choice(0, TEXT, "stop")))
    events = payloads(frames)
    assert frames[-1] == DONE
    assert events[0]["choices"] == [] and events[0]["id"] == ""  # the prompt filter frame
    assert "prompt_filter_results" in events[0]
    assert events[1]["choices"][0]["delta"] == {"content": "", "refusal": None, "role": "assistant"}
    content = [e["choices"][0]["delta"].get("content", "") for e in events[2:-1]]
    assert "".join(content) == TEXT
    assert len(content) == len(token_pieces(TEXT))  # a frame per token
    last = events[-1]["choices"][0]
    assert last["finish_reason"] == "stop" and last["delta"] == {}
    assert all(e["id"] == IDENTITY.id for e in events[1:])
    assert all(list(e) == sorted(e) for e in events)  # Azure's alphabetical key order


def test_usage_comes_last_when_asked_and_every_frame_carries_its_slot() -> None:
    events = payloads(chat_frames(completion(Choice(0, TEXT, "stop")), include_usage=True))
    assert events[-1]["choices"] == []
    usage = events[-1]["usage"]
    assert usage["prompt_tokens"] == 12 and usage["completion_tokens"] == 90
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 64
    assert all(e["usage"] is None for e in events[1:-1])


def test_buffered_chunking_sends_fewer_larger_frames_that_join_the_same() -> None:
    done = completion(Choice(0, TEXT * 5, "stop"))
    per_token = payloads(chat_frames(done))
    buffered = payloads(chat_frames(done, chunking="buffered", buffer_tokens=8))
    assert len(buffered) < len(per_token)
    text = "".join(
        e["choices"][0]["delta"].get("content", "") for e in buffered[1:-1] if e["choices"]
    )
    assert text == TEXT * 5


def test_tool_call_arguments_arrive_in_pieces_that_join_to_valid_json() -> None:
    arguments = '{"city": "Paris", "units": "celsius"}'
    call = ToolCall("call_1", "get_weather", arguments)
    events = payloads(chat_frames(completion(Choice(0, None, "tool_calls", (call,)))))
    opening = events[1]["choices"][0]["delta"]["tool_calls"][0]
    assert opening["function"] == {"arguments": "", "name": "get_weather"}
    pieces = [
        e["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] for e in events[2:-1]
    ]
    assert orjson.loads("".join(pieces)) == orjson.loads(arguments)
    assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_obfuscation_pads_are_reproducible_and_can_be_turned_off() -> None:
    done = completion(Choice(0, TEXT, "stop"))
    assert chat_frames(done) == chat_frames(done)
    plain = payloads(chat_frames(done, obfuscation=False))
    assert all("obfuscation" not in e for e in plain)


def test_a_late_error_is_one_data_frame() -> None:
    stream = ChunkStream(completion(Choice(0, TEXT, "stop")), IDENTITY, StreamOptions(False))
    raw = stream.error_frame({"code": "server_error", "message": "boom"}, 7)
    assert payloads([raw]) == [{"error": {"code": "server_error", "message": "boom"}}]


def response_object(text: str) -> dict[str, Any]:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    return {"id": "resp_1", "object": "response", "status": "completed", "output": [message]}


def response_events(response: dict[str, Any], per_frame: int = 1) -> list[dict[str, Any]]:
    decoded = []
    for raw in ResponseEvents(response, per_frame).frames():
        head, _, data = raw.partition(b"\ndata: ")
        event = orjson.loads(data[:-2])
        assert head == b"event: " + event["type"].encode()
        decoded.append(event)
    return decoded


def test_responses_events_open_stream_and_close_in_order() -> None:
    events = response_events(response_object(TEXT))
    kinds = [e["type"] for e in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(deltas) == TEXT
    assert (
        events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    )


@pytest.mark.parametrize("per_frame", [1, 4, 1000])
def test_responses_deltas_follow_the_buffer_size(per_frame: int) -> None:
    events = response_events(response_object(TEXT), per_frame)
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(deltas) == TEXT
    assert len(deltas) == -(-len(token_pieces(TEXT)) // per_frame)
