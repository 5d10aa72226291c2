"""The `obfuscation` pad of each model frame of a chat stream (Azure's since 2026): 0 to
15 letters and digits, each length and character uniform.

A stream draws them from one of two sources, a pad per frame in frame order:

- `SeededPads`, a generator seeded by the response id, so a stream with a derived id
  (`--deterministic-ids`) is reproducible;
- `PooledPads`, otherwise: taken in turn from a random place in a pool of random pads
  drawn once per process. Drawing each stream's pads afresh cost a tenth of a stream's
  time; a pad is there to vary a frame's length, and each one is still a uniform draw.

Both hand out pads with their lengths, so a block of frames can be sized without
measuring each pad again, and each pad with the bytes that follow it in its frames (the
frame's constant end): a block of frames is then joined from fewer pieces.
"""

from __future__ import annotations

import random
import string
import struct
from collections.abc import Iterator, Sequence
from itertools import chain, islice, repeat
from typing import Protocol

from mockserver.support.memo import Once

MAX_PAD = 16
_ALPHABET = (string.ascii_letters + string.digits).encode("ascii")
_LENGTH_BITS = MAX_PAD.bit_length()  # what randrange(MAX_PAD) draws each try
_CHOICES = float(len(_ALPHABET))
# Bulk pads: a random byte below 248 (4 x 62) picks its character uniformly, the others are
# dropped; a byte's low 4 bits are a length uniform in 0..15, as randrange(MAX_PAD) draws.
_CHARACTERS = bytes.maketrans(bytes(range(248)), _ALPHABET * 4)
_DROPPED = bytes(range(248, 256))
_LENGTHS = bytes.maketrans(bytes(range(256)), bytes(byte % MAX_PAD for byte in range(256)))
_FORMATS = [b"%ds" % length for length in range(MAX_PAD)]  # a struct field per length
# The pool's size is a power of two, so a place in it is masked, not divided.
POOL_BITS = 14
_POOL_MASK = (1 << POOL_BITS) - 1
_STREAMED = 64  # pads taken from the pool at a time when they are read one by one
# The pool with a frame's end after each pad, kept for the first this many ends (~2 MB
# each; a deployment's streams share one): never evicted, so ends that take turns cannot
# make it again and again; other ends are added to the pads taken.
_TAILED_POOLS = 4

Taken = tuple[Sequence[bytes], Sequence[int]]  # pads, and their lengths


class Pads(Protocol):
    """A stream's pads, a pad per model frame, in frame order."""

    def take(self, how_many: int, tail: bytes = b"") -> Taken:
        """The next pads, each followed by `tail`, and the pads' own lengths."""
        ...

    def stream(self) -> Iterator[bytes]:
        """The pads one by one, without end: a pad is drawn when it is read (shares the
        place of `take`)."""
        ...


class SeededPads:
    """Drawn from a generator seeded by the response id: the pads of a stream are
    reproducible, and drawing one costs a few calls, not a hash per frame."""

    __slots__ = ("_random", "_stream")

    def __init__(self, seed: str) -> None:
        self._random = random.Random(seed)
        self._stream = iter(self._draw, None)

    def take(self, how_many: int, tail: bytes = b"") -> Taken:
        pads = tuple(islice(self._stream, how_many))
        lengths = tuple(map(len, pads))
        return (tuple(map(bytes.__add__, pads, repeat(tail))) if tail else pads), lengths

    def stream(self) -> Iterator[bytes]:
        return self._stream

    def _draw(self) -> bytes:
        # Exactly `randrange(MAX_PAD)` then `choices(alphabet, k=length)`, spelt out:
        # randrange takes 5-bit draws until one is below 16, and choices picks
        # alphabet[floor(random() * 62)] per character.
        draw, unit = self._random.getrandbits, self._random.random
        length = draw(_LENGTH_BITS)
        while length >= MAX_PAD:
            length = draw(_LENGTH_BITS)
        return bytes([_ALPHABET[int(unit() * _CHOICES)] for _ in range(length)])


class PooledPads:
    """Random pads taken in turn from the pool, from a random place in it."""

    __slots__ = ("_at",)

    def __init__(self) -> None:
        self._at = random.getrandbits(POOL_BITS)

    def take(self, how_many: int, tail: bytes = b"") -> Taken:
        tailed = _tailed(tail) if tail else None
        if tail and tailed is None:  # an end not kept: added to the pads taken
            pads, lengths = self.take(how_many)
            return tuple(map(bytes.__add__, pads, repeat(tail))), lengths
        pads, lengths = tailed or _POOL.get()
        start, end = self._at, self._at + how_many
        self._at = end & _POOL_MASK
        if end <= len(pads):  # a slice: no Python run per pad
            return pads[start:end], lengths[start:end]
        places = list(map(_POOL_MASK.__and__, range(start, end)))  # round the end
        return tuple(map(pads.__getitem__, places)), tuple(map(lengths.__getitem__, places))

    def stream(self) -> Iterator[bytes]:
        return chain.from_iterable(map(self._pads, repeat(_STREAMED)))

    def _pads(self, how_many: int) -> Sequence[bytes]:
        return self.take(how_many)[0]


def random_pads(how_many: int) -> tuple[bytes, ...]:
    """`how_many` pads (ASCII) with the lengths and characters `SeededPads` draws
    (uniform), from a few bulk draws of random bytes rather than a draw per character, cut
    into pads by one `struct` unpack of their lengths (a slice per pad cost twice that)."""
    lengths = random.randbytes(how_many).translate(_LENGTHS)
    wanted = sum(lengths)
    characters = b""
    while len(characters) < wanted:  # a byte in 32 is dropped: rarely a second draw
        more = random.randbytes(wanted - len(characters) + 8)
        characters += more.translate(_CHARACTERS, _DROPPED)
    return struct.unpack_from(b"".join(map(_FORMATS.__getitem__, lengths)), characters)


def _draw_pool() -> tuple[tuple[bytes, ...], tuple[int, ...]]:
    pads = random_pads(1 << POOL_BITS)
    return pads, tuple(map(len, pads))


_POOL = Once(_draw_pool)


def _tailed(tail: bytes) -> tuple[tuple[bytes, ...], tuple[int, ...]] | None:
    """The pool with `tail` after each pad (the same pads, the same places), if kept."""
    kept = _TAILED.get(tail)
    if kept is None and len(_TAILED) < _TAILED_POOLS:
        pads, lengths = _POOL.get()
        kept = _TAILED[tail] = tuple(map(bytes.__add__, pads, repeat(tail))), lengths
    return kept


_TAILED: dict[bytes, tuple[tuple[bytes, ...], tuple[int, ...]]] = {}
