"""Fixture files: recorded interactions, versioned JSON, written atomically.

    {"version": 1, "interactions": [{"request": {...}, "response": {...}}, ...]}

A request keeps method, path, query, headers (redacted) and its JSON body; a response
keeps status, headers and the exact body text, or for a stream every SSE frame with its
offset in milliseconds, so replay is byte-identical. Files are rewritten whole through a
temporary file and a rename, under a lock, so concurrent recording loses nothing and a
killed recorder never leaves a half-written file.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# The deny list and redaction live in mockserver.redaction; REDACTED stays importable here.
from mockserver.redaction import REDACTED as REDACTED

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


class RecordedResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: int
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None  # the exact body text (non-streamed)
    frames: list[Frame] | None = None  # the stream, event by event
    cut: bool = False  # the upstream dropped the connection before the end


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
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
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


def read_fixture_dir(directory: Path) -> list[tuple[Path, FixtureFile]]:
    if not directory.is_dir():
        return []
    return [(path, read_fixture_file(path)) for path in sorted(directory.glob("*.json"))]


_WRITE_LOCK = threading.Lock()


def append_interaction(path: Path, interaction: Interaction) -> None:
    """Add one interaction: read, append, write to a temporary file, rename over."""
    with _WRITE_LOCK:
        current = read_fixture_file(path) if path.exists() else FixtureFile()
        current.interactions.append(interaction)
        write_fixture_file(path, current)


def write_fixture_file(path: Path, fixtures: FixtureFile) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(fixtures.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
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

