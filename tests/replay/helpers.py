"""Shared pieces of the record/replay tests: servers, raw HTTP, recorded bytes.

Everything is offline: the "upstream" is a second `MockServer` answering from its
generator, with a seed and deterministic ids so that the same request always gets the
same bytes, which is what lets a test compare what the recorder relayed with what the
upstream itself says.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai

from mockserver.recordings.fixtures import Interaction, RecordedResponse, read_cassette
from mockserver.stores.journal import JournalEntry
from mockserver.testing.server import MockServer
from tests import rawhttp

API_VERSION = "2025-04-01-preview"
DEPLOYMENT = "o3-mini"
API_KEY = "recording-key"
UPSTREAM_SEED = 7
CASSETTE = "recordings"  # the cassette directory; its interactions are "recordings#N"
QUESTION = "What steps should I think about when writing my first Python API?"
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def chat_path(deployment: str = DEPLOYMENT, api_version: str = API_VERSION) -> str:
    return f"/openai/deployments/{deployment}/chat/completions?api-version={api_version}"


def post(
    server: MockServer,
    body: dict[str, Any],
    path: str | None = None,
    headers: dict[str, str] | None = None,
) -> rawhttp.RawResponse:
    """POST `body` to `server` (the dated o3-mini route by default) and keep the raw bytes."""
    return rawhttp.request(
        server.url + (path or chat_path()),
        body=body,
        headers={"api-key": API_KEY, **(headers or {})},
    )


def azure(server: MockServer, **options: Any) -> openai.AzureOpenAI:
    settings: dict[str, Any] = {"api_key": API_KEY, "api_version": API_VERSION, **options}
    if "azure_ad_token" in options:
        settings.pop("api_key")
    return openai.AzureOpenAI(azure_endpoint=server.url, max_retries=0, **settings)


def async_azure(server: MockServer) -> openai.AsyncAzureOpenAI:
    return openai.AsyncAzureOpenAI(
        azure_endpoint=server.url, api_key=API_KEY, api_version=API_VERSION, max_retries=0
    )


def v1(server: MockServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.v1_base_url, api_key=API_KEY, max_retries=0)


@contextmanager
def recorder(
    upstream: MockServer, directory: Path, mode: str = "all", **settings: Any
) -> Iterator[MockServer]:
    """A MockServer recording into `directory` what `upstream` answers."""
    with MockServer(
        fixtures_dir=directory, record_mode=mode, upstream=upstream.url, **settings
    ) as server:
        yield server


@contextmanager
def replayer(directory: Path, **settings: Any) -> Iterator[MockServer]:
    """A MockServer that only replays `directory` (record mode none, the default)."""
    with MockServer(fixtures_dir=directory, **settings) as server:
        yield server


def journal(server: MockServer, count: int, timeout: float = 10.0) -> list[JournalEntry]:
    """The journal once it holds `count` entries: a stream's entry is written just after
    its last byte went out, so a fast client can look before it is there."""
    deadline = time.monotonic() + timeout
    while len(server.requests) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    entries = server.requests
    assert len(entries) == count, f"expected {count} journal entries, found {entries}"
    return entries


def interactions(directory: Path, name: str = CASSETTE) -> list[Interaction]:
    return read_cassette(directory / name).interactions


def cassette_text(directory: Path, name: str = CASSETTE) -> str:
    """Every file of the cassette, as written: what a secret must never be found in."""
    return "".join(path.read_text(encoding="utf-8") for path in (directory / name).glob("*.json"))


def recorded_bytes(response: RecordedResponse) -> bytes:
    """What the client got: the body, or every SSE frame in order."""
    if response.frames is not None:
        return b"".join(response.frame_bytes(frame) for frame in response.frames)
    return response.body_bytes()


def sse_events(data: bytes) -> list[str]:
    """A raw SSE body split into its events, each with its closing blank line."""
    text = data.decode()
    assert text.endswith("\n\n") or not text, f"the stream does not end an event: {text[-80:]!r}"
    return [event + "\n\n" for event in text.split("\n\n")[:-1]]


def frame_payloads(response: RecordedResponse) -> list[Any]:
    """The JSON of each recorded `data:` frame, [DONE] left out."""
    assert response.frames is not None
    payloads = []
    for frame in response.frames:
        data = frame.data.strip().removeprefix("data:").strip()
        if data != "[DONE]":
            payloads.append(json.loads(data))
    return payloads


def error_code(response: rawhttp.RawResponse) -> str:
    return str(response.json()["error"]["code"])


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- HTTP/1.1 read by hand, to see a cut stream -------------------------------------------


@dataclass
class Exchange:
    status: int
    headers: dict[str, str]
    body: bytes  # the decoded (de-chunked) body bytes that arrived
    complete: bool  # the body ended properly (last chunk, or the announced length)


def exchange(
    server: MockServer, body: dict[str, Any], path: str | None = None, timeout: float = 30.0
) -> Exchange:
    """POST and read the whole answer off the socket, noticing a connection cut short."""
    payload = json.dumps(body).encode()
    head = (
        f"POST {path or chat_path()} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"api-key: {API_KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode()
    received = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as connection:
        connection.sendall(head + payload)
        while True:
            try:
                piece = connection.recv(65536)
            except ConnectionResetError:
                break
            if not piece:
                break
            received += piece
    raw_head, _, rest = received.partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:])
    }
    if headers.get("transfer-encoding", "").lower() == "chunked":
        decoded, complete = _dechunk(rest)
        return Exchange(status, headers, decoded, complete)
    length = int(headers.get("content-length", len(rest)))
    return Exchange(status, headers, rest[:length], len(rest) >= length)


def _dechunk(data: bytes) -> tuple[bytes, bool]:
    body = b""
    while True:
        size_line, separator, data = data.partition(b"\r\n")
        if not separator:
            return body, False
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return body, data.startswith(b"\r\n")
        if len(data) < size + 2:
            return body + data[:size], False
        body, data = body + data[:size], data[size + 2 :]
