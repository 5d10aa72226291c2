"""`generate_value`: every value checked by an independent validator, seeded and repeatable.

Values are validated with the Python `jsonschema` package (Draft 2020-12, formats asserted),
not with the jsonschema-rs validator the module checks itself with. `jsonschema` leaves
`date-time`, `time`, `uri` and `hostname` unchecked without optional packages, so the
checker below adds strict RFC 3339 / RFC 3986 / RFC 1123 checks for those four.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any, Literal

import jsonschema_rs
import pytest
from faker.providers.address.en_US import Provider as AddressProvider
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from pydantic import BaseModel, Field

from mockserver.engines.jsonschema_gen import (
    UnsatisfiableSchemaError,
    echo_kind,
    generate_json,
    generate_value,
    provider_for,
)
from mockserver.support.regexes import linear_regex
from tests.contract.real_traffic import azure_dir, load_yaml
from tests.support.testdata import OPENAI_TRAFFIC

Schema = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]

# --- the independent validator ---------------------------------------------------------

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def _build_format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)

    @checker.checks("date-time", raises=ValueError)
    def _date_time(instance: object) -> bool:
        if not isinstance(instance, str):
            return True
        if not _DATE_TIME.match(instance):
            return False
        dt.datetime.fromisoformat(instance.upper().replace("Z", "+00:00"))
        return True

    @checker.checks("time", raises=ValueError)
    def _time(instance: object) -> bool:
        if not isinstance(instance, str):
            return True
        if not _TIME.match(instance):
            return False
        dt.time.fromisoformat(instance.upper().replace("Z", "+00:00"))
        return True

    @checker.checks("uri")
    def _uri(instance: object) -> bool:
        return not isinstance(instance, str) or bool(_URI.match(instance))

    @checker.checks("hostname")
    def _hostname(instance: object) -> bool:
        if not isinstance(instance, str):
            return True
        labels = instance.rstrip(".").split(".")
        return len(instance) <= 253 and all(_LABEL.match(label) for label in labels)

    return checker


FORMAT_CHECKER = _build_format_checker()


def assert_valid(schema: Schema | bool, value: Any) -> None:
    validator = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    errors = list(validator.iter_errors(value))
    assert not errors, (
        f"value {json.dumps(value)[:500]} does not validate: "
        f"{errors[0].message[:300]} at {list(errors[0].absolute_path)}"
    )


def as_json(value: Any) -> str:
    """The value as the wire would carry it: key order and int-vs-float kept."""
    return json.dumps(value, ensure_ascii=False)


@pytest.mark.parametrize(
    ("fmt", "bad"),
    [
        ("date-time", "2024-13-01T00:00:00Z"),
        ("date-time", "2024-01-01 00:00:00"),
        ("time", "25:00:00Z"),
        ("time", "12:00:00"),
        ("date", "2024-02-30"),
        ("uri", "not a uri"),
        ("hostname", "-bad-.example.com"),
        ("email", "no-at-sign"),
        ("uuid", "1234"),
        ("ipv4", "256.1.1.1"),
        ("ipv6", "12345::"),
    ],
)
def test_the_oracle_rejects_bad_formats(fmt: str, bad: str) -> None:
    with pytest.raises(AssertionError):
        assert_valid({"type": "string", "format": fmt}, bad)


# --- the strategy: JSON Schemas from the supported subset, satisfiable by construction ----

NAMES = (
    "city", "email", "name", "phone", "country", "url", "age", "price", "title",
    "description", "id", "quantity", "status", "notes", "tags", "code", "label", "score",
)  # fmt: skip
PATTERNS = (
    r"^[A-Z]{3}-\d{4}$",
    r"^\d{5}(-\d{4})?$",
    r"^[a-z]+(_[a-z]+)*$",
    r"^#[0-9a-f]{6}$",
    r"^[A-Z][a-z]{2,9}$",
    r"^\+?[0-9]{7,12}$",
)
FORMATS = ("date", "date-time", "time", "email", "uri", "uuid", "ipv4", "ipv6", "hostname")
STEPS: tuple[float | int | None, ...] = (None, None, 1, 2, 3, 5, 10, 0.5, 0.25)
WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
SEEDS = st.one_of(st.integers(), st.text(max_size=10), st.binary(max_size=10))
Children = st.SearchStrategy[Schema]


@st.composite
def string_schemas(draw: st.DrawFn) -> Schema:
    kind = draw(st.sampled_from(["plain", "length", "enum", "const", "pattern", "format"]))
    if kind == "length":
        low = draw(st.integers(0, 12))
        high = draw(st.integers(max(low, 1), low + 20))
        bounds = draw(st.sampled_from([("minLength",), ("maxLength",), ("minLength", "maxLength")]))
        values = {"minLength": low, "maxLength": high}
        return {"type": "string", **{key: values[key] for key in bounds}}
    if kind == "enum":
        return {
            "type": "string",
            "enum": draw(st.lists(WORDS, min_size=1, max_size=5, unique=True)),
        }
    if kind == "const":
        const = draw(WORDS)
        return draw(st.sampled_from([{"const": const}, {"type": "string", "const": const}]))
    if kind == "pattern":
        return {"type": "string", "pattern": draw(st.sampled_from(PATTERNS))}
    if kind == "format":
        return {"type": "string", "format": draw(st.sampled_from(FORMATS))}
    return {"type": "string"}


@st.composite
def number_schemas(draw: st.DrawFn, integer: bool | None = None) -> Schema:
    if integer is None:
        integer = draw(st.booleans())
    schema: Schema = {"type": "integer" if integer else "number"}
    step = draw(st.sampled_from(STEPS))
    if step is not None:
        schema["multipleOf"] = step
    shape = draw(st.sampled_from(["none", "min", "max", "both", "exclusive", "mixed"]))
    if shape == "none":
        return schema
    # Integer schemas get integer bounds; numbers may get halves (0.5 is exact in binary).
    low: float = draw(st.integers(-1000, 1000))
    if not integer and draw(st.booleans()):
        low += 0.5
    exclusive = shape in ("exclusive", "mixed")
    span: float = draw(st.integers(0, 300))
    if exclusive or step is not None:
        span += 2 * max(step or 1, 1) + 2  # room for a multiple strictly inside
    high = low + span
    if shape == "min":
        schema["minimum"] = low
    elif shape == "max":
        schema["maximum"] = high
    elif shape == "both":
        schema |= {"minimum": low, "maximum": high}
    elif shape == "exclusive":
        schema |= {"exclusiveMinimum": low, "exclusiveMaximum": high}
    else:
        schema |= draw(
            st.sampled_from(
                [
                    {"exclusiveMinimum": low, "maximum": high},
                    {"minimum": low, "exclusiveMaximum": high},
                ]
            )
        )
    return schema


@st.composite
def type_unions(draw: st.DrawFn) -> Schema:
    if draw(st.booleans()):
        base = draw(st.one_of(string_schemas(), number_schemas()))
        if "type" not in base or "const" in base or "enum" in base:
            return {"type": ["string", "null"]}
        return {**base, "type": [base["type"], "null"]}
    kinds = draw(
        st.lists(
            st.sampled_from(["string", "integer", "boolean", "null", "number"]),
            min_size=2,
            max_size=3,
            unique=True,
        )
    )
    return {"type": kinds}


LEAVES: st.SearchStrategy[Schema] = st.one_of(
    string_schemas(),
    number_schemas(),
    st.builds(lambda: {"type": "boolean"}),
    st.builds(lambda: {"type": "null"}),
    type_unions(),
)

# Item schemas with many distinct values, so `uniqueItems` can always be met.
UNIQUE_FRIENDLY: tuple[Schema, ...] = (
    {"type": "string"},
    {"type": "integer", "minimum": 0, "maximum": 1000},
    {"type": "string", "format": "uuid"},
    {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
    {"type": "string", "enum": ["red", "green", "blue", "cyan", "magenta", "yellow"]},
    {
        "type": "object",
        "properties": {"id": {"type": "integer", "minimum": 1, "maximum": 10000}},
        "required": ["id"],
    },
)


@st.composite
def object_schemas(draw: st.DrawFn, children: Children) -> Schema:
    names = draw(st.lists(st.sampled_from(NAMES), max_size=4, unique=True))
    schema: Schema = {"type": "object", "properties": {name: draw(children) for name in names}}
    required = [name for name in names if draw(st.booleans())]
    if bool(required) or draw(st.booleans()):
        schema["required"] = required
    extra = draw(st.sampled_from(["absent", "false", "true", "schema"]))
    if extra == "false":
        schema["additionalProperties"] = False
    elif extra == "true":
        schema["additionalProperties"] = True
    elif extra == "schema":
        schema["additionalProperties"] = draw(LEAVES)
    most = len(names) if extra == "false" else len(names) + 3
    low = 0
    if draw(st.booleans()):
        low = draw(st.integers(0, most))
        schema["minProperties"] = low
    if draw(st.booleans()):
        schema["maxProperties"] = draw(st.integers(max(low, len(required)), most + 2))
    return schema


@st.composite
def array_schemas(draw: st.DrawFn, children: Children) -> Schema:
    low = draw(st.integers(0, 3))
    high = draw(st.integers(max(low, 1), low + 3))
    if draw(st.integers(0, 3)) == 0:
        item = copy.deepcopy(draw(st.sampled_from(UNIQUE_FRIENDLY)))
        return {
            "type": "array",
            "items": item,
            "uniqueItems": True,
            "minItems": low,
            "maxItems": high,
        }
    schema: Schema = {"type": "array", "items": draw(children)}
    if draw(st.booleans()):
        schema["prefixItems"] = draw(st.lists(children, min_size=1, max_size=2))
    if draw(st.booleans()):
        schema["minItems"] = low
    if draw(st.booleans()):
        schema["maxItems"] = high
    return schema


@st.composite
def branch_of(draw: st.DrawFn, kind: str, children: Children) -> Schema:
    if kind == "string":
        return draw(string_schemas())
    if kind == "integer":
        return draw(number_schemas(integer=True))
    if kind == "array":
        return {"type": "array", "items": draw(children), "maxItems": draw(st.integers(0, 3))}
    if kind == "object":
        return draw(object_schemas(children))
    return {"type": kind}


@st.composite
def union_schemas(draw: st.DrawFn, children: Children) -> Schema:
    # Branches of different types, so exactly one branch matches any value (oneOf holds).
    kinds = draw(
        st.lists(
            st.sampled_from(["string", "integer", "boolean", "null", "array", "object"]),
            min_size=2,
            max_size=3,
            unique=True,
        )
    )
    keyword = draw(st.sampled_from(["anyOf", "oneOf"]))
    return {keyword: [draw(branch_of(kind, children)) for kind in kinds]}


@st.composite
def all_of_schemas(draw: st.DrawFn, children: Children) -> Schema:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=2, max_size=5, unique=True))
    cut = draw(st.integers(1, len(names) - 1))
    parts: list[Schema] = []
    for group in (names[:cut], names[cut:]):
        parts.append(
            {
                "type": "object",
                "properties": {name: draw(children) for name in group},
                "required": [name for name in group if draw(st.booleans())],
            }
        )
    schema: Schema = {"allOf": parts}
    if draw(st.booleans()):
        schema["type"] = "object"
    return schema


def _extend(children: Children) -> Children:
    return st.one_of(
        object_schemas(children),
        array_schemas(children),
        union_schemas(children),
        all_of_schemas(children),
    )


SCHEMAS: st.SearchStrategy[Schema] = st.recursive(LEAVES, _extend, max_leaves=10)

TREE: Schema = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "label": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            },
            "required": ["label", "children"],
        }
    },
    "$ref": "#/$defs/node",
}
LINKED_LIST: Schema = {
    "$defs": {
        "cell": {
            "type": "object",
            "properties": {
                "value": {"type": "integer"},
                "next": {"anyOf": [{"$ref": "#/$defs/cell"}, {"type": "null"}]},
            },
            "required": ["value", "next"],
            "additionalProperties": False,
        }
    },
    "$ref": "#/$defs/cell",
}
ROOT_RECURSIVE: Schema = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "parts": {"type": "array", "items": {"$ref": "#"}, "maxItems": 3},
    },
    "required": ["name", "parts"],
}
EXPRESSION: Schema = {
    "$defs": {
        "expr": {
            "oneOf": [
                {"type": "integer", "minimum": 0, "maximum": 9},
                {
                    "type": "object",
                    "properties": {
                        "op": {"enum": ["+", "*"]},
                        "args": {
                            "type": "array",
                            "items": {"$ref": "#/$defs/expr"},
                            "minItems": 2,
                            "maxItems": 2,
                        },
                    },
                    "required": ["op", "args"],
                    "additionalProperties": False,
                },
            ]
        }
    },
    "$ref": "#/$defs/expr",
}
RECURSIVE = (TREE, LINKED_LIST, ROOT_RECURSIVE, EXPRESSION)


@st.composite
def schemas_with_defs(draw: st.DrawFn) -> Schema:
    names = draw(st.lists(st.sampled_from(["Thing", "Part", "Entry"]), min_size=1, max_size=3))
    names = list(dict.fromkeys(names))
    defs = {name: draw(SCHEMAS) for name in names}
    if draw(st.integers(0, 3)) == 0:
        return {"$defs": defs, "$ref": f"#/$defs/{names[0]}"}
    properties: Schema = {}
    for field in draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True)):
        ref = {"$ref": f"#/$defs/{draw(st.sampled_from(names))}"}
        properties[field] = draw(
            st.sampled_from(
                [
                    ref,
                    {"allOf": [ref], "description": "wrapped, as pydantic v1 wrote it"},
                    {"anyOf": [ref, {"type": "null"}], "default": None},
                    {"type": "array", "items": ref},
                ]
            )
        )
    required = [field for field in properties if draw(st.booleans())]
    return {"$defs": defs, "type": "object", "properties": properties, "required": required}


ROOTS: st.SearchStrategy[Schema] = st.one_of(
    SCHEMAS,
    object_schemas(SCHEMAS),
    schemas_with_defs(),
    st.sampled_from(RECURSIVE).map(copy.deepcopy),
)

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- properties -----------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(schema=ROOTS, seed=SEEDS)
def test_every_value_validates_and_repeats(schema: Schema, seed: int | str | bytes) -> None:
    Draft202012Validator.check_schema(schema)  # the strategy itself writes valid schemas
    before = copy.deepcopy(schema)
    value = generate_value(schema, seed=seed)
    assert_valid(schema, value)
    assert as_json(generate_value(schema, seed=seed)) == as_json(value)
    assert schema == before, "generate_value changed the schema it was given"


@settings(PROPERTY_SETTINGS, max_examples=60)
@given(schema=ROOTS, seed=st.integers(0, 2**32), max_depth=st.integers(0, 8))
def test_values_validate_at_every_depth_bound(schema: Schema, seed: int, max_depth: int) -> None:
    value = generate_value(schema, seed=seed, max_depth=max_depth)
    assert_valid(schema, value)
    assert as_json(generate_value(schema, seed=seed, max_depth=max_depth)) == as_json(value)


VARIED: list[tuple[str, Schema, int]] = [
    ("string", {"type": "string"}, 8),
    ("integer", {"type": "integer", "minimum": 0, "maximum": 1000}, 8),
    ("number", {"type": "number"}, 8),
    ("boolean", {"type": "boolean"}, 2),
    ("enum", {"enum": ["a", "b", "c", "d"]}, 2),
    ("pattern", {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"}, 8),
    ("uuid", {"type": "string", "format": "uuid"}, 10),
    ("date-time", {"type": "string", "format": "date-time"}, 8),
    ("array", {"type": "array", "items": {"type": "integer"}}, 4),
    (
        "object",
        {
            "type": "object",
            "properties": {"city": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["city", "age"],
        },
        8,
    ),
    ("tree", TREE, 6),
]


@pytest.mark.parametrize(
    ("schema", "at_least"), [v[1:] for v in VARIED], ids=[v[0] for v in VARIED]
)
def test_different_seeds_give_different_values(schema: Schema, at_least: int) -> None:
    values = {as_json(generate_value(schema, seed=seed)) for seed in range(12)}
    assert len(values) >= at_least, values


@settings(max_examples=25, deadline=None)
@given(seeds=st.lists(SEEDS, min_size=6, max_size=6, unique=True))
def test_seed_sample_varies_for_an_open_object(seeds: list[int | str | bytes]) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "score": {"type": "number"}},
        "required": ["name", "score"],
    }
    assert len({as_json(generate_value(schema, seed=seed)) for seed in seeds}) >= 2


# --- Faker realism by property name ---------------------------------------------------


def named_values(name: str, schema: Schema, seeds: int = 25) -> list[Any]:
    root = {"type": "object", "properties": {name: schema}, "required": [name]}
    values = []
    for seed in range(seeds):
        value = generate_value(root, seed=seed)
        assert_valid(root, value)
        values.append(value[name])
    return values


def test_city_reads_like_a_city() -> None:
    prefixes = tuple(f"{p} " for p in AddressProvider.city_prefixes)
    suffixes = tuple(AddressProvider.city_suffixes)
    for city in named_values("city", {"type": "string"}):
        assert isinstance(city, str)
        assert city
        assert city[0].isupper(), city
        assert not any(ch.isdigit() for ch in city), city
        assert city.startswith(prefixes) or city.endswith(suffixes), city


def test_email_has_an_at_sign() -> None:
    for address in named_values("email", {"type": "string"}):
        assert re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", address), address


def test_name_is_capitalised_words() -> None:
    for name in named_values("name", {"type": "string"}):
        words = name.split()
        assert len(words) >= 2, name
        assert all(word[0].isupper() for word in words), name


@pytest.mark.parametrize("name", ["phone", "phone_number", "telephone"])
def test_phone_has_digits(name: str) -> None:
    for phone in named_values(name, {"type": "string"}):
        assert sum(ch.isdigit() for ch in phone) >= 7, phone


def test_country_is_a_country() -> None:
    countries = set(AddressProvider.countries)
    for country in named_values("country", {"type": "string"}):
        assert country in countries, country


@pytest.mark.parametrize("name", ["url", "website"])
def test_url_starts_with_http(name: str) -> None:
    for url in named_values(name, {"type": "string"}):
        assert url.startswith(("http://", "https://")), url


def test_age_is_an_adult_age() -> None:
    ages = named_values("age", {"type": "integer"})
    assert all(type(age) is int and 18 <= age <= 90 for age in ages), ages
    assert len(set(ages)) > 1


@pytest.mark.parametrize("kind", ["number", "integer"])
def test_price_is_between_1_and_1000(kind: str) -> None:
    prices = named_values("price", {"type": kind})
    assert all(type(p) in (int, float) and 1 <= p <= 1000 for p in prices), prices


def test_named_value_respects_explicit_bounds() -> None:
    ages = named_values("age", {"type": "integer", "minimum": 0, "maximum": 5})
    assert all(0 <= age <= 5 for age in ages), ages


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("first_name", lambda v: v.isalpha() and v[0].isupper()),
        ("email_address", lambda v: "@" in v),
        ("zip_code", lambda v: any(ch.isdigit() for ch in v)),
    ],
)
def test_snake_case_names_pick_the_provider(name: str, check: Any) -> None:
    for value in named_values(name, {"type": "string"}, seeds=10):
        assert check(value), value


# --- edge cases ------------------------------------------------------------------------


def test_true_schema_gives_a_repeatable_value() -> None:
    value = generate_value(True, seed=3)
    assert_valid(True, value)
    assert as_json(generate_value(True, seed=3)) == as_json(value)


def test_false_schema_is_unsatisfiable() -> None:
    with pytest.raises(UnsatisfiableSchemaError):
        generate_value(False)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "integer", "minimum": 5, "maximum": 1},
        {"type": "number", "minimum": 5, "maximum": 1},
        {"type": "integer", "exclusiveMinimum": 5, "exclusiveMaximum": 6},
        {"type": "integer", "multipleOf": 3, "minimum": 1, "maximum": 2},
        {"type": "string", "minLength": 5, "maxLength": 2},
        {"type": "array", "items": {"type": "boolean"}, "uniqueItems": True, "minItems": 3},
        {"type": "object", "properties": {"a": False}, "required": ["a"]},
        {"type": "object", "additionalProperties": False, "minProperties": 1},
        {"enum": []},
        {"allOf": [{"type": "string"}, {"type": "integer"}]},
    ],
    ids=[
        "min-over-max",
        "number-min-over-max",
        "no-integer-between-exclusive-bounds",
        "no-multiple-in-range",
        "minLength-over-maxLength",
        "three-unique-booleans",
        "required-false",
        "minProperties-without-properties",
        "empty-enum",
        "allOf-conflicting-types",
    ],
)
def test_unsatisfiable_schema_raises(schema: Schema) -> None:
    with pytest.raises(UnsatisfiableSchemaError):
        generate_value(schema, seed=1)


def test_recursion_that_never_ends_is_unsatisfiable() -> None:
    # Every instance would need an infinitely deep `next`: no finite value exists.
    schema = {"type": "object", "properties": {"next": {"$ref": "#"}}, "required": ["next"]}
    with pytest.raises(UnsatisfiableSchemaError):
        generate_value(schema)


def _nesting(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_nesting(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_nesting(v) for v in value), default=0)
    return 0


BUSHY: Schema = {
    "type": "object",
    "properties": {
        "label": {"type": "string"},
        "kids": {"type": "array", "items": {"$ref": "#"}, "maxItems": 10},
    },
    "required": ["label", "kids"],
}


@pytest.mark.parametrize(
    "schema", [*RECURSIVE, BUSHY], ids=["tree", "linked-list", "root-ref", "expr", "bushy"]
)
def test_recursive_schemas_end_small(schema: Schema) -> None:
    for seed in range(30):
        value = generate_value(schema, seed=seed)
        assert_valid(schema, value)
        assert len(json.dumps(value)) < 100_000
        # Each depth step is one object property or one array item; past the bound only
        # required properties and minItems are written, so at most two more levels follow.
        assert _nesting(value) <= 6 + 2, value


@pytest.mark.parametrize("max_depth", [0, 1, 2, 4, 8])
def test_depth_bound_limits_nesting(max_depth: int) -> None:
    for seed in range(15):
        value = generate_value(ROOT_RECURSIVE, seed=seed, max_depth=max_depth)
        assert_valid(ROOT_RECURSIVE, value)
        assert _nesting(value) <= max_depth + 2, value


def test_smaller_depth_bound_gives_shallower_values() -> None:
    deep = max(_nesting(generate_value(ROOT_RECURSIVE, seed=s)) for s in range(30))
    shallow = max(_nesting(generate_value(ROOT_RECURSIVE, seed=s, max_depth=2)) for s in range(30))
    assert shallow < deep


@pytest.mark.parametrize("ref", ["other.json#/$defs/x", "urn:example:thing"])
def test_non_local_ref_raises(ref: str) -> None:
    # The module's own error, so callers (the reply generator catches exactly this) can
    # fall back; not a validator's exception, and no attempt to fetch the reference.
    schema = {"type": "object", "properties": {"a": {"$ref": ref}}, "required": ["a"]}
    with pytest.raises(UnsatisfiableSchemaError):
        generate_value(schema)


def test_unique_enum_of_three_with_three_items_is_a_permutation() -> None:
    schema = {
        "type": "array",
        "items": {"enum": ["red", "green", "blue"]},
        "uniqueItems": True,
        "minItems": 3,
    }
    orders = set()
    for seed in range(20):
        value = generate_value(schema, seed=seed)
        assert sorted(value) == ["blue", "green", "red"], value
        orders.add(tuple(value))
    assert len(orders) > 1


def test_generation_is_the_same_in_another_process() -> None:
    # Set iteration order changes with PYTHONHASHSEED; the values must not.
    schemas = [
        TREE,
        BUSHY,
        {
            "type": "object",
            "minProperties": 5,
            "properties": {
                "city": {"type": "string"},
                "tags": {"type": "array", "uniqueItems": True, "items": {"type": "string"}},
            },
        },
    ]
    script = (
        "import json, sys; from mockserver.engines.jsonschema_gen import generate_value; "
        "schemas = json.loads(sys.argv[1]); "
        "print(json.dumps([generate_value(s, seed=n) for s in schemas for n in range(5)]))"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script, json.dumps(schemas)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env=env,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1


# --- satisfiable schemas the generator must not give up on -----------------------------
# Each is satisfiable (a valid value is shown), so a value must come back, and validate.

SATISFIABLE_EDGES: list[tuple[str, Schema, Any]] = [
    ("narrow-float-range", {"type": "number", "minimum": 0.996, "maximum": 0.999}, 0.997),
    (
        "narrow-exclusive-range",
        {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.01},
        0.005,
    ),
    (
        "closed-tuple",
        {
            "type": "array",
            "prefixItems": [{"type": "integer"}, {"type": "string"}],
            "items": False,
            "minItems": 2,
        },
        [1, "a"],
    ),
    (
        "required-key-from-additionalProperties",
        {"type": "object", "required": ["a"], "additionalProperties": {"type": "integer"}},
        {"a": 1},
    ),
    (
        "pattern-with-suffix-and-maxLength",
        {"type": "string", "pattern": r"^[a-z]+\.example\.com$", "maxLength": 30},
        "api.example.com",
    ),
    (
        "format-with-maxLength",
        {"type": "string", "format": "email", "maxLength": 12},
        "jo@ex.com",
    ),
    (
        "ref-with-sibling-properties",
        {
            "$defs": {
                "A": {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}},
                    "required": ["id"],
                }
            },
            "$ref": "#/$defs/A",
            "properties": {"note": {"type": "string"}},
        },
        {"id": 1},
    ),
    (
        "percent-encoded-ref",
        {"$defs": {"a b": {"type": "integer"}}, "$ref": "#/$defs/a%20b"},
        1,
    ),
    (
        "anchor-ref",
        {"$defs": {"n": {"$anchor": "node", "type": "integer"}}, "$ref": "#node"},
        1,
    ),
]


@pytest.mark.parametrize(
    ("schema", "example"),
    [edge[1:] for edge in SATISFIABLE_EDGES],
    ids=[edge[0] for edge in SATISFIABLE_EDGES],
)
def test_satisfiable_edge_schema_gets_a_valid_value(schema: Schema, example: Any) -> None:
    assert_valid(schema, example)  # the schema is satisfiable
    for seed in range(20):
        assert_valid(schema, generate_value(schema, seed=seed))


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_validates(fmt: str) -> None:
    schema = {"type": "string", "format": fmt}
    for seed in range(20):
        assert_valid(schema, generate_value(schema, seed=seed))


@pytest.mark.parametrize("pattern", PATTERNS)
def test_each_pattern_matches(pattern: str) -> None:
    schema = {"type": "string", "pattern": pattern}
    for seed in range(20):
        value = generate_value(schema, seed=seed)
        assert re.search(pattern, value), value


# --- real-world schemas ----------------------------------------------------------------


def _request_body(request: dict[str, Any]) -> Any:
    if "parsed_body" in request:
        return request["parsed_body"]
    body = request.get("body")
    if isinstance(body, dict):
        body = body.get("string")
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if not isinstance(body, str) or not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def recorded_schemas() -> list[tuple[str, Schema]]:
    """The tool `parameters` and `json_schema` response formats sent in real requests."""
    paths: list[Path] = [
        *sorted(azure_dir().glob("crewai__*.yaml")),
        *sorted(OPENAI_TRAFFIC.glob("*.yaml")),
    ]
    found: dict[str, tuple[str, Schema]] = {}
    for path in paths:
        for index, interaction in enumerate(load_yaml(path).get("interactions") or []):
            body = _request_body(interaction["request"])
            if not isinstance(body, dict):
                continue
            label = f"{path.stem[:50]}[{index}]"
            for tool in body.get("tools") or []:
                parameters = tool.get("function", {}).get("parameters")
                if isinstance(parameters, dict):
                    name = tool["function"]["name"]
                    found.setdefault(json.dumps(parameters), (f"{label}:{name}", parameters))
            response_format = body.get("response_format") or {}
            if response_format.get("type") == "json_schema":
                schema = response_format["json_schema"]["schema"]
                found.setdefault(json.dumps(schema), (f"{label}:response_format", schema))
    return list(found.values())


RECORDED = recorded_schemas()


def test_recordings_hold_tool_and_response_format_schemas() -> None:
    labels = [label for label, _ in RECORDED]
    assert len(RECORDED) >= 4, labels
    assert any(label.endswith(":response_format") for label in labels), labels


@pytest.mark.parametrize(
    "schema", [schema for _, schema in RECORDED], ids=[label for label, _ in RECORDED]
)
def test_recorded_schemas_get_valid_values(schema: Schema) -> None:
    for seed in range(10):
        value = generate_value(schema, seed=seed)
        assert isinstance(value, dict)
        assert_valid(schema, value)


class Address(BaseModel):
    street: str
    city: str
    postal_code: str = Field(pattern=r"^\d{5}(-\d{4})?$")
    country: str


class LineItem(BaseModel):
    description: str
    sku: str | None = Field(default=None, pattern=r"^[A-Z]{3}-\d{4}$")
    quantity: int = Field(ge=1, le=1000)
    unit_price: float = Field(ge=0)
    unit: Literal["each", "hour", "kg"] = "each"


class Invoice(BaseModel):
    """An invoice extracted from a document."""

    invoice_number: str
    issue_date: dt.date
    due_date: dt.date | None = None
    issued_at: dt.datetime
    status: Literal["draft", "sent", "paid", "void"]
    currency: Literal["USD", "EUR", "GBP"]
    customer_name: str
    customer_email: str | None = None
    billing_address: Address
    shipping_address: Address | None = None
    line_items: list[LineItem] = Field(min_length=1)
    tags: list[str] = []
    notes: str | None = None
    total: float


def _strict_invoice_schema() -> Schema:
    from openai.lib._pydantic import to_strict_json_schema

    return to_strict_json_schema(Invoice)


PYDANTIC_SCHEMAS = {
    "model_json_schema": Invoice.model_json_schema,
    "to_strict_json_schema": _strict_invoice_schema,
}


@pytest.mark.parametrize("make", PYDANTIC_SCHEMAS.values(), ids=PYDANTIC_SCHEMAS.keys())
def test_pydantic_invoice_schema_gets_valid_values(make: Any) -> None:
    schema = make()
    assert "$defs" in schema
    for seed in range(25):
        value = generate_value(schema, seed=seed)
        assert_valid(schema, value)
        invoice = Invoice.model_validate(value)  # pydantic agrees too
        assert invoice.line_items


# --- bounded work: a room in characters --------------------------------------------------

ROOM = 200
FITTING = {
    "a form": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "city": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 40},
            "scores": {"type": "array", "items": {"type": "number"}, "minItems": 40},
        },
        "required": ["name", "city", "tags", "scores"],
    },
    "a long code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{300}$"},
    "padding": {"type": "string", "minLength": 3000},
    "records": {
        "type": "array",
        "minItems": 60,
        "items": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "email": {"type": "string"}},
            "required": ["id", "email"],
        },
    },
}


@pytest.mark.parametrize("schema", FITTING.values(), ids=FITTING.keys())
def test_a_value_longer_than_the_room_is_cut_where_the_whole_value_is(schema: Schema) -> None:
    for seed in range(5):
        whole = generate_json(schema, seed=seed)
        assert whole.complete
        assert_valid(schema, json.loads(whole.text))
        assert len(whole.text) > ROOM
        cut = generate_json(schema, seed=seed, room=ROOM)
        assert not cut.complete
        assert cut.text == whole.text[:ROOM]


BOMBS: dict[str, Schema] = {
    "minLength 100,000,000": {"type": "string", "minLength": 100_000_000},
    "minItems 10,000,000": {"type": "array", "items": {"type": "string"}, "minItems": 10**7},
    "minProperties 1,000,000": {"type": "object", "minProperties": 10**6},
    "nested minItems": {
        "type": "array",
        "minItems": 10**4,
        "items": {"type": "array", "minItems": 10**4, "items": {"type": "integer"}},
    },
    "a pattern of 8000 characters": {"type": "string", "pattern": "^" + "[a-z]{1000}" * 8 + "$"},
    "unique booleans": {
        "type": "array",
        "items": {"type": "array", "items": {"type": "boolean"}, "minItems": 10**6},
        "minItems": 10**6,
    },
}


@pytest.mark.parametrize("schema", BOMBS.values(), ids=BOMBS.keys())
def test_minimums_beyond_the_room_stop_at_the_room(schema: Schema) -> None:
    cut = generate_json(schema, seed=3, room=5000)
    assert not cut.complete
    assert len(cut.text) == 5000


def test_a_value_longer_than_generate_values_room_is_refused() -> None:
    with pytest.raises(UnsatisfiableSchemaError, match="longer than"):
        generate_value({"type": "string", "minLength": 100_000_000})


def test_more_properties_than_faker_has_words() -> None:
    schema = {"type": "object", "minProperties": 2500, "additionalProperties": {"type": "integer"}}
    value = generate_value(schema, seed=1)
    assert_valid(schema, value)


def test_a_repetition_of_more_than_a_hundred_is_generated() -> None:
    schema = {"type": "string", "pattern": "^x{1000}$"}
    assert generate_value(schema, seed=2) == "x" * 1000


UNSUPPORTED_PATTERNS = {
    "backreference": r"^(ab)\1$",
    "lookahead": r"^(?=a)a+$",
    "a repetition of 100,000": "^((a{100}){100}){10}$",
}


@pytest.mark.parametrize("pattern", UNSUPPORTED_PATTERNS.values(), ids=UNSUPPORTED_PATTERNS.keys())
def test_a_pattern_re2_refuses_makes_the_schema_unusable_saying_why(pattern: str) -> None:
    with pytest.raises(UnsatisfiableSchemaError, match="RE2"):
        generate_value({"type": "string", "pattern": pattern})


def test_a_pattern_is_checked_wherever_it_is_nested() -> None:
    schema = {
        "type": "object",
        "properties": {"pattern": {"type": "string", "pattern": r"^(x)\1$"}},
        "required": ["pattern"],
    }
    with pytest.raises(UnsatisfiableSchemaError, match="RE2"):
        generate_value(schema)


def test_long_property_names_from_requests_are_not_kept_after_the_answer() -> None:
    def look_up(index: int) -> None:
        long = f"{index}_" + "x" * 300_000  # a request chooses its names' length
        for suffix in ("_email", "_name"):  # an email provider, an entity to echo
            short = f"{index}_x{suffix}"
            assert (echo_kind(long + suffix), provider_for(long + suffix)) == (
                echo_kind(short),
                provider_for(short),
            )

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(20):
            look_up(index)
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 1_000_000  # 40 names of 300 KB: 12 MB if the caches remembered them


# RE2 syntax Python's `re` (which draws the strings) does not read: written as `re` says it.
RE2_ONLY_PATTERNS = {
    "end of text": r"^a\z",
    "unicode letter": r"^\pL+$",
    "unicode uppercase": r"^\p{Lu}+$",
    "not a letter": r"^\P{L}{3}$",
    "a script": r"^\p{Greek}{2,5}$",
    "a unicode class in brackets": r"^[\p{Lu}\d_]{4}$",
    "ungreedy flag": r"^(?U)a+$",
    "ungreedy in a group": r"^(?U:a+)b$",
    "named group": r"^(?<word>ab)+$",
    "largest code point": r"^\x{10FFFF}$",
    "every code point": r"^[\x{0}-\x{10FFFF}]{1000}$",
    "a wide range": r"^[\x{4e00}-\x{9fff}]{3}$",
    "a bracket in brackets": r"^[[a]{4}$",
}


@pytest.mark.parametrize("pattern", RE2_ONLY_PATTERNS.values(), ids=RE2_ONLY_PATTERNS.keys())
def test_a_pattern_in_re2_syntax_gets_strings_re2_matches(pattern: str) -> None:
    schema = {"type": "string", "pattern": pattern}
    for seed in range(5):
        value = generate_value(schema, seed=seed)
        assert linear_regex(pattern).search(value), value
        assert as_json(generate_value(schema, seed=seed)) == as_json(value)


def test_a_unicode_class_gives_readable_text_when_it_can() -> None:
    value = generate_value({"type": "string", "pattern": r"^\pL+$"}, seed=4)
    assert re.fullmatch("[A-Za-z]+", value), value


def test_a_class_of_every_code_point_is_drawn_without_listing_them() -> None:
    # rstr would list 1,114,112 characters for each of the 1000: a minute of work.
    schema = {"type": "string", "pattern": r"^[\x{0}-\x{10FFFF}]{1000}$"}
    assert len(generate_value(schema, seed=1)) == 1000


def test_a_pattern_re2_accepts_that_nothing_matches_is_unsatisfiable() -> None:
    with pytest.raises(UnsatisfiableSchemaError):
        generate_value({"type": "string", "pattern": r"[^\x{0}-\x{10FFFF}]"})


def test_re2_syntax_python_cannot_read_makes_the_schema_unsatisfiable() -> None:
    # RE2 allows flags midway; Python's `re` does not, so no string can be drawn.
    with pytest.raises(UnsatisfiableSchemaError):
        generate_value({"type": "string", "pattern": r"^a(?i)b$"})


def test_an_re2_pattern_in_a_tool_schema_gets_arguments() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string", "pattern": "a\\z"}},
        "required": ["a"],
    }
    made = generate_json(schema, seed=b"x")
    assert made.complete
    assert json.loads(made.text) == {"a": "a"}


TINY_STEPS = {
    "number": {"type": "number", "multipleOf": 1e-308},
    "integer": {"type": "integer", "multipleOf": 1e-308},
    "wide bounds": {"type": "number", "multipleOf": 1e-308, "minimum": 0, "maximum": 1e300},
}


@pytest.mark.parametrize("schema", TINY_STEPS.values(), ids=TINY_STEPS.keys())
def test_a_step_too_small_to_count_its_multiples_still_gets_values(schema: Schema) -> None:
    # 100 / 1e-308 is infinity: the multiples in range cannot be counted as floats.
    for seed in range(5):
        value = generate_value(schema, seed=seed)
        assert jsonschema_rs.is_valid(schema, value), value


# A boolean is a schema wherever a schema may be: `true` admits anything, `false` nothing.
BOOLEAN_SUBSCHEMAS = {
    "allOf true": {"allOf": [True]},
    "allOf true and a type": {"allOf": [True, {"type": "integer"}]},
    "anyOf false or a type": {"anyOf": [False, {"type": "integer"}]},
    "anyOf true": {"anyOf": [True]},
    "oneOf false or true": {"oneOf": [False, True]},
    "items true": {"type": "array", "items": True, "minItems": 2},
    "items false": {"type": "array", "items": False},
    "prefixItems": {"type": "array", "prefixItems": [True, False], "minItems": 1, "maxItems": 1},
    "property true": {"type": "object", "properties": {"a": True}, "required": ["a"]},
    "nested": {
        "type": "object",
        "properties": {"a": {"allOf": [True, {"anyOf": [False, {"type": "string"}]}]}},
        "required": ["a"],
    },
    "additionalProperties true": {
        "type": "object",
        "additionalProperties": True,
        "minProperties": 2,
    },
    "not false": {"not": False},
    "a reference to true": {
        "$defs": {"t": True},
        "type": "object",
        "properties": {"a": {"allOf": [{"$ref": "#/$defs/t"}]}},
        "required": ["a"],
    },
}


@pytest.mark.parametrize("schema", BOOLEAN_SUBSCHEMAS.values(), ids=BOOLEAN_SUBSCHEMAS.keys())
@pytest.mark.parametrize("max_depth", [0, 6])
def test_boolean_subschemas_get_valid_values(schema: Schema, max_depth: int) -> None:
    for seed in range(5):
        value = generate_value(schema, seed=seed, max_depth=max_depth)
        assert_valid(schema, value)


UNSATISFIABLE_BOOLEANS = {
    "allOf false": {"allOf": [False]},
    "allOf a type and false": {"allOf": [{"type": "integer"}, False]},
    "anyOf false": {"anyOf": [False]},
    "not true": {"not": True},
    "a reference to false": {
        "$defs": {"f": False},
        "type": "object",
        "properties": {"a": {"allOf": [{"$ref": "#/$defs/f"}]}},
        "required": ["a"],
    },
}


@pytest.mark.parametrize(
    "schema", UNSATISFIABLE_BOOLEANS.values(), ids=UNSATISFIABLE_BOOLEANS.keys()
)
def test_a_false_subschema_that_must_hold_is_unsatisfiable(schema: Schema) -> None:
    with pytest.raises(UnsatisfiableSchemaError):
        generate_value(schema, seed=1)


def test_more_required_properties_than_max_properties_is_unsatisfiable() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "required": ["a", "b"],
        "maxProperties": 1,
    }
    with pytest.raises(UnsatisfiableSchemaError):
        generate_value(schema, seed=1)


def test_max_properties_drops_optional_properties_only() -> None:
    schema = {
        "type": "object",
        "properties": {name: {"type": "integer"} for name in "abcdef"},
        "required": ["a", "b"],
        "maxProperties": 2,
    }
    for seed in range(10):
        assert sorted(generate_value(schema, seed=seed)) == ["a", "b"]
