"""Strict mode: each violation, with the service's sentence and the context tuple it prints."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Literal

import pytest
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel, Field

from mockserver.contract.strict_schema import (
    StrictSchemaError,
    check_arrays_have_items,
    check_object_root,
    check_strict,
)

Schema = dict[str, Any]
CONTRACT = json.loads(
    (Path(__file__).resolve().parents[2] / "contracts" / "strict_schema.json").read_text("utf-8")
)
ADDITIONAL = "'additionalProperties' is required to be supplied and to be false."
REQUIRED = (
    "'required' is required to be supplied and to be an array including every key in properties."
)


def strict_object(properties: Schema, **extra: Any) -> Schema:
    """An object node that strict mode accepts: every key required, nothing extra."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
        **extra,
    }


def violation(schema: Schema) -> str:
    with pytest.raises(StrictSchemaError) as raised:
        check_strict(schema)
    return str(raised.value)


STRING = {"type": "string"}


# --- additionalProperties -------------------------------------------------------------


def test_a_valid_schema_passes() -> None:
    schema = strict_object(
        {
            "city": STRING,
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
            "when": {"type": ["string", "null"], "format": "date"},
            "tags": {"type": "array", "items": STRING, "minItems": 1, "maxItems": 3},
            "code": {"type": "string", "pattern": r"^[A-Z]{3}$"},
            "kind": {"const": "forecast"},
            "where": {"anyOf": [strict_object({"lat": {"type": "number"}}), {"type": "null"}]},
        }
    )
    check_strict(schema)


@pytest.mark.parametrize("value", ["absent", True, {"type": "string"}])
def test_root_needs_additional_properties_false(value: Any) -> None:
    schema: Schema = {"type": "object", "properties": {"a": STRING}, "required": ["a"]}
    if value != "absent":
        schema["additionalProperties"] = value
    assert violation(schema) == f"In context=(), {ADDITIONAL}"


def test_nested_object_needs_additional_properties_false() -> None:
    address = {"type": "object", "properties": {"city": STRING}, "required": ["city"]}
    schema = strict_object({"name": STRING, "address": address})
    assert violation(schema) == f"In context=('properties', 'address'), {ADDITIONAL}"


def test_array_item_object_needs_additional_properties_false() -> None:
    item = {"type": "object", "properties": {"sku": STRING}, "required": ["sku"]}
    schema = strict_object({"items": {"type": "array", "items": item}})
    assert violation(schema) == f"In context=('properties', 'items', 'items'), {ADDITIONAL}"


def test_deeply_nested_context_is_the_whole_path() -> None:
    inner = {"type": "object", "properties": {"x": STRING}, "required": ["x"]}
    schema = strict_object(
        {"a": strict_object({"b": {"type": "array", "items": strict_object({"c": inner})}})}
    )
    assert violation(schema) == (
        f"In context=('properties', 'a', 'properties', 'b', 'items', 'properties', 'c'), "
        f"{ADDITIONAL}"
    )


def test_first_violation_in_property_order_is_reported() -> None:
    loose = {"type": "object", "properties": {"x": STRING}, "required": ["x"]}
    schema = strict_object({"first": loose, "second": {"type": "string", "format": "uri"}})
    assert violation(schema).startswith("In context=('properties', 'first'), ")
    schema = strict_object({"second": {"type": "string", "format": "uri"}, "first": loose})
    assert violation(schema) == "In context=('properties', 'second'), 'uri' is not a valid format."


# --- required -------------------------------------------------------------------------


def test_required_missing_a_property() -> None:
    schema = {
        "type": "object",
        "properties": {"a": STRING, "b": STRING},
        "required": ["a"],
        "additionalProperties": False,
    }
    assert violation(schema) == f"In context=(), {REQUIRED} Missing 'b'."


def test_required_naming_an_extra_key() -> None:
    schema = {
        "type": "object",
        "properties": {"a": STRING},
        "required": ["a", "z"],
        "additionalProperties": False,
    }
    assert violation(schema) == f"In context=(), {REQUIRED} Extra required key 'z' supplied."


def test_required_absent_entirely() -> None:
    schema = {
        "type": "object",
        "properties": {"a": STRING, "b": STRING},
        "additionalProperties": False,
    }
    assert violation(schema) == f"In context=(), {REQUIRED} Missing 'a'."


def test_required_missing_in_a_nested_object() -> None:
    inner = {
        "type": "object",
        "properties": {"street": STRING, "zip": STRING},
        "required": ["street"],
        "additionalProperties": False,
    }
    schema = strict_object({"address": inner})
    assert violation(schema) == f"In context=('properties', 'address'), {REQUIRED} Missing 'zip'."


