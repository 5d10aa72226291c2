"""Clients that leave mid-stream, and many streams at once: the server stays healthy and quiet.

This module runs its own server, so the count of tasks on the server's event loop is
not disturbed by other tests' keep-alive connections. A long stream (n=128 choices, about
7 MB) read through a socket with a tiny receive buffer cannot be buffered whole by the
kernel, so the server is still writing when the client goes away.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from mockserver.testing.server import MockServer
from tests.stream.helpers import MODEL, QUESTION, chat_body, frame_kind, rebuild
from tests.support.chat import API_KEY, chat_url, user
from tests.support.clients import async_azure_client, azure_client
from tests.support.sockets import request_bytes
from tests.support.sse import DONE, parse_frames

LONG_STREAM: dict[str, Any] = {**chat_body(QUESTION), "stream": True, "n": 128}
WAIT_SECONDS = 20.0  # bounds every wait below; none of them measures speed
POLL_SECONDS = 0.02
DISCONNECT_MESSAGE = "client disconnected mid-stream"


@pytest.fixture(scope="module")
def own_server() -> Iterator[MockServer]:
    with MockServer() as running:
        yield running


# --- the server's event loop ---------------------------------------------------------------------


async def _other_tasks() -> int:
    current = asyncio.current_task()
    return len([task for task in asyncio.all_tasks() if task is not current])


def server_tasks(server: MockServer) -> int:
    """Tasks alive on the server's loop, not counting the one asking."""
    assert server._loop is not None
    future = asyncio.run_coroutine_threadsafe(_other_tasks(), server._loop)
    return future.result(timeout=WAIT_SECONDS)


def settled_tasks(server: MockServer) -> int:
    """The task count once it stops changing (three equal reads in a row), within the bound."""
    deadline = time.monotonic() + WAIT_SECONDS
    reads = [server_tasks(server)]
    while time.monotonic() < deadline and (len(reads) < 3 or len(set(reads[-3:])) > 1):
        time.sleep(POLL_SECONDS)
        reads.append(server_tasks(server))
    return reads[-1]


def wait_for_tasks(server: MockServer, at_most: int) -> int:
    """Poll until no more than `at_most` tasks are left, within the bound; the last count."""
    deadline = time.monotonic() + WAIT_SECONDS
    count = server_tasks(server)
    while count > at_most and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        count = server_tasks(server)
    return count


