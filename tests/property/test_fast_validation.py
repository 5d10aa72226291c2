"""The compiled validator that decides first is never more lenient than the walker.

`SchemaChecker.check` skips the walker when jsonschema-rs accepts a value; that is only
sound if every value the validator accepts is one the walker accepts too. Hypothesis
draws bodies near the real parameters, arbitrary JSON and valid requests, and holds
each request document (both api-version families, and the Responses API's top level)
to it.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from mockserver.contract.errors import AzureError
from mockserver.contract.request import checker_for
from mockserver.contract.schema_check import SchemaChecker
from mockserver.operations.responses.request import REQUEST_TYPES
from tests.property.test_server_fuzz import biased_bodies, json_values
from tests.strategies import chat_requests

CHECKERS = {
    "2025-04-01-preview": checker_for("2025-04-01-preview"),
    "2024-10-21": checker_for("2024-10-21"),
    "responses": REQUEST_TYPES,
}
MANY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_no_more_lenient(checker: SchemaChecker, value: Any) -> None:
    if not checker.accepts(value):
        return
    try:
        checker.walk(value)
    except AzureError as error:
        pytest.fail(f"the validator accepted what the walker refuses: {error.body!r}")


@pytest.mark.parametrize("family", sorted(CHECKERS))
@MANY
@given(body=biased_bodies | json_values)
def test_accepted_bodies_pass_the_walker(family: str, body: Any) -> None:
    assert_no_more_lenient(CHECKERS[family], body)


@MANY
@given(body=chat_requests())
def test_valid_requests_take_the_fast_path(body: dict[str, Any]) -> None:
    checker = CHECKERS["2025-04-01-preview"]
    checker.walk(body)  # a valid request: the walker accepts it...
    assert checker.accepts(body)  # ...and so does the validator, so it costs no walk


def test_a_refused_value_is_reported_by_the_walker() -> None:
    checker = CHECKERS["2025-04-01-preview"]
    body = {"messages": [{"role": "user", "content": 7}]}
    assert not checker.accepts(body)
    with pytest.raises(AzureError) as caught:
        checker.check(body)
    assert b"messages[0].content" in caught.value.body


def test_a_document_the_validator_cannot_compile_goes_to_the_walker() -> None:
    checker = SchemaChecker({"type": "object", "properties": {"n": {"$ref": "#/$defs/nowhere"}}})
    assert not checker.accepts({"n": 1})
    checker.check({})  # the walker alone still decides
