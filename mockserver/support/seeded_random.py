"""`SeededOnUse`: a `random.Random(seed)` that seeds itself when first drawn from.

Seeding costs more than most uses of a generator (about 5 us: Mersenne Twister's 624-word
state mixed from the seed), and the reply styles get a seeded generator on every request
though only a prompt that asks for a format draws from it. The draws are those of
`random.Random(seed)`, value for value: every method of `random.Random` draws through
`random()` or `getrandbits()`, and both seed first.
"""

from __future__ import annotations

import random
from typing import Any


class SeededOnUse(random.Random):
    def __init__(self, seed: int) -> None:  # no super().__init__(): it would seed now
        self._pending: int | None = seed
        self.gauss_next = None  # what random.Random.__init__ sets besides the seed

    def _seed_now(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            super().seed(pending)

    def seed(self, a: Any = None, version: int = 2) -> None:
        self._pending = None
        super().seed(a, version)

    def random(self) -> float:
        self._seed_now()
        return super().random()

    def getrandbits(self, k: int, /) -> int:
        self._seed_now()
        return super().getrandbits(k)

    def getstate(self) -> tuple[Any, ...]:
        self._seed_now()
        return super().getstate()

    def setstate(self, state: tuple[Any, ...]) -> None:
        self._pending = None
        super().setstate(state)
