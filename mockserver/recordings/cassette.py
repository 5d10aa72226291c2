"""A cassette: a directory of recorded interactions, one file each, added in constant time.

    fixtures/recordings/00000000.json   {"version": 1, "interactions": [<one interaction>]}
    fixtures/recordings/00000001.json   ...

Each file is a whole fixture file of one interaction, readable and diffable alone, and
adding one costs the same however many the cassette holds (a single file rewritten
whole cost 40-49 ms at 794 interactions, seconds after one large answer). A file is
written under a temporary dot-name, flushed to disk, then linked to the next free
number (a link never replaces a file, so two recording processes cannot overwrite each
other) and the directory is synced: after kill -9 a file is whole or absent, and an
answer the recorder finished sending is on disk before its last byte went out.
"""

from __future__ import annotations

import base64
import codecs
import json
import os
import re
import socket
import tempfile
import textwrap
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol, TextIO

from mockserver.recordings.fixtures import FixtureFile, Interaction, cassette_files, dumped
from mockserver.redaction.rules import LiteralScrub, rewrite_frame, stream_changes

# A temporary: ".<host>.<pid>.<random>.json.tmp".
_TEMPORARY = re.compile(r"^\.([A-Za-z0-9-]+)\.(\d+)\..+\.json\.tmp$")
# Stands where the answer's body or frames go, written piece by piece from the capture.
_HOLE = "\x00answer\x00"
# Numbers another process took while this one counted: bounded, as a loop must be.
_MAX_COLLISIONS = 1000
# Text is scrubbed of secrets in parts cut after a quote or a line end, which no secret
# shape spans; a part with neither is cut at this size anyway, to stay bounded.
_SCRUB_PART = 1024 * 1024

Scrub = Callable[[str], str]
# The same for bytes kept as base64, which come a piece at a time (see literal_bytes_scrub).
BinaryScrub = Callable[[Iterable[bytes]], Iterator[bytes]]


def _unchanged(text: str) -> str:
    return text


def _unchanged_pieces(pieces: Iterable[bytes]) -> Iterator[bytes]:
    yield from pieces


class Body(Protocol):
    """An answer's bytes kept outside the interaction (see recordings.capture.Capture)."""

    @property
    def streamed(self) -> bool: ...

    @property
    def encoding(self) -> str: ...

    def pieces(self) -> Iterator[bytes]: ...

    def frames(self) -> Iterator[tuple[float, bytes]]: ...


class Cassette:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._next: int | None = None  # the next free number, once counted
        self._lock = threading.Lock()
        self._swept = False

    def add(
        self,
        interaction: Interaction,
        body: Body | None = None,
        scrub: Scrub = _unchanged,
        scrub_binary: BinaryScrub = _unchanged_pieces,
    ) -> Path:
        """Write one interaction as the cassette's next file; `body` fills its answer, its
        text passed through `scrub` (secrets out), or its bytes through `scrub_binary`
        when it is kept as base64."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._sweep_once()
        temporary = self._write_temporary(interaction, body, scrub, scrub_binary)
        try:
            path = self._link(temporary)
        finally:
            temporary.unlink(missing_ok=True)
        _sync_directory(self.directory)
        return path

    def _write_temporary(
        self, interaction: Interaction, body: Body | None, scrub: Scrub, scrub_binary: BinaryScrub
    ) -> Path:
        handle, name = tempfile.mkstemp(
            dir=self.directory, prefix=_own_prefix(), suffix=".json.tmp"
        )
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                write_interaction(out, interaction, body, scrub, scrub_binary)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Path(name)

    def _link(self, temporary: Path) -> Path:
        for _ in range(_MAX_COLLISIONS):
            path = self.directory / f"{self._take_number():08d}.json"
            try:
                os.link(temporary, path)
                return path
            except FileExistsError:
                with self._lock:
                    self._next = None  # another process recorded there: count again
        raise OSError(f"{self.directory}: no free interaction number after many tries")

    def _take_number(self) -> int:
        with self._lock:
            if self._next is None:
                numbers = [number for number, _ in cassette_files(self.directory)]
                self._next = max(numbers, default=-1) + 1
            number, self._next = self._next, self._next + 1
            return number

    def _sweep_once(self) -> None:
        """Remove the temporaries that recorders killed on this machine left behind: a
        temporary names its host and process, and only a dead process's is removed."""
        with self._lock:
            if self._swept:
                return
            self._swept = True
        for entry in os.scandir(self.directory):
            match = _TEMPORARY.match(entry.name)
            if match and match.group(1) == _host() and not _alive(int(match.group(2))):
                Path(entry.path).unlink(missing_ok=True)


