"""JSON values that the server will have to write back out, checked when they come in.

orjson writes integers of at most 64 bits. A stub or a match holding a bigger integer would be
accepted and then fail each time it is listed or answered, so such values are refused on the
way in with a 400 that names the field.
"""

from __future__ import annotations

from typing import Any

SMALLEST_INT = -(2**63)
LARGEST_INT = 2**64 - 1


def writable(value: Any) -> Any:
    """`value` itself, if every integer inside it fits in 64 bits; else ValueError."""
    pending = [value]  # a loop, not recursion: a deep value must not exhaust the stack
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, int) and not SMALLEST_INT <= item <= LARGEST_INT:
            raise ValueError(f"integers must fit in 64 bits ({SMALLEST_INT} to {LARGEST_INT})")
    return value
