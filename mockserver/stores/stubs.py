"""The stub store: the stubs of a test session, and which one answers a request.

The first matching stub wins: lowest `priority` first, then the most recently added.
A stub with `times` answers that many requests and then stops matching; one in a
scenario matches only while its scenario (in the ScenarioStore) is in `required_state`.
Taking a stub counts the answer and moves the scenario in one step, so two requests
never both take a stub's last use.
"""

from __future__ import annotations

from typing import Protocol

from mockserver.engines.matching import RequestView
from mockserver.engines.stubs import Stub


class StubStore(Protocol):
    """The stubs handed out are copies, to read: changing one changes nothing stored."""

    async def add(self, stub: Stub) -> Stub:
        """Keep `stub` (replacing one with its id) as the most recently added."""
        ...

    async def get(self, stub_id: str) -> Stub | None: ...

    async def remove(self, stub_id: str) -> bool:
        """Forget the stub; False when there was none with this id."""
        ...

    async def all(self) -> list[Stub]:
        """Every stub, in the order first added (a replaced one keeps its place)."""
        ...

    async def has_stubs(self) -> bool: ...

    async def take(self, request: RequestView) -> Stub | None:
        """The stub that answers `request`, counted and with its scenario moved on."""
        ...

    async def take_by_id(self, stub_id: str) -> Stub | None:
        """A stub forced by x-mock-stub: counted and moving its scenario like a match."""
        ...

    async def would_answer(self, request: RequestView) -> bool:
        """Whether some stub would answer `request` now; nothing is counted or moved."""
        ...

    async def clear(self) -> None:
        """Forget every stub (their scenarios are the ScenarioStore's to forget)."""
        ...
