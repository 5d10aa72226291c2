"""A server of each module's own for the Responses tests that change stubs, seeds or ids."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockserver.testing.server import MockServer


@pytest.fixture(scope="module")
def own_server() -> Iterator[MockServer]:
    """Module scope: stubs and settings changed in one module never reach another."""
    with MockServer() as running:
        yield running


@pytest.fixture
def mock(own_server: MockServer) -> Iterator[MockServer]:
    """The module's server, clean for each test and restored to the defaults after it."""
    own_server.reset()
    yield own_server
    failures = own_server.take_failures()
    own_server.reset()
    own_server.configure(deterministic_ids=False, seed=0)
    assert not failures, failures
