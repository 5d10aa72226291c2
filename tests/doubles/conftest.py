"""`mock`: the plugin's `azure_mock`, a session of the shared server that is this test's
alone (stubs, scenarios, journal, quota), its settings restored and its failures checked."""

from __future__ import annotations

import pytest

from mockserver.testing.server import MockServer


@pytest.fixture
def mock(azure_mock: MockServer) -> MockServer:
    return azure_mock
