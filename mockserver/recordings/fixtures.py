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
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, overload

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    WrapSerializer,
    model_validator,
)

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


# A JSON string may spell half a surrogate pair ("\ud800"): no UTF-8 byte sequence says it.
_SURROGATE = re.compile("[\ud800-\udfff]")
NOT_UTF8_TEXT = "a body or frame holds text UTF-8 cannot encode (half a surrogate pair)"


class CompactFrames(Sequence[Frame]):
    """A stream's frames as the server replays them: every frame's text in one buffer
    (UTF-8; base64 text when the answer is base64), where each ends, and when each was
    sent. A recording of millions of tiny frames costs a few bytes a frame, not a Python
    object (and a pydantic validation) each; a `Frame` is made only as it is sent."""

    __slots__ = ("_ends", "_offsets", "_text")

    def __init__(self, text: bytes, ends: array[int], offsets: array[float]) -> None:
        self._text, self._ends, self._offsets = text, ends, offsets

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> Frame: ...

    @overload
    def __getitem__(self, index: slice) -> list[Frame]: ...

    def __getitem__(self, index: int | slice) -> Frame | list[Frame]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = range(len(self))[index]  # negative indices; IndexError past the end
        start = self._ends[index - 1] if index else 0
        data = self._text[start : self._ends[index]].decode()
        return Frame.model_construct(offset_ms=self._offsets[index], data=data)

    def __iter__(self) -> Iterator[Frame]:
        start, text, construct = 0, self._text, Frame.model_construct
        for end, offset in zip(self._ends, self._offsets, strict=True):
            yield construct(offset_ms=offset, data=text[start:end].decode())
            start = end

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CompactFrames):
            return (self._text, self._ends, self._offsets) == (
                other._text,
                other._ends,
                other._offsets,
            )
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like the list it stands for

    @property
    def text_bytes(self) -> int:
        """The size of every frame's text, together (what the tape weighs an answer by)."""
        return len(self._text)

    def texts(self) -> Iterator[bytes]:
        """Each frame's text as UTF-8 bytes, in order (no `Frame` made)."""
        start, text = 0, self._text
        for end in self._ends:
            yield text[start:end]
            start = end


def _written_as_a_list(frames: Any, write: SerializerFunctionWrapHandler) -> Any:
    """CompactFrames are written (model_dump) as the list they stand for."""
    return write(list(frames) if isinstance(frames, CompactFrames) else frames)


class RecordedResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: int
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None  # the exact body text (non-streamed)
    # The stream, event by event: a list as pydantic reads it, CompactFrames as the
    # server's tape reads it (read_for_replay).
    frames: Annotated[Sequence[Frame] | None, WrapSerializer(_written_as_a_list)] = None
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
        texts = [self.body or "", *(frame.data for frame in self.frames or [])]
        if self.encoding == "base64":
            for text in texts:
                try:
                    base64.b64decode(text, validate=True)
                except ValueError:
                    raise ValueError("a body or frame is not valid base64") from None
        elif any(_SURROGATE.search(text) for text in texts):  # JSON's "\ud800" alone
            raise ValueError(NOT_UTF8_TEXT)
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


def read_for_replay(path: Path) -> FixtureFile:
    """`read_fixture_file` as the server's tape reads a file: the same checks and errors,
    a stream's frames kept as `CompactFrames`. Fast where it counts (a recording of
    millions of tiny frames: no dict, no model and no validation call per frame) and kind
    to the event loop when it runs on a thread: the parse calls back into Python for every
    JSON object, where the interpreter may hand the GIL to the loop, where one long
    validation call would hold it throughout. A file it cannot read so (a frame-shaped
    object outside a stream, a frame that is not plain) is read by `read_fixture_file`."""
    frames = _FrameCollector()
    try:
        data = read_json_file(path, object_pairs_hook=frames.hook)
    except JsonFileError as error:
        raise FixtureError(f"{path}: not a readable JSON file ({error})") from None
    compacted = _compacted(data, frames) if _is_current(data) else None
    if compacted is None:  # not ours to judge: the pydantic path reads it, errors and all
        return read_fixture_file(path)
    try:
        fixtures = FixtureFile.model_validate(data)
    except ValidationError as error:
        raise FixtureError(f"{path}: {error}") from None
    for interaction, stream in zip(fixtures.interactions, compacted, strict=True):
        if stream is not None:
            problem = _unsendable(stream, interaction.response.encoding)
            if problem:
                raise FixtureError(f"{path}: {problem}")
            interaction.response.frames = stream  # validated: no copy (assignment is not)
    return fixtures


# How many of a stream's frames' places are freed at a time.
_PIECE = 1024 * 1024


