"""The engine chain: the first engine that answers wins."""

from __future__ import annotations

from collections.abc import Sequence

from mockserver.engines.base import Engine, EngineCall
from mockserver.engines.reply import Completion


class NoEngineAnsweredError(RuntimeError):
    """Every engine passed; a configuration without the generator can end here."""


class EngineChain:
    def __init__(self, engines: Sequence[Engine]) -> None:
        self.engines = list(engines)

    async def answer(self, call: EngineCall) -> Completion:
        for engine in self.engines:
            completion = await engine.answer(call)
            if completion is not None:
                return completion
        raise NoEngineAnsweredError("no engine answered the request")
