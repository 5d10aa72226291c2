"""The schema walker: the first violation, worded and coded as the service does."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.contract.errors import AzureError
from mockserver.contract.schema_check import SchemaChecker, render_path

MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "messages": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/message"}},
        "n": {"type": ["integer", "null"], "minimum": 1, "maximum": 128},
        "ratio": {"type": ["number", "null"], "minimum": -2, "maximum": 2},
        "stop": {"type": "array", "maxItems": 4, "items": {"type": "string"}},
        "user": {"type": "string", "maxLength": 8, "minLength": 2},
    },
    "required": ["messages"],
    "additionalProperties": False,
    "$defs": {
        "content": {
            "oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"$ref": "#/$defs/part"}, "minItems": 1},
            ]
        },
        "part": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["text"]},
                "text": {"type": "string"},
            },
            "required": ["type", "text"],
        },
        "message": {"oneOf": [{"$ref": "#/$defs/a"}, {"$ref": "#/$defs/b"}, {"$ref": "#/$defs/c"}]},
        "a": {
            "type": "object",
            "properties": {
                "role": {"type": "string", "enum": ["a"]},
                "content": {"$ref": "#/$defs/content"},
            },
            "required": ["role", "content"],
        },
        "b": {
            "type": "object",
            "properties": {
                "role": {"type": "string", "enum": ["b"]},
                "content": {"$ref": "#/$defs/content"},
            },
            "required": ["role"],
        },
        "c": {
            "type": "object",
            "properties": {"role": {"type": "string", "enum": ["c"]}},
            "required": ["role"],
        },
    },
}


def _error(value: Any, schema: dict[str, Any] = MESSAGE_SCHEMA) -> dict[str, Any]:
    with pytest.raises(AzureError) as caught:
        SchemaChecker(schema).check(value)
    assert caught.value.status == 400
    payload: dict[str, Any] = caught.value.payload()
    assert set(payload) == {"error"}
    assert list(payload["error"]) == ["message", "type", "param", "code"]
    error: dict[str, Any] = payload["error"]
    assert error["type"] == "invalid_request_error"
    return error


def _ok(text: str = "hi") -> dict[str, Any]:
    return {"role": "a", "content": text}


# --- paths ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        (("messages", 0, "content"), "messages[0].content"),
        (("messages",), "messages"),
        ((), ""),
        (("messages", 12, "content", 3, "text"), "messages[12].content[3].text"),
        (("tools", 0, "function", "parameters"), "tools[0].function.parameters"),
    ],
)
def test_render_path(path: tuple[str | int, ...], rendered: str) -> None:
    assert render_path(path) == rendered


def test_valid_value_passes() -> None:
    body = {
        "messages": [
            _ok(),
            {"role": "b", "content": [{"type": "text", "text": "x"}]},
            {"role": "c"},
        ],
        "n": 3,
        "ratio": 1.5,
        "stop": ["a", "b", "c", "d"],
        "user": "ab",
    }
    SchemaChecker(MESSAGE_SCHEMA).check(body)


def test_nulls_are_accepted_where_the_type_allows_them() -> None:
    SchemaChecker(MESSAGE_SCHEMA).check({"messages": [_ok()], "n": None, "ratio": None})


# --- types and unions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "got"),
    [(5, "an integer"), (1.5, "a decimal"), (True, "a boolean"), ({"x": 1}, "an object")],
)
def test_string_or_array_union_is_worded_as_one_of(content: Any, got: str) -> None:
    error = _error({"messages": [{"role": "a", "content": content}]})
    assert error["message"] == (
        "Invalid type for 'messages[0].content': expected one of a string or array of "
        f"objects, but got {got} instead."
    )
    assert error["param"] == "messages[0].content"
    assert error["code"] == "invalid_type"


def test_plain_type_mismatch_names_the_expected_kind() -> None:
    error = _error({"messages": [_ok()], "user": 7})
    assert error["message"] == (
        "Invalid type for 'user': expected a string, but got an integer instead."
    )
    assert error["code"] == "invalid_type"


def test_array_of_strings_is_worded_with_its_items() -> None:
    error = _error({"messages": [_ok()], "stop": "x"})
    assert error["message"] == (
        "Invalid type for 'stop': expected an array of strings, but got a string instead."
    )


def test_item_type_inside_an_array_reports_its_index() -> None:
    error = _error({"messages": [_ok()], "stop": ["a", 3]})
    assert error["param"] == "stop[1]"
    assert error["code"] == "invalid_type"


# --- discriminated unions ---------------------------------------------------------------


def test_unknown_role_is_an_invalid_value_listing_the_supported_roles() -> None:
    error = _error({"messages": [_ok(), {"role": "z", "content": "hi"}]})
    assert error["message"] == "Invalid value: 'z'. Supported values are: 'a', 'b', and 'c'."
    assert error["param"] == "messages[1].role"
    assert error["code"] == "invalid_value"


def test_missing_role_is_a_missing_required_parameter() -> None:
    error = _error({"messages": [{"content": "hi"}]})
    assert error["message"] == "Missing required parameter: 'messages[0].role'."
    assert error["param"] == "messages[0].role"
    assert error["code"] == "missing_required_parameter"


def test_non_string_role_is_an_invalid_type() -> None:
    error = _error({"messages": [{"role": 3, "content": "hi"}]})
    assert error["param"] == "messages[0].role"
    assert error["code"] == "invalid_type"
    assert error["message"] == (
        "Invalid type for 'messages[0].role': expected a string, but got an integer instead."
    )


def test_branch_chosen_by_role_reports_its_own_missing_field() -> None:
    error = _error({"messages": [{"role": "a"}]})
    assert error["param"] == "messages[0].content"
    assert error["code"] == "missing_required_parameter"


def test_two_supported_values_are_joined_with_and() -> None:
    schema = {
        "type": "object",
        "properties": {"kind": {"type": "string", "enum": ["x", "y"]}},
    }
    error = _error({"kind": "q"}, schema)
    assert error["message"] == "Invalid value: 'q'. Supported values are: 'x' and 'y'."
    assert error["param"] == "kind"
    assert error["code"] == "invalid_value"


def _tagged(tag: str, **properties: Any) -> dict[str, Any]:
    """An object branch pinned by `type` to `tag`, every listed property required."""
    return {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": [tag]}, **properties},
        "required": ["type", *properties],
    }


# Shaped as the contracts shape `response_format`: a union of tagged objects, or null.
FORMAT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "response_format": {
            "anyOf": [
                {
                    "oneOf": [
                        _tagged("text"),
                        _tagged("json_object"),
                        _tagged("json_schema", json_schema={"type": "object"}),
                    ]
                },
                {"type": "null"},
            ]
        },
        "parts": {"type": "array", "items": {"oneOf": [_tagged("text", text={"type": "string"})]}},
        "content": {
            "type": "array",
            "items": {"oneOf": [_tagged("text"), _tagged("image_url"), _tagged("input_audio")]},
        },
    },
}


def test_unknown_response_format_type_lists_every_branchs_tag_sorted() -> None:
    error = _error({"response_format": {"type": "xml"}}, FORMAT_SCHEMA)
    assert error["message"] == (
        "Invalid value: 'xml'. Supported values are: 'json_object', 'json_schema', and 'text'."
    )
    assert error["param"] == "response_format.type"
    assert error["code"] == "invalid_value"


def test_other_unknown_tags_are_listed_in_the_contracts_order() -> None:
    error = _error({"content": [{"type": "image"}]}, FORMAT_SCHEMA)
    assert error["message"] == (
        "Invalid value: 'image'. Supported values are: 'text', 'image_url', and 'input_audio'."
    )
    assert error["param"] == "content[0].type"


def test_tag_in_a_nullable_union_picks_its_branch_for_the_missing_field() -> None:
    error = _error({"response_format": {"type": "json_schema"}}, FORMAT_SCHEMA)
    assert error["message"] == "Missing required parameter: 'response_format.json_schema'."
    assert error["param"] == "response_format.json_schema"
    assert error["code"] == "missing_required_parameter"


def test_null_still_fits_a_nullable_tagged_union() -> None:
    SchemaChecker(FORMAT_SCHEMA).walk({"response_format": None})


def test_untagged_object_in_a_nullable_union_misses_its_tag() -> None:
    error = _error({"response_format": {}}, FORMAT_SCHEMA)
    assert error["param"] == "response_format.type"
    assert error["code"] == "missing_required_parameter"


def test_single_tagged_branch_reports_a_foreign_tag_not_its_fields() -> None:
    error = _error({"parts": [{"type": "image_url", "image_url": {}}]}, FORMAT_SCHEMA)
    assert error["message"] == "Invalid value: 'image_url'. Supported values are: 'text'."
    assert error["param"] == "parts[0].type"
    assert error["code"] == "invalid_value"


# --- objects ----------------------------------------------------------------------------


def test_additional_properties_false_reports_the_unknown_parameter() -> None:
    error = _error({"messages": [_ok()], "temperatur": 1})
    assert error["message"] == "Unknown parameter: 'temperatur'."
    assert error["param"] == "temperatur"
    assert error["code"] == "unknown_parameter"


def test_unknown_nested_parameter_has_the_full_path() -> None:
    schema = {
        "type": "object",
        "properties": {
            "options": {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "additionalProperties": False,
            }
        },
    }
    error = _error({"options": {"a": "x", "b": 1}}, schema)
    assert error["message"] == "Unknown parameter: 'options.b'."
    assert error["param"] == "options.b"
    assert error["code"] == "unknown_parameter"


def test_missing_top_level_required_parameter() -> None:
    error = _error({})
    assert error["message"] == "Missing required parameter: 'messages'."
    assert error["param"] == "messages"
    assert error["code"] == "missing_required_parameter"


# --- numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "code", "message"),
    [
        (
            "n",
            0,
            "integer_below_min_value",
            "Invalid 'n': integer below minimum value. Expected a value >= 1, but got 0 instead.",
        ),
        (
            "n",
            129,
            "integer_above_max_value",
            "Invalid 'n': integer above maximum value. Expected a value <= 128, "
            "but got 129 instead.",
        ),
        (
            "ratio",
            -2.5,
            "decimal_below_min_value",
            "Invalid 'ratio': decimal below minimum value. Expected a value >= -2, "
            "but got -2.5 instead.",
        ),
        (
            "ratio",
            2.25,
            "decimal_above_max_value",
            "Invalid 'ratio': decimal above maximum value. Expected a value <= 2, "
            "but got 2.25 instead.",
        ),
    ],
)
def test_numeric_bounds(field: str, value: float, code: str, message: str) -> None:
    error = _error({"messages": [_ok()], field: value})
    assert error["code"] == code
    assert error["param"] == field
    assert error["message"] == message


@pytest.mark.parametrize(("field", "value"), [("n", 1), ("n", 128), ("ratio", -2), ("ratio", 2.0)])
def test_numeric_bounds_are_inclusive(field: str, value: float) -> None:
    SchemaChecker(MESSAGE_SCHEMA).check({"messages": [_ok()], field: value})


def test_booleans_are_not_numbers() -> None:
    error = _error({"messages": [_ok()], "n": True})
    assert error["code"] == "invalid_type"
    assert error["message"] == (
        "Invalid type for 'n': expected an integer, but got a boolean instead."
    )


# --- arrays and strings -----------------------------------------------------------------


def test_empty_array_below_min_items() -> None:
    error = _error({"messages": []})
    assert error["code"] == "empty_array"
    assert error["param"] == "messages"
    assert error["message"] == (
        "Invalid 'messages': empty array. Expected an array with minimum length 1, "
        "but got an empty array instead."
    )


def test_nested_empty_array_reports_its_path() -> None:
    error = _error({"messages": [{"role": "b", "content": []}]})
    assert error["code"] == "empty_array"
    assert error["param"] == "messages[0].content"


def test_array_above_max_items() -> None:
    error = _error({"messages": [_ok()], "stop": ["a", "b", "c", "d", "e"]})
    assert error["code"] == "array_above_max_length"
    assert error["param"] == "stop"
    assert error["message"] == (
        "Invalid 'stop': array too long. Expected an array with maximum length 4, "
        "but got an array with length 5 instead."
    )


def test_array_below_min_items_but_not_empty() -> None:
    schema = {"type": "object", "properties": {"xs": {"type": "array", "minItems": 2}}}
    error = _error({"xs": [1]}, schema)
    assert error["code"] == "array_below_min_length"
    assert error["message"] == (
        "Invalid 'xs': array too short. Expected an array with minimum length 2, "
        "but got an array with length 1 instead."
    )


def test_string_above_max_length() -> None:
    error = _error({"messages": [_ok()], "user": "abcdefghi"})
    assert error["code"] == "string_above_max_length"
    assert error["param"] == "user"
    assert error["message"] == (
        "Invalid 'user': string too long. Expected a string with maximum length 8, "
        "but got a string with length 9 instead."
    )


def test_string_below_min_length() -> None:
    error = _error({"messages": [_ok()], "user": "a"})
    assert error["code"] == "string_below_min_length"
    assert error["param"] == "user"


def test_empty_string_below_min_length_is_empty_string() -> None:
    error = _error({"messages": [_ok()], "user": ""})
    assert error["code"] == "empty_string"


def test_first_violation_wins() -> None:
    error = _error({"messages": [{"role": "z"}, {"role": "a", "content": 1}], "n": 0})
    assert error["param"] == "messages[0].role"


def test_enum_violation_on_a_plain_property() -> None:
    schema = {
        "type": "object",
        "properties": {"effort": {"type": "string", "enum": ["low", "medium", "high"]}},
    }
    error = _error({"effort": "max"}, schema)
    assert error["message"] == (
        "Invalid value: 'max'. Supported values are: 'low', 'medium', and 'high'."
    )
    assert error["code"] == "invalid_value"
    assert error["param"] == "effort"
