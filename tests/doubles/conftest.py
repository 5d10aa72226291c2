"""`mock`: the session's server, emptied before and after each test of this package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockserver.testing.server import MockServer


@pytest.fixture
def mock(server: MockServer) -> Iterator[MockServer]:
    """The shared server with no stubs, scenarios, journal or quota; its seed restored after."""
    seed = server.current_settings()["seed"]
    server.reset()
    server.take_failures()
    yield server
    failures = server.take_failures()
    server.configure(seed=seed)
    server.reset()
    assert not failures, f"the mock server failed while answering: {failures!r}"
