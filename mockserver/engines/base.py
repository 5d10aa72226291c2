"""What every engine takes and returns; no aiohttp types cross this line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from mockserver.contract.model_card import ModelCard
from mockserver.contract.request import ChatRequest
from mockserver.engines.matching import RequestView
from mockserver.engines.reply import Completion, Usage
from mockserver.faults.kinds import Fault
from mockserver.stores.journal import ReplayMiss


@dataclass(frozen=True)
class Script:
    """A reply decided in advance (by a stub); the generator still does the accounting."""

    content: str | None = None
    tool_calls: tuple[tuple[str, str | None], ...] = ()  # (name, JSON arguments or None)
    refusal: str | None = None


@dataclass
class Effects:
    """What an engine asks of the HTTP layer besides the completion, and who answered."""

    source: str = "generator"
    stub_id: str | None = None
    fault: Fault | None = None
    delay_ms: int = 0
    usage: Usage | None = None  # the answer's tokens, for the metrics
    replay_miss: ReplayMiss | None = None  # why no recording answered, for the journal


@dataclass(frozen=True)
class EngineCall:
    """A checked request, ready to answer: the request, its model and its prompt size."""

    request: ChatRequest
    card: ModelCard
    deployment: str
    prompt_tokens: int
    # How stub rules see the request; an empty view when the generator is used directly.
    view: RequestView = field(default_factory=lambda: RequestView("dated", "", None, {}))
    effects: Effects = field(default_factory=Effects)
    script: Script | None = None
    # The request's answer identity (`generator.request_digest`), when the caller has it.
    digest: bytes | None = None


class Engine(Protocol):
    name: str

    async def answer(self, call: EngineCall) -> Completion | None:
        """A completion, or None to let the next engine in the chain answer."""
        ...
