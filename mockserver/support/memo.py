"""Values computed once and kept: `Memo`, a bounded least-recently-used memo, and `Once`.

The values memoised here (token counts, a request's digest) are pure functions of a
text or a body, so the text or body itself is the key: Python's hash of a 100 KB string
costs a third of a SHA-256 of it, and a hit compares the keys byte for byte, so no
collision can ever return another text's count. The size bound (the summed length of
the keys) keeps a run of long prompts from holding more than a few tens of megabytes.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class _SizedKey(Protocol):
    """A key whose `len` is its size: str (characters) or bytes."""

    def __hash__(self) -> int: ...

    def __len__(self) -> int: ...


K = TypeVar("K", bound=_SizedKey)
# First sightings remembered by a `second_sighting` memo: their hashes, 8 bytes each.
_SIGHTING_SLOTS = 8192
V = TypeVar("V")
T = TypeVar("T")


class Once(Generic[T]):
    """A value built on first use, once, even when threads ask for it at the same time:
    the start-up warm-up builds it on a thread while a request may already need it."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: list[T] = []  # empty until built; a list, so None can be a value
        self._lock = threading.Lock()

    def get(self) -> T:
        if not self._value:
            with self._lock:
                if not self._value:
                    self._value.append(self._build())
        return self._value[0]


class Memo(Generic[K, V]):
    """Bounded by entries and by size: a key's length unless `put` is told what the entry
    holds (a key that is a tuple of parts, a value larger than its key)."""

    def __init__(self, max_entries: int, max_size: int, second_sighting: bool = False) -> None:
        self.max_entries = max_entries
        self.max_size = max_size
        self._values: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._size = 0
        # With `second_sighting`, a key is kept the second time it is put, not the first:
        # a stream of keys never seen again (distinct prompts) then keeps nothing alive,
        # which costs more than the memo's own work (its entries hold bodies and replies
        # that every later allocation has to step around). The first sighting is a slot
        # of hashes: a collision only keeps a key at once, or a second time later.
        self._seen = array("q", bytes(8 * _SIGHTING_SLOTS)) if second_sighting else None
        # Requests are answered on one loop thread, but the warm-up thread and
        # in-process test code may count too.
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            kept = self._values.get(key)
            if kept is None:
                return None
            self._values.move_to_end(key)
            return kept[0]

    def put(self, key: K, value: V, size: int | None = None) -> None:
        size = len(key) if size is None else size
        if size > self.max_size:
            return  # larger than the whole memo: not worth evicting everything for
        with self._lock:  # the sightings too: `clear` replaces them under the lock
            if self._seen is not None and not self._seen_before(key):
                return
            replaced = self._values.pop(key, None)
            if replaced is not None:
                self._size -= replaced[1]
            self._values[key] = (value, size)
            self._size += size
            while len(self._values) > self.max_entries or self._size > self.max_size:
                _, (_, evicted_size) = self._values.popitem(last=False)
                self._size -= evicted_size

    def _seen_before(self, key: K) -> bool:
        """Whether the key was put before (as far as its slot remembers); notes it if not.
        Called with the lock held."""
        seen, sighting = self._seen, hash(key)
        assert seen is not None
        slot = sighting % _SIGHTING_SLOTS
        if seen[slot] == sighting:
            return True
        seen[slot] = sighting
        return False

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._size = 0
            if self._seen is not None:
                self._seen = array("q", bytes(8 * _SIGHTING_SLOTS))

    def __len__(self) -> int:
        return len(self._values)

    @property
    def size(self) -> int:
        """The summed size of the entries kept (their keys' lengths unless told)."""
        return self._size
