"""What every engine takes and returns; no aiohttp types cross this line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mockserver.completion import Completion
from mockserver.contract.model_card import ModelCard
from mockserver.contract.request import ChatRequest


@dataclass(frozen=True)
class EngineCall:
    """A checked request, ready to answer: the request, its model and its prompt size."""

    request: ChatRequest
    card: ModelCard
    deployment: str
    prompt_tokens: int


class Engine(Protocol):
    name: str

    async def answer(self, call: EngineCall) -> Completion | None:
        """A completion, or None to let the next engine in the chain answer."""
        ...