# --- unsupported keywords and formats --------------------------------------------------

KEYWORD_EXAMPLES: dict[str, Schema] = {
    "minLength": {"type": "string", "minLength": 1},
    "maxLength": {"type": "string", "maxLength": 9},
    "patternProperties": strict_object({}, patternProperties={"^x": STRING}),
    "unevaluatedProperties": strict_object({}, unevaluatedProperties=False),
    "propertyNames": strict_object({}, propertyNames={"pattern": "^[a-z]+$"}),
    "minProperties": strict_object({}, minProperties=0),
    "maxProperties": strict_object({}, maxProperties=3),
    "unevaluatedItems": {"type": "array", "items": STRING, "unevaluatedItems": False},
    "contains": {"type": "array", "items": STRING, "contains": {"const": "a"}},
    "minContains": {"type": "array", "items": STRING, "minContains": 1},
    "maxContains": {"type": "array", "items": STRING, "maxContains": 2},
    "uniqueItems": {"type": "array", "items": STRING, "uniqueItems": True},
    "allOf": {"type": "object", "allOf": [strict_object({"a": STRING})]},
    "oneOf": {"type": "string", "oneOf": [{"type": "string"}, {"type": "null"}]},
    "not": {"type": "string", "not": {"const": "x"}},
    "if": {"type": "string", "if": {"const": "a"}},
    "then": {"type": "string", "then": {"const": "a"}},
    "else": {"type": "string", "else": {"const": "a"}},
    "dependentRequired": strict_object({}, dependentRequired={"a": ["b"]}),
    "dependentSchemas": strict_object({}, dependentSchemas={"a": {"required": ["b"]}}),
}


def test_every_contract_keyword_has_an_example() -> None:
    assert set(CONTRACT["unsupported_keywords"]) == set(KEYWORD_EXAMPLES)
    assert {"minLength", "maxLength", "allOf", "not", "uniqueItems"} <= set(KEYWORD_EXAMPLES)


@pytest.mark.parametrize("keyword", CONTRACT["unsupported_keywords"])
def test_unsupported_keyword_is_not_permitted(keyword: str) -> None:
    node = KEYWORD_EXAMPLES[keyword]
    assert keyword in node
    schema = strict_object({"x": node})
    assert violation(schema) == f"In context=('properties', 'x'), '{keyword}' is not permitted."


@pytest.mark.parametrize("keyword", ["minLength", "allOf", "uniqueItems"])
def test_unsupported_keyword_at_the_root(keyword: str) -> None:
    schema = strict_object({"a": STRING}, **{keyword: KEYWORD_EXAMPLES[keyword][keyword]})
    assert violation(schema) == f"In context=(), '{keyword}' is not permitted."


@pytest.mark.parametrize("fmt", ["uri", "url", "regex", "idn-email", "iri"])
def test_unsupported_format(fmt: str) -> None:
    schema = strict_object({"x": {"type": "string", "format": fmt}})
    assert violation(schema) == f"In context=('properties', 'x'), '{fmt}' is not a valid format."


@pytest.mark.parametrize("fmt", CONTRACT["supported_formats"])
def test_supported_format_passes(fmt: str) -> None:
    check_strict(strict_object({"x": {"type": "string", "format": fmt}}))


def test_supported_formats_are_the_documented_nine() -> None:
    assert set(CONTRACT["supported_formats"]) == {
        "date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid",
    }  # fmt: skip


@pytest.mark.parametrize(
    "node",
    [{"description": "no type"}, {}, {"items": STRING}, {"properties": {}}],
    ids=["description-only", "empty", "items-only", "properties-only"],
)
def test_node_without_type(node: Schema) -> None:
    schema = strict_object({"x": node})
    assert violation(schema) == "In context=('properties', 'x'), schema must have a 'type' key."


@pytest.mark.parametrize(
    "node",
    [
        {"$ref": "#/$defs/Thing"},
        {"anyOf": [STRING, {"type": "null"}]},
        {"enum": ["a", "b"]},
        {"const": "a"},
    ],
    ids=["ref", "anyOf", "enum", "const"],
)
def test_nodes_that_need_no_type(node: Schema) -> None:
    check_strict(strict_object({"x": node}, **{"$defs": {"Thing": STRING}}))


# --- $defs and anyOf ------------------------------------------------------------------


