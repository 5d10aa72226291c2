"""The engine chain: stubs, replay, record, generator; the first that answers wins."""

from __future__ import annotations

import time
from collections.abc import Sequence

from mockserver.engines.base import Asked, Engine
from mockserver.engines.reply import Reply


class NoEngineAnsweredError(RuntimeError):
    """Every engine passed; a configuration without the generator can end here."""


class EngineChain:
    def __init__(self, engines: Sequence[Engine]) -> None:
        self.engines = list(engines)

    async def answer(self, asked: Asked) -> Reply:
        for engine in self.engines:
            started = time.perf_counter()
            reply = await engine.answer(asked)
            if reply is not None:
                elapsed = round((time.perf_counter() - started) * 1000, 3)
                return reply.timed(elapsed)
        raise NoEngineAnsweredError("no engine answered the request")