def wait_for_record(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if any(text in record.getMessage() for record in caplog.records):
            return True
        time.sleep(POLL_SECONDS)
    return False


def assert_quiet(caplog: pytest.LogCaptureFixture) -> None:
    """No error anywhere, no warning from the server, no traceback."""
    for record in caplog.records:
        assert record.levelno < logging.ERROR, record.getMessage()
        assert record.exc_info is None, record.getMessage()
        if record.name.startswith("mockserver"):
            assert record.levelno < logging.WARNING, record.getMessage()


def assert_healthy(server: MockServer) -> None:
    """A following request, plain and streamed, is answered in full."""
    with azure_client(server) as client:
        completion = client.chat.completions.create(model=MODEL, messages=user(QUESTION))
        with client.chat.completions.create(
            model=MODEL, messages=user(QUESTION), stream=True
        ) as stream:
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert completion.choices[0].message.content
    assert text == completion.choices[0].message.content


@pytest.fixture
def quiet_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Records of every logger at WARNING and up (the root's level), and the server's INFO."""
    # An earlier test's abandoned loop may still hold pending tasks; collected during this
    # test, asyncio would log "Task was destroyed but it is pending!" here, not there.
    gc.collect()
    caplog.set_level(logging.INFO, logger="mockserver")
    return caplog


# --- leaving mid-stream --------------------------------------------------------------------------


def read_frames_then_close(server: MockServer, frames_wanted: int) -> list[Any]:
    """Open the long stream over a socket with a small receive buffer, read a few whole
    frames, close. Returns the frames read."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(WAIT_SECONDS)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(request_bytes(server, LONG_STREAM))
        received = b""
        while received.count(b"\n\n") < frames_wanted:  # each frame ends in a blank line
            data = sock.recv(1024)
            assert data, "the server closed the stream early"
            received += data
    finally:
        sock.close()
    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    events = []
    for piece in rest.split(b"\r\n"):  # the chunk-size lines and the chunks between them
        if piece.startswith(b"data: ") and piece.endswith(b"\n\n"):
            events.append(piece)
    return parse_frames(b"".join(events))


def test_socket_closed_mid_stream(
    own_server: MockServer, quiet_log: pytest.LogCaptureFixture
) -> None:
    baseline = settled_tasks(own_server)
    frames = read_frames_then_close(own_server, frames_wanted=5)
    assert [frame_kind(f) for f in frames[:3]] == ["prompt-filter", "role", "content"]
    assert wait_for_tasks(own_server, baseline) <= baseline
    # the server noticed the client leaving while it was still writing, and said so quietly
    assert wait_for_record(quiet_log, DISCONNECT_MESSAGE)
    (record,) = [r for r in quiet_log.records if DISCONNECT_MESSAGE in r.getMessage()]
    assert record.levelno == logging.INFO
    assert_quiet(quiet_log)
    assert_healthy(own_server)
    assert wait_for_tasks(own_server, baseline) <= baseline


def test_socket_closed_before_reading_anything(
    own_server: MockServer, quiet_log: pytest.LogCaptureFixture
) -> None:
    """The client sends its request and goes: the server may notice before its first byte
    (headers included) is written, or while writing; either way it is no server error.
    Repeated, since which of the two happens depends on when the server's loop sees the close."""
    baseline = settled_tasks(own_server)
    short = {**chat_body(QUESTION), "stream": True}
    for _attempt in range(10):
        with socket.create_connection(("127.0.0.1", own_server.port), timeout=WAIT_SECONDS) as sock:
            sock.sendall(request_bytes(own_server, short))
        assert wait_for_tasks(own_server, baseline) <= baseline
    assert_quiet(quiet_log)
    assert_healthy(own_server)
    assert_quiet(quiet_log)


def test_httpx_response_closed_mid_stream(
    own_server: MockServer, quiet_log: pytest.LogCaptureFixture
) -> None:
    baseline = settled_tasks(own_server)
    lines: list[str] = []
    with (
        httpx.Client(timeout=WAIT_SECONDS) as http,
        http.stream(
            "POST", chat_url(own_server), json=LONG_STREAM, headers={"api-key": API_KEY}
        ) as response,
    ):
        assert response.status_code == 200
        for line in response.iter_lines():
            if line:
                lines.append(line)
            if len(lines) == 3:
                break
    assert all(line.startswith("data: {") for line in lines)
    assert wait_for_tasks(own_server, baseline) <= baseline
    assert_quiet(quiet_log)
    assert_healthy(own_server)


def test_sdk_stream_closed_mid_stream(
    own_server: MockServer, quiet_log: pytest.LogCaptureFixture
) -> None:
    baseline = settled_tasks(own_server)
    with azure_client(own_server) as client:
        stream = client.chat.completions.create(
            model=MODEL, messages=user(QUESTION), stream=True, n=128
        )
        seen = 0
        for _chunk in stream:
            seen += 1
            if seen == 4:
                break
        stream.close()
    assert seen == 4
    assert wait_for_tasks(own_server, baseline) <= baseline
    assert_quiet(quiet_log)
    assert_healthy(own_server)


# --- many streams at once ------------------------------------------------------------------------

STREAMS = 50


def question(number: int) -> str:
    return f"Question {number}: {QUESTION}"


async def sdk_stream(client: openai.AsyncAzureOpenAI, number: int) -> tuple[str, Any, str]:
    stream = await client.chat.completions.create(
        model=MODEL,
        messages=user(question(number)),
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage, finish = "", None, ""
    async with stream:
        async for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                text += choice.delta.content or ""
                finish = choice.finish_reason or finish
    return text, usage, finish


async def raw_stream_body(http: httpx.AsyncClient, url: str, number: int) -> bytes:
    body = {**chat_body(question(number)), "stream": True}
    async with http.stream("POST", url, json=body, headers={"api-key": API_KEY}) as response:
        assert response.status_code == 200
        return b"".join([piece async for piece in response.aiter_bytes()])


async def test_many_concurrent_streams(
    own_server: MockServer, quiet_log: pytest.LogCaptureFixture
) -> None:
    baseline = await asyncio.to_thread(settled_tasks, own_server)
    async with (
        async_azure_client(own_server) as client,
        httpx.AsyncClient(timeout=WAIT_SECONDS) as http,
    ):
        expected = await asyncio.wait_for(
            asyncio.gather(
                *(
                    client.chat.completions.create(model=MODEL, messages=user(question(i)))
                    for i in range(STREAMS)
                )
            ),
            timeout=WAIT_SECONDS * 3,
        )
        streamed, raw = await asyncio.wait_for(
            asyncio.gather(
                asyncio.gather(*(sdk_stream(client, i) for i in range(STREAMS))),
                asyncio.gather(
                    *(raw_stream_body(http, chat_url(own_server), i) for i in range(STREAMS))
                ),
            ),
            timeout=WAIT_SECONDS * 3,
        )
    contents = [completion.choices[0].message.content for completion in expected]
    assert len(set(contents)) == STREAMS  # each request has its own reply
    for number in range(STREAMS):
        text, usage, finish = streamed[number]
        assert text == contents[number], number
        assert usage == expected[number].usage
        assert finish == "stop"
        body = raw[number]
        assert body.endswith(b"\n\ndata: [DONE]\n\n"), number
        frames = parse_frames(body)
        assert frames[-1] == DONE
        assert rebuild(frames).texts[0] == contents[number]
        assert [f for f in frames if f != DONE and "obfuscation" in f]
    assert await asyncio.to_thread(wait_for_tasks, own_server, baseline) <= baseline
    assert_quiet(quiet_log)
