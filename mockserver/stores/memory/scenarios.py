"""The scenario states of one process."""

from __future__ import annotations

from mockserver.stores.scenarios import STARTED


class MemoryScenarioStore:
    def __init__(self) -> None:
        self.states: dict[str, str] = {}

    async def get(self, name: str) -> str:
        return self.states.get(name, STARTED)

    async def set(self, name: str, state: str) -> None:
        self.states[name] = state

    async def start(self, name: str) -> None:
        self.states.setdefault(name, STARTED)

    async def all(self) -> dict[str, str]:
        return dict(self.states)

    async def reset(self) -> None:
        self.states = dict.fromkeys(self.states, STARTED)

    async def clear(self) -> None:
        self.states.clear()
