"""`ByIdentity`: what was made from an object nothing changes, kept by the object itself.

The hot path hands the same objects again and again (a memoised completion, a recording's
headers, a head the lane parsed once), and hashing them by value would cost more than what
is kept. The object's `id` is the key and the object is held beside its value, so its id
cannot be reused by another while it is kept, and a hit is checked to be the very object.
Bounded by count (and by size when told one): full, it is emptied and filled again.
"""

from __future__ import annotations

from typing import Generic, TypeVar

Held = TypeVar("Held")
V = TypeVar("V")


class ByIdentity(Generic[Held, V]):
    def __init__(self, entries: int, max_size: int = 0) -> None:
        """`max_size`: the most the values' sizes (as `put` tells them) may add up to, or
        0 for no bound but the count."""
        self.entries, self.max_size = entries, max_size
        self._known: dict[int, tuple[Held, V, int]] = {}
        self._seen: dict[int, Held] = {}  # held, as the kept ones are, so ids stay theirs
        self._size = 0

    def get(self, obj: Held) -> V | None:
        known = self._known.get(id(obj))
        if known is not None and known[0] is obj:
            return known[1]
        return None

    def seen_before(self, obj: Held) -> bool:
        """Whether an object of this id was asked about before; notes it if not. Keeping a
        value only at its object's second sighting keeps objects seen once (a fresh
        completion on each request) from filling the memo and making what is never used."""
        key = id(obj)
        if self._seen.get(key) is obj:
            return True
        if len(self._seen) >= self.entries:
            self._seen.clear()
        self._seen[key] = obj
        return False

    def put(self, obj: Held, value: V, size: int = 0) -> None:
        if self.max_size and size > self.max_size:
            return  # larger than the whole bound: not worth emptying it for
        key = id(obj)
        replaced = self._known.pop(key, None)  # a freed object's id, reused
        if replaced is not None:
            self._size -= replaced[2]
        full = len(self._known) >= self.entries
        if full or (self.max_size and self._size + size > self.max_size):
            self.clear()
        self._known[key] = (obj, value, size)
        self._size += size

    def clear(self) -> None:
        self._known.clear()
        self._size = 0
        self._seen.clear()

    def __len__(self) -> int:
        return len(self._known)

    @property
    def size(self) -> int:
        """The summed sizes `put` was told of the values kept."""
        return self._size
