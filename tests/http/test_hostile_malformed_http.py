"""Bytes that are not HTTP, over a raw socket: the 400 they get carries Azure's headers and
none of aiohttp's own. Azure sends no `Server` header; the app's answers lose aiohttp's in
the header finisher, and this answer, made before any app sees the request, must too."""

from __future__ import annotations

import socket
import time

import pytest

from mockserver.testing.server import MockServer

BOUND = 30.0  # seconds: a bound against hangs only

NOT_HTTP = [
    b"GARBAGE\x01 /openai HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /openai HTTP/9.9\r\nHost: x\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # TLS to the HTTP port
]


def _answer_to(server: MockServer, raw: bytes) -> bytes:
    received = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=BOUND) as sock:
        sock.sendall(raw)
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    return received


def _header_names(answer: bytes) -> list[str]:
    head = answer.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    return [line.split(":", 1)[0].strip().lower() for line in head[1:]]


@pytest.mark.parametrize("raw", NOT_HTTP, ids=["bad-method", "bad-version", "tls"])
def test_the_400_for_malformed_http_sends_no_server_header(raw: bytes) -> None:
    with MockServer() as server:
        answer = _answer_to(server, raw)
    assert answer.split(b" ", 2)[1] == b"400", answer[:200]
    names = _header_names(answer)
    assert "apim-request-id" in names, names  # Azure's gateway headers are there
    assert "server" not in names, names
