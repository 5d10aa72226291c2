"""The upstream of every recording here: a generating MockServer with reproducible bodies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockserver.testing.server import MockServer
from tests.replay.helpers import UPSTREAM_SEED


@pytest.fixture
def upstream() -> Iterator[MockServer]:
    with MockServer(seed=UPSTREAM_SEED, deterministic_ids=True) as server:
        yield server
