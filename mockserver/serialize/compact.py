"""Compact JSON bytes as orjson writes them, marked as such for whoever keeps them."""

from __future__ import annotations

from typing import Any

import orjson


class CompactJson(bytes):
    """orjson's own bytes of a JSON value, perhaps followed by one newline.

    Parsing them and writing the value again with orjson gives the same bytes (orjson
    never ends its text with a newline): the journal keeps an answer's JSON as these
    bytes instead of parsing the answer it just wrote and writing it once more."""

    __slots__ = ()

    @classmethod
    def of(cls, value: Any, newline: bool = False) -> CompactJson:
        return cls(orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE if newline else None))

    def as_written(self) -> bytes:
        """The bytes `orjson.dumps` gives for the value they hold."""
        return self[:-1] if self.endswith(b"\n") else bytes(self)
