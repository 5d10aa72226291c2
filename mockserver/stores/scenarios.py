"""The scenario store: the state each stub scenario is in (WireMock's scenarios).

A stub in a scenario answers only while the scenario is in the stub's `required_state`
and moves it to `new_state` when it answers: "first a 429, then a success".
"""

from __future__ import annotations

from typing import Protocol

STARTED = "Started"  # the state every scenario begins in, as in WireMock


class ScenarioStore(Protocol):
    """Scenario name -> state; a scenario never set is in STARTED."""

    async def get(self, name: str) -> str:
        """The scenario's state (STARTED when it was never set)."""
        ...

    async def set(self, name: str, state: str) -> None: ...

    async def start(self, name: str) -> None:
        """Make the scenario known, in STARTED unless it already has a state."""
        ...

    async def all(self) -> dict[str, str]:
        """Every known scenario and its state."""
        ...

    async def reset(self) -> None:
        """Every known scenario back to STARTED (they stay known)."""
        ...

    async def clear(self) -> None:
        """Forget every scenario (their stubs are gone)."""
        ...
