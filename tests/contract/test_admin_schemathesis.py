"""schemathesis against the admin API, driven by the document the server itself serves.

The document is loaded from a running MockServer's `/__admin/openapi.json`. For every
operation schemathesis generates requests from it and runs its stateless checks:

- positive (schema-valid) requests: no 5xx (`not_a_server_error`), only documented status
  codes and content types, and a body valid against the response schema the document
  declares for that status (`response_schema_conformance`);
- negative (schema-violating) requests, for the operations that take a body or query
  parameters: no 5xx, and a 4xx rejection (`negative_data_rejection`).

The number of examples is bounded: the `ci` profile (the default) draws `EXAMPLES` per
operation and mode, derandomized so a CI run is reproducible; `MOCKSERVER_CONFORMANCE=long`
draws `LONG_EXAMPLES`, randomly. Settings a run changed are restored before each
operation, so one operation's requests cannot break another's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from mockserver.admin.openapi import admin_openapi
from mockserver.testing.server import MockServer
from tests.support import rawhttp

EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8}
LONG_EXAMPLES = {GenerationMode.POSITIVE: 200, GenerationMode.NEGATIVE: 100}
LONG = os.environ.get("MOCKSERVER_CONFORMANCE", "ci") == "long"
POSITIVE_CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS: list[CheckFunction] = [not_a_server_error, negative_data_rejection]
DEFAULT_SETTINGS: dict[str, Any] = {
    "seed": 0,
    "region": "East US 2",
    "deterministic_ids": False,
    "stream_chunking": "token",
    "stream_obfuscation": True,
}


def _operations() -> list[tuple[str, bool]]:
    """Each operation's label, and whether it has input a negative case can break."""
    found = []
    for path, item in admin_openapi()["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            queries = [p for p in operation.get("parameters", []) if p["in"] == "query"]
            found.append((f"{method.upper()} {path}", "requestBody" in operation or bool(queries)))
    return found


OPERATIONS = _operations()
CASES = [
    pytest.param(label, mode, id=f"{mode.value}-{label}")
    for label, has_input in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or has_input
]


@pytest.fixture(scope="module")
def admin_server() -> Iterator[MockServer]:
    with MockServer() as running:
        yield running


@pytest.fixture(scope="module")
def admin_schema(admin_server: MockServer) -> Any:
    return schemathesis.openapi.from_url(f"{admin_server.url}/__admin/openapi.json")


def test_the_served_document_is_the_built_one(admin_server: MockServer) -> None:
    served = rawhttp.request(f"{admin_server.url}/__admin/openapi.json", method="GET")
    assert served.status == 200
    assert served.json() == admin_openapi()
    assert len(OPERATIONS) == 24  # 21 API operations and the dashboard's three files


@pytest.mark.parametrize(("label", "mode"), CASES)
def test_admin_operation(
    admin_server: MockServer, admin_schema: Any, label: str, mode: GenerationMode
) -> None:
    admin_server.reset()
    admin_server.configure(**DEFAULT_SETTINGS)
    operation = admin_schema.find_operation_by_label(label)
    assert operation is not None, label
    checks = POSITIVE_CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS

    @settings(
        max_examples=(LONG_EXAMPLES if LONG else EXAMPLES)[mode],
        derandomize=not LONG,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(mode))
    def conforms(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(base_url=admin_server.url, checks=checks)

    conforms()
