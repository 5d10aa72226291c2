"""The stored responses of one process."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from mockserver.stores.responses import StoredResponse

DEFAULT_CAPACITY = 1000


class MemoryResponseStore:
    """The most recent responses, oldest forgotten first past `capacity`.

    Items are found by id through `holders`: the stored responses holding each item id
    (an input item referenced again is held by the later response too), so forgetting a
    response forgets exactly the items no other stored response still holds.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self.entries: OrderedDict[str, StoredResponse] = OrderedDict()
        self.holders: dict[str, dict[str, None]] = {}  # item id -> response ids, an ordered set

    async def put(self, entry: StoredResponse) -> None:
        key = entry.response["id"]
        if key in self.entries:
            self.unindex(key, self.entries[key])
        self.entries[key] = entry
        self.entries.move_to_end(key)
        self.index(key, entry)
        while len(self.entries) > self.capacity:
            self.unindex(*self.entries.popitem(last=False))

    async def get(self, response_id: str) -> StoredResponse | None:
        return self.entries.get(response_id)

    async def get_item(self, item_id: str) -> dict[str, Any] | None:
        holders = self.holders.get(item_id)
        if not holders:
            return None
        entry = self.entries[next(reversed(holders))]
        return next(item for item in entry.all_items() if item.get("id") == item_id)

    async def delete(self, response_id: str) -> bool:
        entry = self.entries.pop(response_id, None)
        if entry is not None:
            self.unindex(response_id, entry)
        return entry is not None

    async def count(self) -> int:
        return len(self.entries)

    async def clear(self) -> None:
        self.entries.clear()
        self.holders.clear()

    def index(self, key: str, entry: StoredResponse) -> None:
        for item_id in entry.item_ids():
            self.holders.setdefault(item_id, {})[key] = None

    def unindex(self, key: str, entry: StoredResponse) -> None:
        for item_id in entry.item_ids():
            holders = self.holders.get(item_id, {})
            holders.pop(key, None)
            if not holders:
                self.holders.pop(item_id, None)
