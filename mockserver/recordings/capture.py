"""An upstream answer on its way through the recorder: spooled, measured, checked.

The bytes go to a temporary file past the first MiB, so a large answer costs no memory;
its size is bounded (past the bound it is refused); whether the bytes are UTF-8 is
learnt on the way (a fixture keeps base64 otherwise); and a stream's events are marked
where they end, with the time each arrived, so replay sends them frame by frame.
"""

from __future__ import annotations

import codecs
import tempfile
from array import array
from collections.abc import Iterator
from typing import Literal

_IN_MEMORY = 1024 * 1024
_READ = 64 * 1024
_EVENT_END = b"\n\n"


class BodyTooLargeError(ValueError):
    """More bytes than the bound allows."""


class Capture:
    def __init__(self, limit: int, streamed: bool) -> None:
        self.limit = limit
        self.streamed = streamed
        self.size = 0
        self._spool = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)  # noqa: SIM115
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._is_utf8 = True
        self._ends = array("q")  # where each event ends, in bytes from the start
        self._offsets = array("d")  # when it arrived, in ms from the request
        self._last_byte = b""

    def add(self, piece: bytes, offset_ms: float = 0.0) -> None:
        if self.size + len(piece) > self.limit:
            raise BodyTooLargeError(f"the answer is larger than {self.limit} bytes")
        self._check_utf8(piece)
        if self.streamed:
            self._mark_events(piece, offset_ms)
        self._spool.write(piece)
        self.size += len(piece)

    def finish(self, offset_ms: float = 0.0) -> None:
        """The answer is complete: the last bytes of a stream that no blank line ended
        are an event of their own, so nothing received is left out."""
        self._check_utf8(b"", final=True)
        if self.streamed and self.size > (self._ends[-1] if self._ends else 0):
            self._ends.append(self.size)
            self._offsets.append(offset_ms)

    @property
    def encoding(self) -> Literal["utf-8", "base64"]:
        return "utf-8" if self._is_utf8 else "base64"

    def pieces(self) -> Iterator[bytes]:
        """The bytes again, from the start, a bounded piece at a time."""
        self._spool.seek(0)
        while piece := self._spool.read(_READ):
            yield piece

    def frames(self) -> Iterator[tuple[float, bytes]]:
        """Each event of a stream with the time it arrived."""
        self._spool.seek(0)
        start = 0
        for end, offset in zip(self._ends, self._offsets, strict=True):
            yield offset, self._spool.read(end - start)
            start = end

    def close(self) -> None:
        self._spool.close()

    def _check_utf8(self, piece: bytes, final: bool = False) -> None:
        if self._is_utf8:
            try:
                self._utf8.decode(piece, final)
            except UnicodeDecodeError:
                self._is_utf8 = False

    def _mark_events(self, piece: bytes, offset_ms: float) -> None:
        """Find each blank line that ends an event, also one split between two pieces."""
        window = self._last_byte + piece
        window_start = self.size - len(self._last_byte)
        # An event ends after its blank line; the next one's search starts there.
        searched_from = max(0, (self._ends[-1] if self._ends else 0) - window_start)
        position = window.find(_EVENT_END, searched_from)
        while position != -1:
            self._ends.append(window_start + position + len(_EVENT_END))
            self._offsets.append(offset_ms)
            position = window.find(_EVENT_END, position + len(_EVENT_END))
        self._last_byte = piece[-1:] if piece else self._last_byte
