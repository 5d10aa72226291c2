"""Bytes that are not UTF-8 in a header or a path are journaled as text the admin API can
serve (it once answered 500 for the whole journal)."""

from __future__ import annotations

import socket

from mockserver import MockServer

BODY = b'{"messages":[{"role":"user","content":"hi"}]}'


def send_raw(port: int, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY)
        return sock.recv(64)


def test_a_header_that_is_not_utf8_is_journaled_and_listed() -> None:
    with MockServer() as server:
        answer = send_raw(
            server.port,
            b"POST /openai/deployments/o3-mini/chat/completions?api-version=2025-04-01-preview"
            b" HTTP/1.1\r\nHost: x\r\napi-key: k\r\nX-Odd: caf\xff\r\n"
            b"Content-Type: application/json\r\n",
        )
        assert answer.startswith(b"HTTP/1.1 200")
        entries = server.requests
    assert [entry.headers["x-odd"] for entry in entries] == ["caf\ufffd"]
