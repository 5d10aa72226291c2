"""Content-Encoding undone as the bytes arrive, never more than a piece at a time.

The recorder asks its upstream for `identity`; one that compresses anyway is decoded
here in pieces of at most PIECE bytes, so a few kilobytes of gzip that would inflate to
gigabytes are stopped by the size bound (checked between pieces) before they take
memory. A client's compressed request body is decoded the same way (`decoded_within`).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

PIECE = 64 * 1024
# Content-Encoding -> the zlib window bits that decode it (RFC 9110 section 8.4.1).
_WINDOW_BITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": 15}


class UnsupportedEncodingError(ValueError):
    """A Content-Encoding that is not undone here (br, zstd, a chain of several)."""


class CorruptEncodingError(ValueError):
    """Bytes that do not decode as the Content-Encoding they claim."""


class Decoder:
    def __init__(self, content_encoding: str) -> None:
        name = content_encoding.strip().lower()
        self._identity = name in ("", "identity")
        if not self._identity and name not in _WINDOW_BITS:
            raise UnsupportedEncodingError(name)
        # deflate's own kind is told by its first byte (`feed`)
        made_now = not self._identity and name != "deflate"
        self._zlib = zlib.decompressobj(_WINDOW_BITS[name]) if made_now else None

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes of `data`, in pieces of at most PIECE bytes."""
        if self._identity:
            if data:
                yield data
            return
        if self._zlib is None:
            if not data:
                return
            # "deflate" is the zlib format (RFC 9110), but some clients send raw deflate:
            # a zlib stream's first byte names method 8, as aiohttp tells them apart.
            self._zlib = zlib.decompressobj(15 if data[0] & 0x0F == 8 else -15)
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
        if not self._identity and (self._zlib is None or not self._zlib.eof):
            raise CorruptEncodingError("the compressed body ends before its end marker")


class TooLargeDecodedError(ValueError):
    """Bytes that decode to more than the bound they were given."""


def decoded_within(data: bytes, content_encoding: str, bound: int) -> bytes:
    """`data` decoded, or TooLargeDecodedError as soon as its decoded bytes pass `bound`
    (a gzip bomb costs a piece past the bound, not its gigabytes); the other errors above
    for what does not decode."""
    decoder, pieces, size = Decoder(content_encoding), [], 0
    for piece in decoder.feed(data):
        size += len(piece)
        if size > bound:
            raise TooLargeDecodedError(f"decodes to more than {bound} bytes")
        pieces.append(piece)
    decoder.finish()
    return b"".join(pieces)
