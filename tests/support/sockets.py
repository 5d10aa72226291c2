"""HTTP/1.1 spoken over a plain socket: the chunked framing as sent, and a cut seen as a cut
(which an HTTP client would hide or turn into an exception)."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from typing import Any

from mockserver.testing.server import MockServer
from tests.support.chat import API_KEY, chat_path

READ_SIZE = 65536


@dataclass
class RawStream:
    status: int
    headers: list[tuple[str, str]]  # as sent, in order
    chunks: list[bytes] = field(default_factory=list)  # one per chunk the server wrote
    complete: bool = False  # the zero-length last chunk (or the announced length) arrived

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        assert len(values) <= 1, f"header {name} sent {len(values)} times"
        return values[0] if values else None

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


def request_bytes(
    server: MockServer,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    path: str | None = None,
) -> bytes:
    """A POST of `body` with the key and `Connection: close` (the dated chat route by default)."""
    payload = json.dumps(body).encode()
    lines = [
        f"POST {path or chat_path()} HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        f"api-key: {API_KEY}",
        *(f"{name}: {value}" for name, value in server.session_headers.items()),
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def exchange(
    server: MockServer,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    path: str | None = None,
    timeout: float = 30.0,
) -> RawStream:
    """POST over a plain socket, read until the server closes (or resets), undo the chunking."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request_bytes(server, body, headers, path))
        return parse_response(read_to_end(sock))


def read_to_end(sock: socket.socket) -> bytes:
    received = bytearray()
    while True:
        try:
            piece = sock.recv(READ_SIZE)
        except ConnectionResetError:
            return bytes(received)
        if not piece:
            return bytes(received)
        received += piece


def parse_response(data: bytes) -> RawStream:
    head, separator, rest = data.partition(b"\r\n\r\n")
    assert separator, "no end of headers"
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = [(n.strip(), v.strip()) for n, _, v in (h.partition(":") for h in header_lines)]
    response = RawStream(int(status_line.split()[1]), headers)
    if (response.header("transfer-encoding") or "").lower() == "chunked":
        response.chunks, response.complete = _dechunk(rest)
        return response
    length = int(response.header("content-length") or len(rest))
    response.chunks = [rest[:length]] if rest else []
    response.complete = len(rest) >= length
    return response


def _dechunk(data: bytes) -> tuple[list[bytes], bool]:
    """The chunks, and whether the zero-length last one and its blank line arrived."""
    chunks: list[bytes] = []
    while True:
        size_line, separator, data = data.partition(b"\r\n")
        if not separator:
            return chunks, False
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return chunks, data.startswith(b"\r\n")
        if len(data) < size + 2:
            return chunks + ([data[:size]] if data else []), False  # a piece cut short
        assert data[size : size + 2] == b"\r\n", "bad chunk end"
        chunks.append(data[:size])
        data = data[size + 2 :]