@pytest.mark.parametrize("section", ["$defs", "definitions"])
def test_definitions_are_checked_with_their_context(section: str) -> None:
    address = {"type": "object", "properties": {"city": STRING}, "required": ["city"]}
    schema = strict_object(
        {"address": {"$ref": f"#/{section}/Address"}}, **{section: {"Address": address}}
    )
    assert violation(schema) == f"In context=('{section}', 'Address'), {ADDITIONAL}"


def test_definition_context_continues_into_its_properties() -> None:
    schema = strict_object(
        {"line": {"$ref": "#/$defs/Line"}},
        **{"$defs": {"Line": strict_object({"qty": {"type": "integer", "format": "int32"}})}},
    )
    assert violation(schema) == (
        "In context=('$defs', 'Line', 'properties', 'qty'), 'int32' is not a valid format."
    )


def test_unused_definitions_are_checked_too() -> None:
    schema = strict_object(
        {"a": STRING}, **{"$defs": {"Unused": {"type": "string", "maxLength": 3}}}
    )
    assert violation(schema) == "In context=('$defs', 'Unused'), 'maxLength' is not permitted."


def test_any_of_branch_is_checked_with_its_index() -> None:
    loose = {"type": "object", "properties": {"a": STRING}, "required": ["a"]}
    schema = strict_object({"x": {"anyOf": [loose, {"type": "null"}]}})
    assert violation(schema) == f"In context=('properties', 'x', 'anyOf', '0'), {ADDITIONAL}"


def test_second_any_of_branch() -> None:
    schema = strict_object(
        {"x": {"anyOf": [{"type": "null"}, {"type": "string", "format": "uri"}]}}
    )
    assert violation(schema) == (
        "In context=('properties', 'x', 'anyOf', '1'), 'uri' is not a valid format."
    )


# --- size limits ----------------------------------------------------------------------


def nested_objects(levels: int) -> Schema:
    """`levels` objects, each the only property of the one above."""
    node = strict_object({"leaf": STRING})
    for _ in range(levels - 1):
        node = strict_object({"child": node})
    return node


def test_ten_levels_of_nesting_pass() -> None:
    assert CONTRACT["max_nesting_depth"] == 10
    check_strict(nested_objects(10))


def test_eleven_levels_of_nesting_fail() -> None:
    with pytest.raises(StrictSchemaError, match=r"nesting depth of 10\b"):
        check_strict(nested_objects(11))


def many_properties(count: int, prefix: str = "p") -> Schema:
    return strict_object({f"{prefix}{i}": STRING for i in range(count)})


def test_five_thousand_properties_pass() -> None:
    assert CONTRACT["max_object_properties"] == 5000
    check_strict(many_properties(5000))


def test_more_than_five_thousand_properties_fail() -> None:
    with pytest.raises(StrictSchemaError, match=r"5001 object properties.*5000"):
        check_strict(many_properties(5001))


def test_property_limit_counts_every_object() -> None:
    schema = strict_object({"a": many_properties(2500, "a"), "b": many_properties(2500, "b")})
    with pytest.raises(StrictSchemaError, match=r"5002 object properties"):
        check_strict(schema)


def enum_schema(*sizes: int) -> Schema:
    return strict_object(
        {
            f"e{n}": {"type": "string", "enum": [f"v{i}" for i in range(size)]}
            for n, size in enumerate(sizes)
        }
    )


def test_a_thousand_enum_values_pass() -> None:
    assert CONTRACT["max_enum_values"] == 1000
    check_strict(enum_schema(1000))
    check_strict(enum_schema(600, 400))


@pytest.mark.parametrize("sizes", [(1001,), (600, 401)], ids=["one-enum", "two-enums"])
def test_more_than_a_thousand_enum_values_fail(sizes: tuple[int, ...]) -> None:
    with pytest.raises(StrictSchemaError, match=r"1001 enum values.*1000"):
        check_strict(enum_schema(*sizes))


