"""Stored responses: what `previous_response_id`, `item_reference`, GET, DELETE and
input_items read."""

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

    def all_items(self) -> list[dict[str, Any]]:
        """Every item a later request may reference: output first, then input."""
        return [*self.response["output"], *self.items]


@dataclass
class ResponseStore:
    """The most recent responses, oldest forgotten first past `capacity`.

    Items are found by id through `_holders`: the stored responses holding each item id
    (an input item referenced again is held by the later response too), so forgetting a
    response forgets exactly the items no other stored response still holds.
    """

    capacity: int = DEFAULT_CAPACITY
    _entries: OrderedDict[str, StoredResponse] = field(default_factory=OrderedDict)
    _holders: dict[str, dict[str, None]] = field(default_factory=dict)  # ordered sets

    def put(self, entry: StoredResponse) -> None:
        key = entry.response["id"]
        if key in self._entries:
            self._unindex(key, self._entries[key])
        self._entries[key] = entry
        self._entries.move_to_end(key)
        self._index(key, entry)
        while len(self._entries) > self.capacity:
            self._unindex(*self._entries.popitem(last=False))

    def get(self, response_id: str) -> StoredResponse | None:
        return self._entries.get(response_id)

    def get_item(self, item_id: str) -> dict[str, Any] | None:
        """The item with this id, from the latest stored response holding it."""
        holders = self._holders.get(item_id)
        if not holders:
            return None
        entry = self._entries[next(reversed(holders))]
        return next(item for item in entry.all_items() if item.get("id") == item_id)

    def delete(self, response_id: str) -> bool:
        entry = self._entries.pop(response_id, None)
        if entry is not None:
            self._unindex(response_id, entry)
        return entry is not None

    def clear(self) -> None:
        self._entries.clear()
        self._holders.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _index(self, key: str, entry: StoredResponse) -> None:
        for item_id in _item_ids(entry):
            self._holders.setdefault(item_id, {})[key] = None

    def _unindex(self, key: str, entry: StoredResponse) -> None:
        for item_id in _item_ids(entry):
            holders = self._holders.get(item_id, {})
            holders.pop(key, None)
            if not holders:
                self._holders.pop(item_id, None)


def _item_ids(entry: StoredResponse) -> list[str]:
    return [item["id"] for item in entry.all_items() if isinstance(item.get("id"), str)]
