"""x-mock-fault acts on the Azure surface only: the mock's own APIs (admin, metrics) ignore it."""

from __future__ import annotations

import pytest

from mockserver.testing.server import MockServer
from tests.support import rawhttp


@pytest.mark.parametrize("path", ["/metrics", "/__admin/health"])
@pytest.mark.parametrize("fault", ["429", "500"])
def test_a_fault_header_on_an_own_api_is_not_applied(
    server: MockServer, path: str, fault: str
) -> None:
    response = rawhttp.request(server.url + path, method="GET", headers={"x-mock-fault": fault})
    assert response.status == 200, response.body[:300]
