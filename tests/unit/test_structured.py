"""JSON written within the output budget: a schema no value of which fits in the budget
is cut the same whatever the seed, so its text is written once, not once per choice."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from mockserver.engines.jsonschema_gen import generate_value, least_json
from mockserver.engines.structured import MAX_TOKEN_CHARS, json_within
from mockserver.tokens import counting as tokens

HUGE_ARRAY: dict[str, Any] = {
    "type": "object",
    "properties": {"a": {"type": "array", "items": {"type": "integer"}, "minItems": 10**9}},
    "required": ["a"],
}
HUGE_STRING: dict[str, Any] = {"type": "string", "minLength": 10**8}

# Schemas with minimums: the floor is what they demand, never more than a value holds.
FLOORED: dict[str, dict[str, Any]] = {
    "string": {"type": "string", "minLength": 5},
    "array of integers": {"type": "array", "items": {"type": "integer"}, "minItems": 7},
    "prefix items": {
        "type": "array",
        "prefixItems": [{"type": "string", "minLength": 3}, {"type": "boolean"}],
        "items": {"type": "null"},
        "minItems": 4,
    },
    "required properties": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 2},
            "tags": {"type": "array", "items": {"type": "number"}, "minItems": 3},
        },
        "required": ["name", "tags"],
    },
    "a type union": {"type": ["string", "null"], "minLength": 50},
    "nested": {
        "type": "array",
        "items": {"type": "array", "items": {"type": "integer"}, "minItems": 2},
        "minItems": 3,
    },
}


def scalars(value: Any) -> int:
    if isinstance(value, dict):
        return sum(scalars(v) for v in value.values())
    if isinstance(value, list):
        return sum(scalars(v) for v in value)
    return 0 if isinstance(value, str) else 1


@pytest.mark.parametrize("schema", FLOORED.values(), ids=FLOORED.keys())
def test_the_floor_is_never_more_than_a_valid_value_holds(schema: dict[str, Any]) -> None:
    floor = least_json(schema)
    for seed in range(20):
        value = generate_value(schema, seed=seed)
        assert floor.chars <= len(orjson.dumps(value))
        assert floor.scalars <= scalars(value)


def test_the_floor_counts_what_the_minimums_demand() -> None:
    floor = least_json(FLOORED["required properties"])
    # {"name":"xx","tags":[0,0,0]}
    assert (floor.chars, floor.scalars) == (len('{"name":"xx","tags":[0,0,0]}'), 3)
    assert least_json(HUGE_ARRAY).scalars == 10**9


@pytest.mark.parametrize("schema", [{}, True, {"$ref": "#/$defs/x"}, {"minItems": 9}])
def test_a_schema_without_a_type_has_no_floor(schema: Any) -> None:
    assert least_json(schema).scalars == 0


@pytest.mark.parametrize("schema", [HUGE_ARRAY, HUGE_STRING], ids=["minItems", "minLength"])
def test_a_value_no_seed_fits_is_written_once_for_every_seed(schema: dict[str, Any]) -> None:
    first = json_within(schema, b"choice 0", 2000)
    again = json_within(schema, b"choice 1", 2000)
    assert again is first  # the same text, not written again
    assert tokens.count(first) > 2000
    assert len(first) <= (2000 + 1) * MAX_TOKEN_CHARS


def test_values_that_fit_still_differ_by_seed() -> None:
    schema = {"type": "array", "items": {"type": "integer"}, "minItems": 50, "maxItems": 60}
    texts = {json_within(schema, bytes([seed]), 2000) for seed in range(5)}
    assert len(texts) == 5
    for text in texts:
        assert 50 <= len(orjson.loads(text)) <= 60


def test_a_name_pattern_properties_may_cover_is_not_bounded_by_additional_properties() -> None:
    """`{"a": 1}` is valid: `^a$` covers the name, so `additionalProperties`' long string
    is no minimum of it (taken as one, the floor said more than a valid value holds)."""
    schema = {
        "type": "object",
        "required": ["a"],
        "patternProperties": {"^a$": {"type": "integer"}},
        "additionalProperties": {"type": "string", "minLength": 1000},
    }
    assert least_json(schema).chars <= len('{"a":1}')