def _own_prefix() -> str:
    return f".{_host()}.{os.getpid()}."


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def _sync_directory(directory: Path) -> None:
    """The new name survives a crash only once the directory itself is on disk."""
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def write_interaction(
    out: TextIO,
    interaction: Interaction,
    body: Body | None,
    scrub: Scrub = _unchanged,
    scrub_binary: BinaryScrub = _unchanged_pieces,
) -> None:
    """The fixture file of one interaction, as json.dumps would indent it, with the
    answer's bytes streamed in from `body` instead of held as one string: its text through
    `scrub`, or, kept as base64, its bytes through `scrub_binary` before they are encoded."""
    data = dumped(FixtureFile(interactions=[interaction]))
    if body is None:
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    response = data["interactions"][0]["response"]
    response["frames" if body.streamed else "body"] = _HOLE
    binary = body.encoding != "utf-8"
    if binary:
        response["encoding"] = body.encoding
        scrub = _unchanged  # base64 of bytes: no text in it to scrub, only bytes
    else:
        scrub_binary = _unchanged_pieces
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    before, after = text.split(json.dumps(_HOLE), 1)
    out.write(before)
    if body.streamed:
        line = before.rsplit("\n", 1)[-1]  # '        "frames": '
        _write_frames(out, body, scrub, scrub_binary, indent=len(line) - len(line.lstrip(" ")))
    else:
        pieces = scrub_binary(body.pieces())
        _write_string(out, _scrubbed(_texts(pieces, body.encoding), scrub))
    out.write(after)


def _write_string(out: TextIO, texts: Iterator[str]) -> None:
    out.write('"')
    for text in texts:
        out.write(json.dumps(text, ensure_ascii=False)[1:-1])  # escaping is per character
    out.write('"')


def _write_frames(
    out: TextIO, body: Body, scrub: Scrub, scrub_binary: BinaryScrub, indent: int
) -> None:
    pad, written = " " * (indent + 2), 0
    # A secret the model repeats arrives token by token, over several frames: a first pass
    # finds it in the text the deltas spell out, the second writes the frames without it.
    # (Frames kept as base64 are scrubbed one by one: a frame ends with a blank line, and
    # no secret holds white space, so none spans two.)
    texts = (_frame_text(body, data, scrub, scrub_binary) for _, data in body.frames())
    secrets = scrub.secrets if isinstance(scrub, LiteralScrub) else ()
    changes = stream_changes(texts, secrets=secrets) if scrub is not _unchanged else {}
    out.write("[")
    for index, (offset_ms, data) in enumerate(body.frames()):
        text = _frame_text(body, data, scrub, scrub_binary)
        text = rewrite_frame(text, changes[index]) if index in changes else text
        frame = {"offset_ms": offset_ms, "data": text}
        item = json.dumps(frame, indent=2, ensure_ascii=False)
        out.write(("," if written else "") + "\n" + textwrap.indent(item, pad))
        written += 1
    out.write("\n" + " " * indent + "]" if written else "]")


def _frame_text(body: Body, data: bytes, scrub: Scrub, scrub_binary: BinaryScrub) -> str:
    return "".join(_scrubbed(_texts(scrub_binary([data]), body.encoding), scrub))


def _scrubbed(texts: Iterator[str], scrub: Scrub) -> Iterator[str]:
    """`texts` through `scrub`, cut where no secret can be cut in two."""
    carried = ""
    for text in texts:
        carried += text
        cut = max(carried.rfind('"'), carried.rfind("\n")) + 1
        if not cut and len(carried) > _SCRUB_PART:
            cut = len(carried)
        if cut:
            yield scrub(carried[:cut])
            carried = carried[cut:]
    yield scrub(carried)


def _texts(pieces: Iterator[bytes], encoding: str) -> Iterator[str]:
    """Bytes as the text a fixture keeps: UTF-8 decoded, or base64 (in groups of three
    bytes, so the pieces join into one valid base64 string)."""
    if encoding == "utf-8":
        decoder = codecs.getincrementaldecoder("utf-8")()
        for piece in pieces:
            yield decoder.decode(piece)
        yield decoder.decode(b"", final=True)
        return
    rest = b""
    for piece in pieces:
        joined = rest + piece
        cut = len(joined) - len(joined) % 3
        yield base64.b64encode(joined[:cut]).decode()
        rest = joined[cut:]
    yield base64.b64encode(rest).decode()