class _FrameMark:
    """What the parse puts where a frame-shaped object ({"offset_ms": n, "data": "..."})
    stood: one object for them all, so millions of frames allocate nothing the garbage
    collector must walk (a marker each made each full collection longer, holding the
    GIL for a tenth of a second). The n-th mark, in the file's order, is the n-th frame."""

    __slots__ = ()


_FRAME = _FrameMark()


@dataclass
class _FrameCollector:
    """Frame-shaped objects, as the parse meets them, into one buffer."""

    text: bytearray = field(default_factory=bytearray)
    ends: array[int] = field(default_factory=lambda: array("q"))
    offsets: array[float] = field(default_factory=lambda: array("d"))

    def hook(self, pairs: list[tuple[str, Any]]) -> Any:
        if len(pairs) == 2:
            (first, one), (second, other) = pairs
            if first == "data":
                first, one, second, other = second, other, first, one
            number = type(one) is float or type(one) is int  # not a bool, nor a "1"
            if first == "offset_ms" and second == "data" and type(other) is str and number:
                try:
                    encoded, offset = other.encode(), float(one)
                except (UnicodeEncodeError, OverflowError):  # left to pydantic to refuse
                    return dict(pairs)
                self.text += encoded
                self.ends.append(len(self.text))
                self.offsets.append(offset)
                return _FRAME
        return dict(pairs)

    def frames(self, first: int, last: int) -> CompactFrames:
        """Frames first..last (included), as a stream of their own."""
        start = self.ends[first - 1] if first else 0
        if first == 0 and last == len(self.ends) - 1:  # all of them: no copy
            return CompactFrames(bytes(self.text), self.ends, self.offsets)
        ends = array("q", (end - start for end in self.ends[first : last + 1]))
        text = bytes(self.text[start : self.ends[last]])
        return CompactFrames(text, ends, self.offsets[first : last + 1])


def _is_current(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and data.get("version") == FORMAT_VERSION
        and isinstance(data.get("interactions"), list)
        and all(isinstance(item, dict) for item in data["interactions"])
    )


def _compacted(
    data: dict[str, Any], collected: _FrameCollector
) -> list[CompactFrames | None] | None:
    """Each interaction's frames taken out of `data` as CompactFrames (None where it has
    none), or None when a frame-shaped object stands anywhere else (or was left out, as a
    repeated key's first value is), or a stream holds anything else: the file is then
    read the ordinary way. When every mark is in a stream, the streams hold them in the
    file's order, which is the order they were collected in."""
    found: list[CompactFrames | None] = []
    taken = 0
    for interaction in data["interactions"]:
        response = interaction.get("response")
        frames = response.get("frames") if isinstance(response, dict) else None
        if not isinstance(frames, list) or not frames:
            found.append(None)
            continue
        if frames.count(_FRAME) != len(frames) or taken + len(frames) > len(collected.ends):
            return None
        found.append(collected.frames(taken, taken + len(frames) - 1))
        taken += len(frames)
        response["frames"] = None  # validated apart (see _unsendable)
        while frames:  # freed a piece at a time: millions at once would hold the GIL
            del frames[-_PIECE:]
    return found if taken == len(collected.ends) else None  # none elsewhere


def _unsendable(frames: CompactFrames, encoding: str) -> str | None:
    """What RecordedResponse's own check says of frames, for compact ones."""
    if encoding != "base64":
        return None
    for text in frames.texts():
        try:
            base64.b64decode(text, validate=True)
        except ValueError:
            return "a body or frame is not valid base64"
    return None


# One recorded interaction in a cassette directory: its number, at least 8 digits.
INTERACTION_FILE = re.compile(r"^(\d{8,})\.json$")


@dataclass(frozen=True)
class Found:
    """An interaction read from a fixtures directory, and where it is."""

    where: str  # "examples.json#2" (the third of that file), "recordings#3" (its own file)
    interaction: Interaction
    path: Path
    position: int  # in the file


def find_fixtures(directory: Path, for_replay: bool = False) -> Iterator[Found]:
    """Every interaction under `directory`, a file at a time: single files first, then
    cassette directories (recordings/00000003.json is "recordings#3"); `for_replay`, read
    as the tape reads them (read_for_replay)."""
    if not directory.is_dir():
        return
    read = read_for_replay if for_replay else read_fixture_file
    for path in sorted(directory.glob("*.json")):
        for position, interaction in enumerate(read(path).interactions):
            yield Found(f"{path.name}#{position}", interaction, path, position)
    for cassette in sorted(p for p in directory.iterdir() if p.is_dir()):
        for number, path in cassette_files(cassette):
            for position, interaction in enumerate(read(path).interactions):
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
