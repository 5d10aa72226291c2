"""The `GET /openai/models` body, in the shape of Azure's official example."""

from __future__ import annotations

import orjson

from mockserver.contract.model_card import ModelCard


def models_list_body(cards: list[ModelCard]) -> bytes:
    data = [
        {
            "status": "succeeded",
            "capabilities": card.capabilities,
            "lifecycle_status": card.lifecycle_status,
            "deprecation": {},
            "id": card.id,
            "created_at": card.created_at,
            "object": "model",
        }
        for card in cards
    ]
    return orjson.dumps({"data": data, "object": "list"})
