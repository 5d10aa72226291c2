"""Content-Encoding undone as the bytes arrive, never more than a piece at a time.

The recorder asks its upstream for `identity`; one that compresses anyway is decoded
here in pieces of at most PIECE bytes, so a few kilobytes of gzip that would inflate to
gigabytes are stopped by the size bound (checked between pieces) before they take
memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

PIECE = 64 * 1024
# Content-Encoding -> the zlib window bits that decode it (RFC 9110 section 8.4.1).
_WINDOW_BITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": 15}


class UnsupportedEncodingError(ValueError):
    """A Content-Encoding the recorder cannot undo (br, zstd, a chain of several)."""


class CorruptEncodingError(ValueError):
    """Bytes that do not decode as the Content-Encoding they claim."""


class Decoder:
    def __init__(self, content_encoding: str) -> None:
        name = content_encoding.strip().lower()
        self._zlib: zlib._Decompress | None = None
        if name not in ("", "identity"):
            if name not in _WINDOW_BITS:
                raise UnsupportedEncodingError(name)
            self._zlib = zlib.decompressobj(_WINDOW_BITS[name])

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes of `data`, in pieces of at most PIECE bytes."""
        if self._zlib is None:
            if data:
                yield data
            return
        while data and not self._zlib.eof:
            try:
                piece = self._zlib.decompress(data, PIECE)
            except zlib.error as error:
                raise CorruptEncodingError(str(error)) from None
            data = self._zlib.unconsumed_tail
            if piece:
                yield piece

    def finish(self) -> None:
        """The input ended: a compressed body must have ended too (feed left nothing held)."""
        if self._zlib is not None and not self._zlib.eof:
            raise CorruptEncodingError("the compressed body ends before its end marker")
