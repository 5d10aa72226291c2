"""Stored responses: what `previous_response_id`, `item_reference`, GET, DELETE and
input_items read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class StoredResponse:
    response: dict[str, Any]  # the response object, as last sent
    items: list[dict[str, Any]]  # this request's input items, with ids
    conversation: list[dict[str, Any]]  # chat messages of every turn so far, output included

    def all_items(self) -> list[dict[str, Any]]:
        """Every item a later request may reference: output first, then input."""
        return [*self.response["output"], *self.items]

    def item_ids(self) -> list[str]:
        """The ids of every item it holds, for a store's index."""
        return [item["id"] for item in self.all_items() if isinstance(item.get("id"), str)]


class ResponseStore(Protocol):
    """The most recent stored responses (Responses API `store: true`), oldest forgotten
    first past a capacity; an item is found by id in the latest response holding it."""

    async def put(self, entry: StoredResponse) -> None:
        """Keep `entry` under its response id, replacing one kept before."""
        ...

    async def get(self, response_id: str) -> StoredResponse | None: ...

    async def get_item(self, item_id: str) -> dict[str, Any] | None:
        """The item with this id, from the latest stored response holding it."""
        ...

    async def delete(self, response_id: str) -> bool:
        """Forget the response (and the items no other one holds); False if none."""
        ...

    async def count(self) -> int: ...

    async def clear(self) -> None: ...
