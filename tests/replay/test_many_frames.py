"""A recorded stream of very many small frames: the tape keeps them compact (one buffer, not
a Python object and a validation each: a recording of 3 million frames took 22 s and
2.5 GB to load and froze the event loop for seconds when replayed), and every frame still
replays byte for byte, text or base64, through raw HTTP and the SDK."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from mockserver.recordings.fixtures import (
    CompactFrames,
    FixtureError,
    FixtureFile,
    Frame,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    dumped,
    read_fixture_file,
    read_for_replay,
    write_fixture_file,
)
from mockserver.recordings.tape import KEPT_IN_MEMORY
from mockserver.testing.server import MockServer
from tests.replay.helpers import post
from tests.support.chat import DEPLOYMENT, chat_path, user
from tests.support.clients import azure_client

QUESTION = "Say many small things."
# Frames whose text JSON escapes (quotes, a backslash, a newline), or is not ASCII.
WORDS = ["a", "é", "🙂", 'say "hi"', "back\\slash", "line\nbreak", "日本"]
COUNT = 40_000  # ~6 MB of frames: past KEPT_IN_MEMORY, so replay reads them from the file


def _chunk(index: int) -> str:
    delta = {"content": WORDS[index % len(WORDS)]}
    event = {
        "id": "chatcmpl-many",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "o3-mini-2025-01-31",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
    }
    return "data: " + json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n\n"


def _request(body: dict[str, Any] | None = None) -> RecordedRequest:
    sent = body or {"messages": user(QUESTION), "stream": True}
    return RecordedRequest(method="POST", path=chat_path().split("?")[0], body=sent)


def _stream_file(directory: Path, frames: list[Frame], encoding: str = "utf-8") -> Path:
    response = RecordedResponse(
        status=200,
        headers={"content-type": "text/event-stream"},
        frames=frames,
        encoding=encoding,  # type: ignore[arg-type]  # "utf-8" or "base64", as the file says
    )
    path = directory / "many.json"
    write_fixture_file(
        path, FixtureFile(interactions=[Interaction(request=_request(), response=response)])
    )
    return path


def _text_frames() -> list[Frame]:
    frames = [Frame(offset_ms=index / 10, data=_chunk(index)) for index in range(COUNT)]
    return [*frames, Frame(offset_ms=COUNT / 10, data="data: [DONE]\n\n")]


def _binary_frames() -> tuple[list[Frame], bytes]:
    pieces = [b"data: \xff\xfe" + index.to_bytes(3, "big") + b"\n\n" for index in range(COUNT)]
    frames = [Frame(offset_ms=0.0, data=base64.b64encode(piece).decode()) for piece in pieces]
    return frames, b"".join(pieces)


def test_a_stream_of_many_small_frames_replays_byte_for_byte(tmp_path: Path) -> None:
    frames = _text_frames()
    expected = "".join(frame.data for frame in frames).encode()
    assert len(expected) > KEPT_IN_MEMORY
    _stream_file(tmp_path, frames)
    with MockServer(fixtures_dir=tmp_path, allow_repeats=True) as server:
        raw = post(server, {"messages": user(QUESTION), "stream": True})
        with azure_client(server, max_retries=0) as client:
            stream = client.chat.completions.create(
                model=DEPLOYMENT, messages=user(QUESTION), stream=True
            )
            contents = [chunk.choices[0].delta.content for chunk in stream]
    assert raw.status == 200
    assert raw.body == expected
    assert contents == [WORDS[index % len(WORDS)] for index in range(COUNT)]


def test_a_base64_stream_of_many_small_frames_replays_byte_for_byte(tmp_path: Path) -> None:
    frames, expected = _binary_frames()
    _stream_file(tmp_path, frames, encoding="base64")
    with MockServer(fixtures_dir=tmp_path) as server:
        raw = post(server, {"messages": user(QUESTION), "stream": True})
    assert raw.status == 200
    assert raw.body == expected


def test_the_tape_reads_a_stream_as_compact_frames_equal_to_the_file(tmp_path: Path) -> None:
    path = _stream_file(tmp_path, _text_frames())
    compact_file, plain_file = read_for_replay(path), read_fixture_file(path)
    assert dumped(compact_file) == dumped(plain_file)  # written back as the list it was
    compact, plain = compact_file.interactions[0].response, plain_file.interactions[0].response
    assert isinstance(compact.frames, CompactFrames)
    assert plain.frames is not None and len(compact.frames) == len(plain.frames)
    assert compact.frames == plain.frames
    assert compact.frames[-1] == plain.frames[-1] and compact.frames[3:5] == plain.frames[3:5]
    assert [compact.frame_bytes(f) for f in compact.frames] == [
        plain.frame_bytes(f) for f in plain.frames
    ]
    assert compact.model_copy(update={"frames": None}) == plain.model_copy(update={"frames": None})


def test_a_frame_shaped_object_in_a_request_is_kept_as_it_was(tmp_path: Path) -> None:
    """Such an object outside a stream is read the ordinary way, not taken for a frame."""
    body = {"messages": user(QUESTION), "stream": True, "metadata": {"offset_ms": 1, "data": "x"}}
    response = RecordedResponse(status=200, frames=[Frame(offset_ms=0, data="data: [DONE]\n\n")])
    path = tmp_path / "shaped.json"
    interaction = Interaction(request=_request(body), response=response)
    write_fixture_file(path, FixtureFile(interactions=[interaction]))
    read = read_for_replay(path).interactions[0]
    assert read.request.body == body
    assert read == read_fixture_file(path).interactions[0]


@pytest.mark.parametrize("where", ["body", "frame"])
def test_text_utf8_cannot_encode_is_refused_when_the_file_is_read(
    where: str, tmp_path: Path
) -> None:
    """Half a surrogate pair ("\\ud800") is JSON, but no bytes can be sent for it: refused
    at load, as any answer that could not be sent is (it was a 500 when replayed)."""
    answer: dict[str, Any] = (
        {"status": 200, "body": "half \ud800 pair"}
        if where == "body"
        else {"status": 200, "frames": [{"offset_ms": 0, "data": "data: \ud800\n\n"}]}
    )
    request = {"method": "POST", "path": chat_path().split("?")[0], "body": {"messages": []}}
    fixture = {"version": 1, "interactions": [{"request": request, "response": answer}]}
    (tmp_path / "half.json").write_text(json.dumps(fixture), encoding="utf-8")
    for read in (read_fixture_file, read_for_replay):
        with pytest.raises(FixtureError, match="half a surrogate pair"):
            read(tmp_path / "half.json")
    with pytest.raises(RuntimeError) as failed:
        MockServer(fixtures_dir=tmp_path).start()
    assert isinstance(failed.value.__cause__, FixtureError)
