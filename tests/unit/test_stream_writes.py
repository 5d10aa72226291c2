"""How a stream goes out: the same bytes whether its frames are sent together or paced,
each frame its own HTTP chunk either way, and a paced frame at its own time."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.http.streaming import http_chunks
from mockserver.testing.server import MockServer
from tests.support.chat import user
from tests.support.sockets import RawStream, exchange, parse_response, read_to_end, request_bytes
from tests.support.sse import DONE, sse_data

LONG_ANSWER = {"messages": user("Write a long story about the sea."), "stream": True}
FAST_PACING = {"x-mock-latency": "tokens_per_second=100000"}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(deterministic_ids=True, seed=5) as running:
        yield running


def stream(server: MockServer, body: dict[str, Any], headers: dict[str, str]) -> RawStream:
    raw = exchange(server, body, headers)
    assert raw.status == 200 and raw.complete
    return raw


@pytest.mark.parametrize("extra", [{}, {"stream_options": {"include_usage": True}, "n": 3}])
def test_frames_sent_together_are_the_bytes_of_frames_sent_one_by_one(
    server: MockServer, extra: dict[str, Any]
) -> None:
    """Unpaced frames go out many to a send; paced ones one by one. The chunks, and so
    the bytes after the headers, are the same: a frame per chunk, in the same order."""
    body = {**LONG_ANSWER, **extra}
    together, paced = stream(server, body, {}), stream(server, body, FAST_PACING)
    assert len(together.chunks) > 10
    assert together.chunks == paced.chunks
    events = sse_data(together.body)
    assert events[-1] == DONE.encode()
    for chunk, event in zip(together.chunks, events, strict=True):
        assert chunk == b"data: " + event + b"\n\n"


def test_a_stream_larger_than_one_send_arrives_whole(server: MockServer) -> None:
    body = {**LONG_ANSWER, "n": 40, "stream_options": {"include_usage": True}}
    raw = stream(server, body, {})
    assert sum(map(len, raw.chunks)) > 4 * 64 * 1024  # several sends of frames
    assert raw.chunks[-1] == b"data: [DONE]\n\n"
    assert [chunk for chunk in raw.chunks if not chunk.endswith(b"\n\n")] == []


def test_paced_frames_each_arrive_at_their_own_time(server: MockServer) -> None:
    """At 50 tokens a second, 20 ms between frames: the client reads them one at a time."""
    body = {**LONG_ANSWER, "max_completion_tokens": 300, "reasoning_effort": "low"}
    headers = {"x-mock-latency": "tokens_per_second=50"}
    reads: list[tuple[float, bytes]] = []
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request_bytes(server, body, headers))
        while piece := sock.recv(65536):
            reads.append((time.monotonic(), piece))
    raw = parse_response(b"".join(piece for _, piece in reads))
    frames = len(raw.chunks)
    assert frames >= 5
    # Each frame waits 20 ms after the one before; loose bounds, for a busy machine.
    assert len(reads) >= frames // 2
    assert reads[-1][0] - reads[0][0] >= 0.02 * (frames - 2) * 0.8


def test_an_http_1_0_stream_is_written_by_aiohttp_unchunked(server: MockServer) -> None:
    """No chunks on HTTP/1.0: the frames go through aiohttp, the body ends with the
    connection, and it holds the same events as the chunked stream."""
    request = request_bytes(server, LONG_ANSWER).replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", 1)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request)
        raw = parse_response(read_to_end(sock))
    assert raw.status == 200 and raw.header("transfer-encoding") is None
    chunked = stream(server, LONG_ANSWER, {})
    assert raw.body == chunked.body


@pytest.mark.parametrize(
    "frames",
    [[b"data: {}\n\n"], [b"a", b"", b"bc"], [b""], [b"x" * 5000, b"y"], [b"z" * 4095, b"w" * 4096]],
)
def test_frames_are_framed_as_aiohttp_frames_each_write(frames: list[bytes]) -> None:
    """Each frame its own chunk, its size in hex; an empty frame is no chunk at all (aiohttp
    writes nothing for it; a "0" chunk would end the body)."""
    expected = b"".join(b"%x\r\n%b\r\n" % (len(frame), frame) for frame in frames if frame)
    assert http_chunks(frames) == expected
