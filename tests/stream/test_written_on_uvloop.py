"""A stream as `mockserver serve` writes it on uvloop, where a send's blocks go to the
transport's `writelines` (one writev, not joined first), through the lane and through
aiohttp's front, to a client that reads slowly (so the server's writes wait on it): the
same bytes the embedded server sends (asyncio's loop: the blocks joined and written)."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.testing.server import MockServer
from tests.support import rawhttp
from tests.support.chat import API_VERSION
from tests.support.cli import running
from tests.support.sockets import parse_response

SEED = "3"
# ~3,000 tokens: ~2 MB of frames, far past what a socket buffer holds.
CONTENT = " ".join(f"Paragraph {n} says the stream goes on and on." for n in range(300))
STUB: dict[str, Any] = {"match": {"stream": True}, "answer": {"content": CONTENT}}
BODY: dict[str, Any] = {
    "messages": [{"role": "user", "content": "Stream a long answer."}],
    "stream": True,
    "stream_options": {"include_usage": True},
}
CREATED = re.compile(rb'"created":\d+')
READ_SIZE = 1024
CLIENT_BUFFER = 4096  # the client's receive buffer: the server's writes wait on the reads


def slow_stream(port: int) -> bytes:
    """The stream's body (its chunks joined), read a little at a time through a small
    receive buffer until the server closes."""
    payload = json.dumps(BODY).encode()
    head = (
        f"POST /openai/deployments/o3-mini/chat/completions?api-version={API_VERSION} "
        f"HTTP/1.1\r\nHost: 127.0.0.1\r\napi-key: any-key\r\nContent-Type: application/json"
        f"\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, CLIENT_BUFFER)
        sock.settimeout(30)
        sock.connect(("127.0.0.1", port))
        sock.sendall(head + payload)
        received = bytearray()
        while piece := sock.recv(READ_SIZE):
            received += piece
    answer = parse_response(bytes(received))
    assert answer.status == 200 and answer.complete
    return CREATED.sub(b'"created":*', b"".join(answer.chunks))


def add_stub(url: str) -> None:
    added = rawhttp.request(url + "/__admin/stubs", "POST", body=STUB)
    assert added.status in (200, 201), added.body


@pytest.fixture(scope="module")
def reference() -> Iterator[bytes]:
    """What the embedded server (asyncio's loop) streams."""
    with MockServer(seed=int(SEED), deterministic_ids=True) as server:
        add_stub(server.url)
        yield slow_stream(server.port)


@pytest.mark.parametrize("lane", ["true", "false"], ids=["lane", "aiohttp's front"])
def test_a_slowly_read_stream_on_uvloop_is_the_embedded_servers_bytes(
    reference: bytes, lane: str
) -> None:
    env = {"MOCKSERVER_FAST_LANE": lane}
    with running("--seed", SEED, "--deterministic-ids", env=env) as cli:
        add_stub(cli.url)
        streamed = slow_stream(cli.port)
        cli.stop()
    assert streamed.endswith(b"data: [DONE]\n\n")
    assert streamed.count(b"data: ") > 3000
    assert streamed == reference
