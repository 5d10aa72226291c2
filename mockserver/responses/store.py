"""Stored responses: what `previous_response_id`, GET, DELETE and input_items read."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

DEFAULT_CAPACITY = 1000


@dataclass(frozen=True)
class StoredResponse:
    response: dict[str, Any]  # the response object, as last sent
    items: list[dict[str, Any]]  # this request's input items, with ids
    conversation: list[dict[str, Any]]  # chat messages of every turn so far, output included


@dataclass
class ResponseStore:
    """The most recent responses, oldest forgotten first past `capacity`."""

    capacity: int = DEFAULT_CAPACITY
    _entries: OrderedDict[str, StoredResponse] = field(default_factory=OrderedDict)

    def put(self, entry: StoredResponse) -> None:
        key = entry.response["id"]
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def get(self, response_id: str) -> StoredResponse | None:
        return self._entries.get(response_id)

    def delete(self, response_id: str) -> bool:
        return self._entries.pop(response_id, None) is not None

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
