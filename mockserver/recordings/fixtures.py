"""Fixture files: recorded interactions, versioned JSON, written atomically.

    {"version": 1, "interactions": [{"request": {...}, "response": {...}}, ...]}

A request keeps method, path, query, headers (redacted) and its JSON body; a response
keeps status, headers and the exact body, or for a stream every SSE frame with its
offset in milliseconds, so replay is byte-identical. Bodies that are not UTF-8 are kept
as base64 (`"encoding": "base64"`), so any bytes survive.

A fixtures directory holds single files (`examples.json`, imported cassettes, cassettes
recorded before) and cassette directories (`recordings/00000000.json`, ...: one file per
interaction, see `mockserver.recordings.cassette`), read in that order.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# The deny list and redaction live in mockserver.redaction.rules; REDACTED stays importable here.
from mockserver.redaction.rules import REDACTED as REDACTED
from mockserver.support.json_files import JsonFileError, read_json_file

FORMAT_VERSION = 1
UPSTREAM_PLACEHOLDER = "https://REDACTED.openai.azure.com"


class RecordedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str
    path: str
    query: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None  # the JSON body, or a string when it was not JSON


class Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offset_ms: float
    data: str  # one whole SSE event, "data: ...\n\n"


# What aiohttp refuses to write in a header (and HTTP/1.1 forbids): CR, LF, NUL, controls.
UNSENDABLE_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class RecordedResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: int
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None  # the exact body text (non-streamed)
    frames: list[Frame] | None = None  # the stream, event by event
    cut: bool = False  # the upstream dropped the connection before the end
    # "base64" when the upstream's bytes were not UTF-8: the body and every frame's data
    # are then base64 of the exact bytes. Left out of the file when "utf-8".
    encoding: Literal["utf-8", "base64"] = "utf-8"

    @model_validator(mode="after")
    def _can_be_sent(self) -> RecordedResponse:
        """A status, header or base64 body that could not be sent is refused when the
        file is read, not when its request comes (as a dropped connection)."""
        if not 100 <= self.status <= 599:
            raise ValueError(f"status {self.status} is not an HTTP status")
        for name, value in self.headers.items():
            if not name or UNSENDABLE_HEADER.search(name + value):
                raise ValueError(f"header {name!r} holds a control character")
        if self.encoding == "base64":
            for text in [self.body or "", *(frame.data for frame in self.frames or [])]:
                try:
                    base64.b64decode(text, validate=True)
                except ValueError:
                    raise ValueError("a body or frame is not valid base64") from None
        return self

    def body_bytes(self) -> bytes:
        return self._bytes(self.body or "")

    def frame_bytes(self, frame: Frame) -> bytes:
        return self._bytes(frame.data)

    def _bytes(self, text: str) -> bytes:
        return base64.b64decode(text) if self.encoding == "base64" else text.encode()


class Interaction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request: RecordedRequest
    response: RecordedResponse
    recorded_at: str = ""
    upstream: str = UPSTREAM_PLACEHOLDER


class FixtureFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = FORMAT_VERSION
    interactions: list[Interaction] = Field(default_factory=list)


class FixtureError(ValueError):
    """A fixture file that cannot be read: not JSON, another version, not fixtures."""


def read_fixture_file(path: Path) -> FixtureFile:
    try:
        data = read_json_file(path)
    except JsonFileError as error:
        raise FixtureError(f"{path}: not a readable JSON file ({error})") from None
    version = data.get("version") if isinstance(data, dict) else None
    if version != FORMAT_VERSION:
        raise FixtureError(
            f"{path}: fixture format version {version!r} is not supported; this mockserver "
            f"reads version {FORMAT_VERSION} (re-record, or convert with `mockserver fixtures "
            "import-vcr` for vcrpy cassettes)"
        )
    try:
        return FixtureFile.model_validate(data)
    except ValidationError as error:
        raise FixtureError(f"{path}: {error}") from None


# One recorded interaction in a cassette directory: its number, at least 8 digits.
INTERACTION_FILE = re.compile(r"^(\d{8,})\.json$")


@dataclass(frozen=True)
class Found:
    """An interaction read from a fixtures directory, and where it is."""

    where: str  # "examples.json#2" (the third of that file), "recordings#3" (its own file)
    interaction: Interaction
    path: Path
    position: int  # in the file


def find_fixtures(directory: Path) -> Iterator[Found]:
    """Every interaction under `directory`, a file at a time: single files first, then
    cassette directories (recordings/00000003.json is "recordings#3")."""
    if not directory.is_dir():
        return
    for path in sorted(directory.glob("*.json")):
        for position, interaction in enumerate(read_fixture_file(path).interactions):
            yield Found(f"{path.name}#{position}", interaction, path, position)
    for cassette in sorted(p for p in directory.iterdir() if p.is_dir()):
        for number, path in cassette_files(cassette):
            for position, interaction in enumerate(read_fixture_file(path).interactions):
                yield Found(f"{cassette.name}#{number}", interaction, path, position)


def read_fixtures(directory: Path) -> list[tuple[str, Interaction]]:
    """Every interaction under `directory` with where it is (see find_fixtures)."""
    return [(found.where, found.interaction) for found in find_fixtures(directory)]


def cassette_files(directory: Path) -> list[tuple[int, Path]]:
    """The interaction files of a cassette directory, in recorded order."""
    if not directory.is_dir():
        return []
    found = [(INTERACTION_FILE.match(entry.name), entry) for entry in os.scandir(directory)]
    return sorted((int(match.group(1)), Path(entry.path)) for match, entry in found if match)


def read_cassette(path: Path) -> FixtureFile:
    """A cassette's interactions in recorded order, from a directory or a single file."""
    if not path.is_dir():
        return read_fixture_file(path)
    interactions = [read_fixture_file(file) for _, file in cassette_files(path)]
    return FixtureFile(interactions=[i for f in interactions for i in f.interactions])


def dumped(fixtures: FixtureFile) -> dict[str, Any]:
    """The JSON of a fixture file: an encoding is written only when it is not UTF-8."""
    data = fixtures.model_dump(mode="json")
    for interaction in data["interactions"]:
        if interaction["response"]["encoding"] == "utf-8":
            del interaction["response"]["encoding"]
    return data


def write_fixture_file(path: Path, fixtures: FixtureFile) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(dumped(fixtures), indent=2, ensure_ascii=False) + "\n"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
