"""SeededDraws: any n-th number of a deployment's seeded sequence, in any order."""

from __future__ import annotations

import random

from mockserver.stores.redis.faults import SeededDraws


def test_any_order_gives_the_sequence() -> None:
    expected = random.Random("5:o3-mini")
    sequence = [expected.random() for _ in range(1000)]
    draws = SeededDraws("o3-mini", 5)
    for n in [3, 1, 2, 900, 899, 5, 1000, 4]:  # 5 and 4 are older than the numbers kept
        assert draws.nth(n) == sequence[n - 1]
