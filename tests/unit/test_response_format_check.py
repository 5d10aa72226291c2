"""`check_response_format` (contract/tools.py): a malformed format is a 400, never a 500.

The schema check refuses these shapes first on the current documents; this module holds
the later check to the same answer for a document that lets one through.
"""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.contract.errors import AzureError
from mockserver.contract.tools import check_response_format

MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("response_format", "param"),
    [
        ({"type": "json_schema"}, "response_format.json_schema"),
        ({"type": "json_schema", "json_schema": None}, "response_format.json_schema"),
        ({"type": "json_schema", "json_schema": "x"}, "response_format.json_schema"),
        ({"type": "json_schema", "json_schema": {}}, "response_format.json_schema.name"),
        ({"type": "json_schema", "json_schema": {"name": 3}}, "response_format.json_schema.name"),
    ],
)
def test_missing_json_schema_parts_are_missing_parameters(
    response_format: dict[str, Any], param: str
) -> None:
    with pytest.raises(AzureError) as caught:
        check_response_format(response_format, MESSAGES)
    error = caught.value.payload()["error"]
    assert caught.value.status == 400
    assert error["message"] == f"Missing required parameter: '{param}'."
    assert error["param"] == param
    assert error["code"] == "missing_required_parameter"


def test_json_schema_without_a_schema_is_an_invalid_schema() -> None:
    # 2024-10-21's document does not require `schema`: what is absent is no object schema.
    with pytest.raises(AzureError) as caught:
        check_response_format({"type": "json_schema", "json_schema": {"name": "n"}}, MESSAGES)
    error = caught.value.payload()["error"]
    assert caught.value.status == 400
    assert error["message"] == (
        "Invalid schema for response_format 'n': schema must be a JSON Schema of "
        "'type: \"object\"', got 'type: \"None\"'."
    )
    assert error["param"] == "response_format"
    assert error["code"] == "invalid_json_schema"
