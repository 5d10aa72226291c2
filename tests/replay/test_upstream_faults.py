"""Recording from an upstream that misbehaves: silent, not UTF-8, compressed into a bomb,
larger than allowed, broken off. The upstream is a real server on loopback that the test
scripts; the recorder is the real mock server; the client is raw HTTP or the openai SDK."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import openai
import pytest
from aiohttp import web

from mockserver.cli.main import main
from mockserver.recordings.fixtures import cassette_files
from mockserver.testing.server import MockServer
from tests.replay.helpers import (
    CASSETTE,
    error_code,
    interactions,
    journal,
    post,
    recorded_bytes,
    replayer,
)
from tests.replay.raw_upstream import RawUpstream
from tests.replay.scripted_upstream import ScriptedUpstream
from tests.support.chat import API_KEY, DEPLOYMENT, chat_path, user
from tests.support.clients import azure_client
from tests.support.sockets import exchange

QUESTION: dict[str, Any] = {"messages": user("Tell me something the upstream finds hard.")}
STREAMED: dict[str, Any] = {**QUESTION, "stream": True}
SSE = "text/event-stream; charset=utf-8"
# Azure's answer to an operation that took too long, byte for byte (contracts/errors.json).
AZURE_TIMEOUT = b'{ "error": { "code": "Timeout", "message": "The operation was timeout." } }'
NOT_UTF8_JSON = b'{"id": "chatcmpl-1", "note": "caf\xe9 \xff\xfe", "choices": []}'
NOT_UTF8_STREAM = (
    b'data: {"choices":[{"delta":{"content":"caf\xe9"}}]}\n\n'
    b'data: {"choices":[{"delta":{"content":"\xff\xfe"}}]}\n\n'
    b"data: [DONE]\n\n"
)
ONE_MIB = 1024 * 1024


@contextmanager
def recording(upstream: ScriptedUpstream, directory: Path, **settings: Any) -> Iterator[MockServer]:
    with MockServer(
        fixtures_dir=directory, record_mode="all", upstream=upstream.url, **settings
    ) as server:
        yield server


def nothing_recorded(directory: Path) -> bool:
    return cassette_files(directory / CASSETTE) == []


def bytes_answer(body: bytes, content_type: str, **headers: str) -> Any:
    async def handler(upstream: ScriptedUpstream, request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, headers={"Content-Type": content_type, **headers})

    return handler


async def silent(upstream: ScriptedUpstream, request: web.Request) -> web.StreamResponse:
    await upstream.silence()
    return web.Response(text="too late")


async def silent_after_one_frame(
    upstream: ScriptedUpstream, request: web.Request
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": SSE})
    await response.prepare(request)
    await response.write(b'data: {"choices":[]}\n\n')
    await upstream.silence()
    return response


# --- silence ------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [QUESTION, STREAMED], ids=["json", "stream"])
def test_a_silent_upstream_is_azures_408_and_nothing_is_recorded(
    body: dict[str, Any], tmp_path: Path
) -> None:
    with (
        ScriptedUpstream(silent) as upstream,
        recording(upstream, tmp_path, upstream_read_timeout_seconds=0.5) as recorder,
    ):
        raw = post(recorder, body)
        with azure_client(recorder) as client, pytest.raises(openai.APIStatusError) as raised:
            client.chat.completions.create(model=DEPLOYMENT, **body)
        entries = journal(recorder, 2)
    assert raw.status == 408
    assert raw.body == AZURE_TIMEOUT
    assert raised.value.status_code == 408
    assert raised.value.code == "Timeout"
    assert [entry.status for entry in entries] == [408, 408]
    assert nothing_recorded(tmp_path)


def test_an_upstream_that_never_accepts_the_connection_is_a_502_after_the_connect_timeout(
    tmp_path: Path,
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # never accepted: once the queue is full, new connections wait
        port = listener.getsockname()[1]
        with ExitStack() as fillers:
            for _ in range(3):
                filler = fillers.enter_context(socket.socket())
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
            with MockServer(
                fixtures_dir=tmp_path,
                record_mode="all",
                upstream=f"http://127.0.0.1:{port}",
                upstream_connect_timeout_seconds=0.5,
            ) as recorder:
                answer = post(recorder, QUESTION)
    assert answer.status == 502
    assert error_code(answer) == "UpstreamUnavailable"
    assert "could not be reached within 0.5 s" in answer.json()["error"]["message"]
    assert nothing_recorded(tmp_path)


def test_silence_in_the_middle_of_a_stream_cuts_it_and_nothing_is_recorded(
    tmp_path: Path,
) -> None:
    with (
        ScriptedUpstream(silent_after_one_frame) as upstream,
        recording(upstream, tmp_path, upstream_read_timeout_seconds=0.5) as recorder,
    ):
        seen = exchange(recorder, STREAMED)
    assert seen.status == 200
    assert seen.body == b'data: {"choices":[]}\n\n'
    assert not seen.complete, "a stream the upstream left silent must not look finished"
    assert nothing_recorded(tmp_path)


async def trickling(upstream: ScriptedUpstream, request: web.Request) -> web.StreamResponse:
    """Never silent for long, never done: a frame every 0.1 s for up to a minute."""
    response = web.StreamResponse(headers={"Content-Type": SSE})
    await response.prepare(request)
    for _ in range(600):
        await response.write(b'data: {"choices":[]}\n\n')
        await asyncio.sleep(0.1)
    return response


def test_an_upstream_that_trickles_forever_is_cut_at_the_total_timeout(tmp_path: Path) -> None:
    settings = {"upstream_read_timeout_seconds": 5.0, "upstream_total_timeout_seconds": 1.0}
    with (
        ScriptedUpstream(trickling) as upstream,
        recording(upstream, tmp_path, **settings) as recorder,
    ):
        seen = exchange(recorder, STREAMED)
    assert seen.status == 200
    assert seen.body.startswith(b'data: {"choices":[]}\n\n')
    assert not seen.complete
    assert len(seen.body) < 600 * len(b'data: {"choices":[]}\n\n'), "it was not let run out"
    assert nothing_recorded(tmp_path)


# --- a client that leaves early ----------------------------------------------------------


def test_a_client_that_leaves_after_done_does_not_stop_the_recording(tmp_path: Path) -> None:
    frames = [b'data: {"choices":[]}\n\n', b"data: [DONE]\n\n", b": upstream closing\n\n"]
    client_gone = threading.Event()  # set by the test once its socket is closed

    async def lingering(upstream: ScriptedUpstream, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": SSE})
        await response.prepare(request)
        await response.write(frames[0] + frames[1])
        # The client has [DONE] and goes; the upstream is not done.
        assert await asyncio.to_thread(client_gone.wait, 30), "the client never left"
        for _ in range(3):  # writes to a client that is gone fail by the second at the latest
            await response.write(frames[2])
        await response.write_eof()
        return response

    with ScriptedUpstream(lingering) as upstream, recording(upstream, tmp_path) as recorder:
        with socket.create_connection(("127.0.0.1", recorder.port), timeout=30) as client:
            client.sendall(_request_bytes(recorder, STREAMED))
            received = b""
            while b"data: [DONE]" not in received:
                piece = client.recv(65536)
                assert piece, "the recorder closed before [DONE]"
                received += piece
        client_gone.set()
        [entry] = journal(recorder, 1)
        assert recorder.take_failures() == []
    assert entry.status == 200
    [interaction] = interactions(tmp_path)
    assert recorded_bytes(interaction.response) == frames[0] + frames[1] + frames[2] * 3


def _request_bytes(server: MockServer, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    return (
        f"POST {chat_path()} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"api-key: {API_KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload


# --- bytes that are not UTF-8 -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(NOT_UTF8_JSON, "application/json"), (NOT_UTF8_STREAM, SSE)],
    ids=["json", "stream"],
)
def test_bytes_that_are_not_utf8_are_relayed_recorded_and_replayed_exactly(
    data: bytes, content_type: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = STREAMED if content_type == SSE else QUESTION
    with (
        ScriptedUpstream(bytes_answer(data, content_type)) as upstream,
        recording(upstream, tmp_path) as recorder,
    ):
        relayed = exchange(recorder, body)
    assert relayed.status == 200
    assert relayed.complete
    assert relayed.body == data
    assert relayed.header("content-type") == content_type

    [interaction] = interactions(tmp_path)
    assert interaction.response.encoding == "base64"
    assert recorded_bytes(interaction.response) == data
    with replayer(tmp_path) as replaying:
        replayed = exchange(replaying, body)
        [entry] = journal(replaying, 1)
    assert entry.source == f"fixture:{CASSETTE}#0"
    assert replayed.body == data
    assert replayed.complete

    capsys.readouterr()
    assert main(["fixtures", "ls", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith(f"{CASSETTE}#0\tPOST ")


# --- compressed answers and the size bound -------------------------------------------------


def test_a_gzip_bomb_is_refused_with_a_502_and_a_small_gzip_answer_is_relayed_decoded(
    tmp_path: Path,
) -> None:
    small = json.dumps({"id": "chatcmpl-2", "choices": [], "note": "zip" * 100}).encode()
    bomb = gzip.compress(bytes(64 * ONE_MIB), compresslevel=9)  # 64 MiB of zeros in ~64 KB
    answers = iter([gzip.compress(small), bomb])

    async def compressed(upstream: ScriptedUpstream, request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return web.Response(body=next(answers), headers=headers)

    with (
        ScriptedUpstream(compressed) as upstream,
        recording(upstream, tmp_path, upstream_max_body_bytes=ONE_MIB) as recorder,
    ):
        first = post(recorder, QUESTION)
        second = post(recorder, {"messages": user("Now the bomb.")})
        asked = [request.headers.get("Accept-Encoding") for request in upstream.received]
    assert asked == ["identity", "identity"], "the recorder asks for the bytes as they are"
    assert first.status == 200
    assert first.body == small
    assert "content-encoding" not in first.headers
    assert second.status == 502
    assert error_code(second) == "UpstreamResponseTooLarge"
    assert f"larger than {ONE_MIB} bytes" in second.json()["error"]["message"]
    [interaction] = interactions(tmp_path)
    assert recorded_bytes(interaction.response) == small


def test_a_gzip_bomb_in_a_stream_cuts_the_stream_and_nothing_is_recorded(tmp_path: Path) -> None:
    bomb = gzip.compress(b"data: {}\n\n" * (2 * ONE_MIB), compresslevel=9)
    answer = bytes_answer(bomb, SSE, **{"Content-Encoding": "gzip"})
    with (
        ScriptedUpstream(answer) as upstream,
        recording(upstream, tmp_path, upstream_max_body_bytes=ONE_MIB) as recorder,
    ):
        seen = exchange(recorder, STREAMED)
    assert seen.status == 200
    assert not seen.complete
    assert len(seen.body) <= ONE_MIB
    assert nothing_recorded(tmp_path)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_answer_over_the_bound_is_a_502_and_not_recorded(chunked: bool, tmp_path: Path) -> None:
    async def large(upstream: ScriptedUpstream, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if chunked:
            response.enable_chunked_encoding()
        else:
            response.content_length = 2 * ONE_MIB
        await response.prepare(request)
        for _ in range(32):
            await response.write(b" " * (ONE_MIB // 16))
        await response.write_eof()
        return response

    with (
        ScriptedUpstream(large) as upstream,
        recording(upstream, tmp_path, upstream_max_body_bytes=ONE_MIB) as recorder,
    ):
        answer = post(recorder, QUESTION)
    assert answer.status == 502
    assert error_code(answer) == "UpstreamResponseTooLarge"
    assert nothing_recorded(tmp_path)


def test_large_answers_are_relayed_recorded_and_replayed_whole(tmp_path: Path) -> None:
    # 2.4 MB each: past the first MiB, which a capture keeps in memory, and past what a
    # replaying tape keeps in memory (read back from disk when replayed).
    events = [f'data: {{"n": {n}, "pad": "{"é" * 6000}"}}\n\n'.encode() for n in range(200)]
    stream = b"".join(events) + b'data: {"last": "no blank line after me"}'
    body = json.dumps({"id": "chatcmpl-4", "pad": "ü" * 1_200_000}, ensure_ascii=False).encode()

    async def pieces(upstream: ScriptedUpstream, request: web.Request) -> web.StreamResponse:
        streamed = (await request.json())["stream"]
        response = web.StreamResponse(headers={"Content-Type": SSE if streamed else "text/json"})
        response.enable_chunked_encoding()  # no Content-Length: the size is learnt on the way
        await response.prepare(request)
        data = stream if streamed else body
        for start in range(0, len(data), 65_537):  # pieces that split events and characters
            await response.write(data[start : start + 65_537])
        await response.write_eof()
        return response

    with ScriptedUpstream(pieces) as upstream, recording(upstream, tmp_path) as recorder:
        seen = exchange(recorder, STREAMED)
        whole = exchange(recorder, {**QUESTION, "stream": False})
    assert (seen.complete, whole.complete) == (True, True)
    assert (seen.body, whole.body) == (stream, body)
    assert whole.header("content-length") == str(len(body))
    streamed, answered = interactions(tmp_path)
    frames = streamed.response.frames
    assert frames is not None
    assert [streamed.response.frame_bytes(frame) for frame in frames[:-1]] == events
    assert frames[-1].data == 'data: {"last": "no blank line after me"}'
    assert answered.response.body_bytes() == body
    with replayer(tmp_path) as replaying:
        assert exchange(replaying, STREAMED).body == stream
        assert exchange(replaying, {**QUESTION, "stream": False}).body == body


# --- an answer broken off, an encoding the recorder cannot undo ---------------------------


async def broken_off(upstream: ScriptedUpstream, request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = 1000
    await response.prepare(request)
    await response.write(b'{"id": "chatcmpl-3", "cho')
    assert request.transport is not None
    request.transport.close()
    return response


def test_a_json_answer_broken_off_is_a_502_and_not_recorded(tmp_path: Path) -> None:
    with ScriptedUpstream(broken_off) as upstream, recording(upstream, tmp_path) as recorder:
        answer = post(recorder, QUESTION)
        with azure_client(recorder) as client, pytest.raises(openai.APIStatusError) as raised:
            client.chat.completions.create(model=DEPLOYMENT, **QUESTION)
    assert answer.status == 502
    assert error_code(answer) == "UpstreamUnavailable"
    assert raised.value.status_code == 502
    assert nothing_recorded(tmp_path)


def test_an_encoding_the_recorder_cannot_undo_is_a_502(tmp_path: Path) -> None:
    answer = bytes_answer(b"\x1b\x00\x00", "application/json", **{"Content-Encoding": "br"})
    with ScriptedUpstream(answer) as upstream, recording(upstream, tmp_path) as recorder:
        refused = post(recorder, QUESTION)
    assert refused.status == 502
    assert error_code(refused) == "UpstreamUnavailable"
    assert "'br'" in refused.json()["error"]["message"]
    assert nothing_recorded(tmp_path)


# --- answers no HTTP library would send: written raw -----------------------------------

RAW_JSON = b'{"id":"chatcmpl-raw","choices":[]}'


def _raw_answer(status_line: bytes, *headers: bytes) -> bytes:
    head = [status_line, b"Content-Type: application/json", *headers]
    head.append(b"Content-Length: %d" % len(RAW_JSON))
    return b"\r\n".join(head) + b"\r\n\r\n" + RAW_JSON


def test_an_upstream_status_outside_http_is_a_502_and_not_recorded(tmp_path: Path) -> None:
    with (
        RawUpstream(_raw_answer(b"HTTP/1.1 999 Weird")) as upstream,
        MockServer(fixtures_dir=tmp_path, record_mode="all", upstream=upstream.url) as recorder,
    ):
        answer = post(recorder, QUESTION)
        with (
            azure_client(recorder, max_retries=0) as client,
            pytest.raises(openai.APIStatusError) as raised,
        ):
            client.chat.completions.create(model=DEPLOYMENT, **QUESTION)
    assert upstream.answered == 2
    assert answer.status == 502
    assert error_code(answer) == "UpstreamUnavailable"
    assert "the upstream answered status 999" in answer.json()["error"]["message"]
    assert raised.value.status_code == 502
    assert nothing_recorded(tmp_path)


def test_an_upstream_header_with_a_control_character_is_dropped(tmp_path: Path) -> None:
    bad = b"X-Bad: one\x01two"
    with (
        RawUpstream(_raw_answer(b"HTTP/1.1 200 OK", bad, b"X-Good: kept")) as upstream,
        MockServer(fixtures_dir=tmp_path, record_mode="all", upstream=upstream.url) as recorder,
    ):
        answer = post(recorder, QUESTION)
        with azure_client(recorder, max_retries=0) as client:
            sdk = client.chat.completions.with_raw_response.create(model=DEPLOYMENT, **QUESTION)
    assert answer.status == 200
    assert answer.body == RAW_JSON
    assert answer.headers.get("x-good") == "kept"
    assert "x-bad" not in answer.headers
    assert sdk.http_response.status_code == 200
    assert "x-bad" not in sdk.headers
    [first, second] = interactions(tmp_path)
    assert first.response.headers.get("x-good") == "kept"
    assert all("x-bad" not in i.response.headers for i in (first, second))
