"""`ScopedBytes`: bytes under a scope, as a `Memo` key.

A request's body bytes key several memos (the checks, the content facts, the
completions), each under its own scope (an api-version, a model, a seed). Keeping the
scope beside the bytes rather than joined to them spares a copy of the body per memo,
and the bytes' hash, which Python keeps on the bytes object, is computed once for all.
"""

from __future__ import annotations

from typing import Any

from mockserver.support.values import value


@value  # made for every memo lookup: a frozen dataclass's __init__ costs 3x a slotted one's
class ScopedBytes:
    scope: tuple[Any, ...]  # hashable values that complete the key
    data: bytes

    def __len__(self) -> int:
        """The bytes' length: what a `Memo` bounds its size by."""
        return len(self.data)
