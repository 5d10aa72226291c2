"""Input items that stand for stored ones: `item_reference`, and reasoning handed back.

Clients keep reasoning across turns in one of two ways. With `store` on they send the
reasoning item's id (the AI SDK and the openai SDK's agents send `{"type":
"item_reference", "id": "rs_..."}`, or the whole item without its content), and the
server finds the item among stored responses. With `store: false` they ask for
`include: ["reasoning.encrypted_content"]` and send the item back with that token,
which the server checks instead. A reasoning item with neither is refused, as on Azure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mockserver.contract.errors import AzureError, invalid_request
from mockserver.operations.responses.seal import ReasoningSeal, invalid_encrypted_content
from mockserver.stores.responses import ResponseStore

# Azure adds this when the request itself has `store: false` (openclaw#21782,
# joselcaguilar/azure-openai-ha#129).
NOT_PERSISTED = (
    " Items are not persisted when `store` is set to false. Try again with `store` set to "
    "true, or remove this item from your input."
)
REASONING_PREFIX = "rs"


@dataclass(frozen=True)
class ItemResolver:
    """Replaces references by the stored items and checks reasoning handed back."""

    store: ResponseStore
    seal: ReasoningSeal
    storing: bool  # the request's own `store`: Azure's message then says why none is found

    async def resolve(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [await self._resolve(item, f"input[{index}]") for index, item in enumerate(items)]

    async def _resolve(self, item: dict[str, Any], where: str) -> dict[str, Any]:
        kind = item.get("type")
        if kind == "item_reference":
            return dict(await self._stored(_item_id(item, where)))
        if kind == "reasoning":
            await self._check_reasoning(item, where)
        return item

    async def _check_reasoning(self, item: dict[str, Any], where: str) -> None:
        token = item.get("encrypted_content")
        if token is None:  # the reasoning itself is on the server: the id must find it
            await self._stored(_reasoning_id(item, where))
            return
        if item.get("id") is not None:
            _reasoning_id(item, where)
        if not isinstance(token, str):
            raise _invalid_type(f"{where}.encrypted_content")
        if self.seal.open(token) is None:
            raise invalid_encrypted_content(token)

    async def _stored(self, item_id: str) -> dict[str, Any]:
        item = await self.store.get_item(item_id)
        if item is None:
            raise item_not_found(item_id, self.storing)
        return item


def _item_id(item: dict[str, Any], where: str) -> str:
    item_id = item.get("id")
    if item_id is None:
        raise invalid_request(
            f"Missing required parameter: '{where}.id'.",
            f"{where}.id",
            "missing_required_parameter",
        )
    if not isinstance(item_id, str):
        raise _invalid_type(f"{where}.id")
    return item_id


def _reasoning_id(item: dict[str, Any], where: str) -> str:
    item_id = _item_id(item, where)
    if not item_id.startswith(REASONING_PREFIX):
        raise invalid_request(
            f"Invalid '{where}.id': '{item_id}'. Expected an ID that begins with "
            f"'{REASONING_PREFIX}'.",
            f"{where}.id",
            "invalid_value",
        )
    return item_id


def _invalid_type(param: str) -> AzureError:
    return invalid_request(
        f"Invalid type for '{param}': expected a string, but got another type instead.",
        param,
        "invalid_type",
    )


def item_not_found(item_id: str, storing: bool) -> AzureError:
    """Azure answers 400 where OpenAI answers 404, with the same body (bifrost#6382)."""
    message = f"Item with id '{item_id}' not found." + ("" if storing else NOT_PERSISTED)
    error = invalid_request(message, "input", None)
    error.name = "item_not_found"
    return error
