"""The stubs of one process.

Used from the server's event loop only: a method runs to its end without yielding (the
scenario store it awaits is in memory too), so a take is never interleaved with another.

The rules ask `would_answer` and then `take` for the same request: the stub the first
found is handed to the second when nothing changed between them (the same request, no
stub added, removed or answered since, and no stub gated by a scenario state, which a
scenario set by hand could open), so a stubbed request is matched once, not twice.
The stubs are ranked once per change, not on every request.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from mockserver.engines.matching import RequestView
from mockserver.engines.stubs import Stub
from mockserver.stores.scenarios import ScenarioStore
from mockserver.support.cpu_work import off_loop

MATCHED_ON_LOOP_BYTES = 64 * 1024


class MemoryStubStore:
    def __init__(self, scenarios: ScenarioStore) -> None:
        self.scenarios = scenarios
        self.stubs: dict[str, Stub] = {}
        self.order: dict[str, int] = {}  # stub id -> when added (later is larger)
        self.counter = itertools.count()
        self._ranked: list[Stub] | None = None  # ranked on first use after a change
        self._gated = False  # some stub answers only in a scenario state (with `_ranked`)
        self._version = 0  # moved on by every change: an add, a remove, a clear, an answer
        # What `would_answer` found last: the request, the version, the stub that answers.
        self._found: tuple[RequestView, int, Stub] | None = None

    async def add(self, stub: Stub) -> Stub:
        self._changed()
        self.stubs[stub.id] = stub.model_copy()  # a replaced one keeps its place in all()
        self.order[stub.id] = next(self.counter)  # but ranks as the most recently added
        if stub.scenario is not None:
            await self.scenarios.start(stub.scenario)
        return stub

    async def get(self, stub_id: str) -> Stub | None:
        stub = self.stubs.get(stub_id)
        return None if stub is None else stub.model_copy()

    async def remove(self, stub_id: str) -> bool:
        self._changed()
        self.order.pop(stub_id, None)
        return self.stubs.pop(stub_id, None) is not None

    async def all(self) -> list[Stub]:
        return [stub.model_copy() for stub in self.stubs.values()]

    async def has_stubs(self) -> bool:
        return bool(self.stubs)

    async def take(self, request: RequestView) -> Stub | None:
        found, self._found = self._found, None
        if found is not None and await self._still_first(found, request):
            return await self.answered(found[2])
        for stub in await self.matching(request):
            if stub.id in self.stubs and await self.available(stub):
                return await self.answered(stub)
        return None

    async def take_by_id(self, stub_id: str) -> Stub | None:
        stub = self.stubs.get(stub_id)
        return None if stub is None else await self.answered(stub)

    async def would_answer(self, request: RequestView) -> bool:
        version = self._version  # a long request is matched on a thread: stubs may change
        for stub in await self.matching(request):
            if await self.available(stub):
                if version == self._version:
                    self._found = (request, version, stub)
                return True
        return False

    async def _still_first(
        self, found: tuple[RequestView, int, Stub], request: RequestView
    ) -> bool:
        """Whether the stub `would_answer` found for this very request is still the one a
        match would take: no stub added, removed or answered since, none whose scenario
        gates it (a scenario moved by hand can make a better-ranked one answer), and the
        found one still there and available."""
        asked, version, stub = found
        if asked is not request or version != self._version or self._gated:
            return False
        return self.stubs.get(stub.id) is stub and await self.available(stub)

    async def matching(self, request: RequestView) -> Iterable[Stub]:
        """The stubs whose match accepts `request`, first-ranked first.

        RE2 is linear in the text, but a pattern of many counted repetitions costs its
        size on every character: a long request is matched on a thread (the matchers read
        only), and its stubs taken back on the loop, where a take is never interleaved.
        """
        ranked = self._ranked
        if ranked is None:
            ranked = self._ranked = sorted(self.stubs.values(), key=self.rank)
            self._gated = any(stub.required_state is not None for stub in ranked)
        if request.size > MATCHED_ON_LOOP_BYTES:
            return await off_loop(_matched, ranked, request)
        return (stub for stub in ranked if stub.match.matches(request))

    async def clear(self) -> None:
        self._changed()
        self.stubs.clear()
        self.order.clear()

    def _changed(self) -> None:
        self._ranked, self._found = None, None
        self._version += 1

    def rank(self, stub: Stub) -> tuple[int, int]:
        return (stub.priority, -self.order[stub.id])

    async def available(self, stub: Stub) -> bool:
        """Not used up, and its scenario (if any) in the state it requires."""
        return not stub.exhausted() and await self.in_state(stub)

    async def in_state(self, stub: Stub) -> bool:
        """Whether the stub's scenario is in the state it requires (if it requires one)."""
        if stub.scenario is None or stub.required_state is None:
            return True
        return await self.scenarios.get(stub.scenario) == stub.required_state

    async def answered(self, stub: Stub) -> Stub:
        """Count one answer of `stub` and move its scenario; a copy for the caller."""
        self._version += 1  # its use and its scenario's state may differ now
        self._found = None
        stub.answered += 1
        if stub.scenario is not None and stub.new_state is not None:
            await self.scenarios.set(stub.scenario, stub.new_state)
        return stub.model_copy()


def _matched(ranked: list[Stub], request: RequestView) -> list[Stub]:
    return [stub for stub in ranked if stub.match.matches(request)]
