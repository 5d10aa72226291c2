"""Pieces of the record/replay tests: recorder and replayer servers, recorded bytes.

Everything is offline: the "upstream" is a second `MockServer` answering from its
generator, with a seed and deterministic ids so that the same request always gets the
same bytes, which is what lets a test compare what the recorder relayed with what the
upstream itself says.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from openai.types.chat import ChatCompletionToolParam

from mockserver.recordings.fixtures import (
    Interaction,
    RecordedRequest,
    RecordedResponse,
    read_cassette,
)
from mockserver.stores.journal_entry import JournalEntry
from mockserver.testing.server import MockServer
from tests.support import rawhttp
from tests.support.chat import API_KEY, chat_path
from tests.support.waiting import journal_entries

UPSTREAM_SEED = 7
CASSETTE = "recordings"  # the cassette directory; its interactions are "recordings#N"
QUESTION = "What steps should I think about when writing my first Python API?"
WEATHER_TOOL: ChatCompletionToolParam = {
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
    entries = journal_entries(server, count, bound=timeout)
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


@dataclass(frozen=True)
class Sent:
    """A request as the tape is asked it (a `tape.Query`): its recorded form and the body
    bytes it came as (orjson's, unless spelled otherwise)."""

    recorded: RecordedRequest
    spelled: bytes | None = None

    @property
    def sent_as(self) -> tuple[str, str, bytes]:
        body = orjson.dumps(self.recorded.body) if self.spelled is None else self.spelled
        return self.recorded.method, self.recorded.path, body