def long_enum(total: int) -> Schema:
    """One property `e` whose enum values (and the name `e`) come to `total` characters."""
    values = [f"{i:03d}" + "x" * 997 for i in range((total - 1) // 1000)]
    rest = total - 1 - 1000 * len(values)
    if rest:
        values.append("y" * rest)
    schema = strict_object({"e": {"type": "string", "enum": values}})
    assert sum(map(len, values)) + len("e") == total
    return schema


def test_string_length_at_the_limit_passes() -> None:
    assert CONTRACT["max_total_string_length"] == 120000
    check_strict(long_enum(120_000))


def test_string_length_over_the_limit_fails() -> None:
    with pytest.raises(StrictSchemaError, match=r"120001.*120000"):
        check_strict(long_enum(120_001))


def test_const_values_count_toward_string_length() -> None:
    schema = long_enum(119_990)
    schema["properties"]["c"] = {"type": "string", "const": "z" * 10}
    schema["required"].append("c")
    with pytest.raises(StrictSchemaError, match=r"120001"):
        check_strict(schema)  # 119,990 + "c" + 10 characters of const


def test_definition_names_count_toward_string_length() -> None:
    # The guide's limit (and the error sentence) counts definition names as well.
    schema = long_enum(119_995)
    schema["$defs"] = {"Extra": {"type": "string"}}  # 5 characters: 120,000 exactly
    check_strict(schema)
    schema["$defs"] = {"Extras": {"type": "string"}}  # 6 characters: 120,001
    with pytest.raises(StrictSchemaError, match=r"120001"):
        check_strict(schema)


# --- the checks outside strict mode -----------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "shown"),
    [
        ({"type": "array", "items": STRING}, "array"),
        ({"type": "string"}, "string"),
        ({}, "None"),
        ({"properties": {"a": STRING}}, "None"),
        (None, "None"),
        ([], "None"),
    ],
    ids=["array", "string", "empty", "no-type", "null", "list"],
)
def test_root_must_be_an_object(schema: Any, shown: str) -> None:
    with pytest.raises(StrictSchemaError) as raised:
        check_object_root(schema)
    assert str(raised.value) == (
        f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{shown}\"'."
    )


def test_object_root_passes() -> None:
    check_object_root({"type": "object"})
    check_object_root({"type": "object", "properties": {}})


def test_array_root_message_exactly() -> None:
    with pytest.raises(StrictSchemaError) as raised:
        check_object_root({"type": "array"})
    assert str(raised.value) == (
        "schema must be a JSON Schema of 'type: \"object\"', got 'type: \"array\"'."
    )


@pytest.mark.parametrize(
    ("schema", "context"),
    [
        ({"type": "object", "properties": {"tags": {"type": "array"}}}, "('properties', 'tags')"),
        (
            {
                "type": "object",
                "properties": {
                    "rows": {"type": "array", "items": {"type": "array"}},
                },
            },
            "('properties', 'rows', 'items')",
        ),
        (
            {
                "type": "object",
                "properties": {"x": {"anyOf": [{"type": "null"}, {"type": "array"}]}},
            },
            "('properties', 'x', 'anyOf', '1')",
        ),
        (
            {
                "type": "object",
                "properties": {
                    "a": {"type": "object", "properties": {"b": {"type": "array"}}},
                },
            },
            "('properties', 'a', 'properties', 'b')",
        ),
        ({"type": "array"}, "()"),
    ],
    ids=["property", "nested-items", "anyOf", "deep", "root"],
)
def test_array_without_items_is_found(schema: Schema, context: str) -> None:
    with pytest.raises(StrictSchemaError) as raised:
        check_arrays_have_items(schema)
    assert str(raised.value) == f"In context={context}, array schema missing items."


def test_arrays_with_items_pass() -> None:
    check_arrays_have_items(
        {
            "type": "object",
            "properties": {
                "tags": {"type": "array", "items": STRING},
                "grid": {"type": "array", "items": {"type": "array", "items": STRING}},
            },
        }
    )


# --- what the openai SDK sends ----------------------------------------------------------


class LineItem(BaseModel):
    description: str
    quantity: int = Field(ge=1)
    unit_price: float
    unit: Literal["each", "hour", "kg"]


class Address(BaseModel):
    street: str
    city: str
    postal_code: str = Field(pattern=r"^\d{5}(-\d{4})?$")


class Invoice(BaseModel):
    invoice_number: str
    issue_date: dt.date
    issued_at: dt.datetime
    status: Literal["draft", "sent", "paid"]
    billing_address: Address
    shipping_address: Address | None = None
    line_items: list[LineItem]
    notes: str | None = None


def test_openai_strict_schema_for_a_pydantic_model_passes() -> None:
    schema = to_strict_json_schema(Invoice)
    check_object_root(schema)
    check_arrays_have_items(schema)
    check_strict(schema)


def test_plain_pydantic_schema_is_not_strict() -> None:
    # Without the SDK's rewrite, objects lack additionalProperties: the first violation.
    schema = Invoice.model_json_schema()
    assert violation(schema) == f"In context=(), {ADDITIONAL}"
