"""Values that satisfy a JSON Schema: seeded, pure, and readable as real data.

    from mockserver.engines.jsonschema_gen import generate_value
    generate_value({"type": "object", "properties": {"city": {"type": "string"}},
                    "required": ["city"]}, seed=7)
    # -> {'city': 'Lake Kimberly'}

Used for tool-call arguments and structured outputs; public, so tests can use it too.
It supports objects (properties, required, additionalProperties, min/maxProperties),
arrays (items, prefixItems, min/maxItems, uniqueItems), strings (enum, const,
min/maxLength, pattern, and the formats date, date-time, time, email, uri, uuid, ipv4,
ipv6, hostname), numbers and integers (minimum, maximum, exclusive bounds, multipleOf),
booleans, null, type unions, anyOf/oneOf/allOf, boolean subschemas (`true`, `false`)
wherever a schema may be, and `$ref` into `$defs`/`definitions` (recursive schemas end at
a depth bound). Property names pick Faker providers: `city`
gets a city, `email` an email. Every value is checked with a real validator
(jsonschema-rs); a schema no value satisfies raises `UnsatisfiableSchemaError`.

Work is bounded by a room, in characters of the value's compact JSON: writing stops when
the room is spent, whatever `minItems`, `minLength` or a pattern's repetitions ask, so a
schema cannot make the generator build more than the output could hold. `generate_json`
then gives the text cut at the room, as a model's output is cut at its token limit.
A `pattern` must be one RE2 accepts (see `regexes`); it is checked anchored at the start
of the string, which the generated strings are by construction, so that checking stays
linear in the string's length. Strings are drawn from it by rstr, which reads Python's
syntax: RE2's own (`\\z`, `\\pL`, `\\x{10FFFF}`) is rewritten for it (`re2_syntax`), and
a pattern still unreadable there makes the schema unsatisfiable. `least_json` tells what
a schema's minimums demand of any valid value, for callers to see that none fits.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import string
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import jsonschema_rs
import orjson
import rstr
from faker.exceptions import UniquenessException
from rstr.xeger import STAR_PLUS_LIMIT

from mockserver.engines.prompt_hints import NO_HINTS, PromptHints, singular
from mockserver.engines.re2_syntax import sre_pattern
from mockserver.support.memo import Memo
from mockserver.support.regexes import UnsupportedRegexError, linear_regex

if TYPE_CHECKING:
    from faker import Faker

MAX_DEPTH = 6
ATTEMPTS = 8
DEFAULT_MAX_ITEMS = 3
# Beyond minItems, at most this many more items are drawn: a model asked for "up to a
# million" writes a few, not half a million.
MAX_EXTRA_ITEMS = 100
# uniqueItems: after this many duplicates in a row, the item schema has no new value left.
MAX_DUPLICATES_IN_A_ROW = 32
# The room of `generate_value`: 4 Mi characters, more than o3-mini's 100,000 output tokens
# hold of any text that is not a run of spaces.
DEFAULT_ROOM = 4 * 2**20
Schema = dict[str, Any]


class UnsatisfiableSchemaError(ValueError):
    """No value was found that validates against the schema."""


@dataclass(frozen=True)
class JsonText:
    """A value's compact JSON; when `complete` is False, its first `room` characters."""

    text: str
    complete: bool


def generate_value(
    schema: Schema | bool,
    seed: int | str | bytes = 0,
    max_depth: int = MAX_DEPTH,
    hints: PromptHints = NO_HINTS,
) -> Any:
    """A value valid against `schema`; the same schema, seed and hints give the same value."""
    value, complete = _generate(schema, seed, DEFAULT_ROOM, max_depth, hints)
    if not complete:
        raise UnsatisfiableSchemaError(
            f"the smallest value the schema allows is longer than {DEFAULT_ROOM} characters"
        )
    return value


def generate_json(
    schema: Schema | bool,
    seed: int | str | bytes = 0,
    room: int = DEFAULT_ROOM,
    hints: PromptHints = NO_HINTS,
) -> JsonText:
    """Compact JSON of a value valid against `schema`, written into about `room` characters.

    When the value the schema demands does not fit, writing stops at the room and the
    text is cut there: the unfinished JSON a model writes when it reaches its limit.
    """
    value, complete = _generate(schema, seed, room, MAX_DEPTH, hints)
    text = orjson.dumps(value).decode()
    return JsonText(text, complete=True) if complete else JsonText(text[:room], complete=False)


def _generate(
    schema: Schema | bool, seed: int | str | bytes, room: int, max_depth: int, hints: PromptHints
) -> tuple[Any, bool]:
    """A valid value and True, or an unfinished one cut at `room` and False."""
    validator = _validator_for(schema)
    for attempt in range(ATTEMPTS):
        writer = _ValueWriter(schema, _seed_int(seed, attempt), max_depth, room, hints)
        try:
            value = writer.value()
        except (ValueError, LookupError, RecursionError, TypeError, OverflowError):
            continue  # this draw hit a dead end (an empty range, a `false`); try another
        if writer.cut:
            return value, False  # unfinished: no validator would accept it, none is asked
        if validator.is_valid(value):
            return value, True
    raise UnsatisfiableSchemaError("no value satisfying the schema was found")


@dataclass(frozen=True)
class JsonFloor:
    """What any value valid against a schema must hold at least: the characters of its
    compact JSON, and its scalars (numbers, booleans, nulls) each a separate token."""

    chars: int
    scalars: int

    def __add__(self, other: JsonFloor) -> JsonFloor:
        return JsonFloor(self.chars + other.chars, self.scalars + other.scalars)

    def __mul__(self, times: int) -> JsonFloor:
        return JsonFloor(self.chars * times, self.scalars * times)


_NO_FLOOR = JsonFloor(1, 0)
_SCALAR = JsonFloor(1, 1)
_LEAST_DEPTH = 64


def least_json(schema: Schema | bool, depth: int = 0) -> JsonFloor:
    """A lower bound on any value valid against `schema`: what its minimums demand
    (`minItems` items, `minLength` characters, the required properties). Where it cannot
    tell (no `type`, references), nothing: it never says more than a valid value needs,
    so a floor above the room (or the token budget) means no valid value fits in it."""
    if not isinstance(schema, dict) or depth > _LEAST_DEPTH:
        return _NO_FLOOR
    kinds = schema.get("type")
    if not isinstance(kinds, list | str):
        return _NO_FLOOR
    floors = [
        _least_of_type(schema, kind, depth)
        for kind in ([kinds] if isinstance(kinds, str) else kinds)
    ]
    if not floors:
        return _NO_FLOOR
    return JsonFloor(min(f.chars for f in floors), min(f.scalars for f in floors))


def _least_of_type(schema: Schema, kind: Any, depth: int) -> JsonFloor:
    if kind == "string":
        return JsonFloor(2 + _count(schema.get("minLength")), 0)
    if kind == "array":
        wanted = _count(schema.get("minItems"))
        prefix = schema.get("prefixItems")
        prefix = prefix[:wanted] if isinstance(prefix, list) else []
        floor = JsonFloor(2 + max(0, wanted - 1), 0)  # brackets and commas
        for item in prefix:
            floor += least_json(item, depth + 1)
        if wanted > len(prefix):
            floor += least_json(schema.get("items", True), depth + 1) * (wanted - len(prefix))
        return floor
    if kind == "object":
        required = schema.get("required")
        names = (
            list(dict.fromkeys(n for n in required if isinstance(n, str)))
            if isinstance(required, list)
            else []
        )
        given = schema.get("properties")
        properties: dict[str, Any] = given if isinstance(given, dict) else {}
        # A name `patternProperties` may cover is not bounded by `additionalProperties`.
        extra: Any = (
            True if "patternProperties" in schema else schema.get("additionalProperties", True)
        )
        floor = JsonFloor(2 + max(0, len(names) - 1), 0)  # braces and commas
        for name in names:
            floor += JsonFloor(len(orjson.dumps(name)) + 1, 0)  # the key and its colon
            floor += least_json(properties.get(name, extra), depth + 1)
        return floor
    if kind in ("integer", "number", "boolean", "null"):
        return _SCALAR
    return _NO_FLOOR


def _count(value: Any) -> int:
    """A minimum (`minItems`, `minLength`) as a count; 0 when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return 0
    return max(0, int(value))


# Compiled validators by schema: an agent sends the same tools on every turn.
_VALIDATORS: Memo[bytes, jsonschema_rs.Validator] = Memo(max_entries=256, max_size=8 * 2**20)


def _validator_for(schema: Schema | bool) -> jsonschema_rs.Validator:
    try:
        key: bytes | None = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        key = None  # not plain JSON (a 2**70 bound, say): compiled, not kept
    if key is not None and (known := _VALIDATORS.get(key)) is not None:
        return known
    _refuse_remote_refs(schema)
    try:
        validator = jsonschema_rs.validator_for(
            _anchored_patterns(schema),
            validate_formats=True,
            pattern_options=jsonschema_rs.RegexOptions(),  # the linear engine
            offline=True,  # references are refused above; nothing is ever fetched
        )
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as error:
        raise UnsatisfiableSchemaError(f"the schema is not usable: {error}") from None
    if key is not None:
        _VALIDATORS.put(key, validator)
    return validator


# One Faker per thread, reseeded for each value: building one costs a millisecond, more
# than the value. Per thread, because a seeded Faker is a stream of draws.
_fakers = threading.local()


def _seeded_faker(seed: int) -> Faker:
    faker: Faker | None = getattr(_fakers, "faker", None)
    if faker is None:
        from faker import Faker  # imported on first use: it costs 0.2 s at start-up

        faker = _fakers.faker = Faker("en_US")
    faker.seed_instance(seed)
    faker.unique.clear()  # `unique` remembers earlier draws; each value starts afresh
    return faker


def warm_up() -> None:
    """Import Faker and its en_US providers now, so the first tool call does not wait."""
    _seeded_faker(0)


def _refuse_remote_refs(schema: Any) -> None:
    """Only references inside the schema: nothing is ever fetched."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            raise UnsatisfiableSchemaError(f"only local references are supported, not {ref!r}")
        for child in schema.values():
            _refuse_remote_refs(child)
    elif isinstance(schema, list):
        for child in schema:
            _refuse_remote_refs(child)


# Keywords whose value is a schema, a list of schemas, or a map of names to schemas.
_SCHEMA_KEYWORDS = frozenset(
    {"items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames"}
    | {"unevaluatedItems", "unevaluatedProperties", "additionalItems"}
)
_SCHEMA_LIST_KEYWORDS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_MAP_KEYWORDS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)


def _anchored_patterns(schema: Any) -> Any:
    """`schema` with each `pattern` anchored at the start, after RE2 has accepted it.

    An unanchored search for `a{1000}a{1000}` costs the string's length times the
    pattern's size; anchored, it costs the length. Generated strings start with their
    pattern's match, so for them the anchored check says the same thing.
    """
    if not isinstance(schema, dict):
        return schema
    copy = {key: _anchored_child(key, value) for key, value in schema.items()}
    if isinstance(schema.get("pattern"), str):
        copy["pattern"] = "^(?:" + _linear(schema["pattern"]) + ")"
    names = schema.get("patternProperties")
    for name in names if isinstance(names, dict) else ():
        _linear(name)
    return copy


def _anchored_child(keyword: str, value: Any) -> Any:
    if keyword in _SCHEMA_KEYWORDS:
        return _anchored_patterns(value)
    if keyword in _SCHEMA_LIST_KEYWORDS and isinstance(value, list):
        return [_anchored_patterns(item) for item in value]
    if keyword in _SCHEMA_MAP_KEYWORDS and isinstance(value, dict):
        return {name: _anchored_patterns(item) for name, item in value.items()}
    return value


def _linear(pattern: str) -> str:
    try:
        linear_regex(pattern)
    except UnsupportedRegexError as error:
        raise UnsatisfiableSchemaError(str(error)) from None
    return pattern


def _seed_int(seed: int | str | bytes, attempt: int) -> int:
    raw = seed if isinstance(seed, bytes) else str(seed).encode()
    return int.from_bytes(hashlib.sha256(raw + attempt.to_bytes(2, "big")).digest()[:8], "big")


class _ValueWriter:
    """One attempt at a value: walks the schema, drawing from one seeded Faker.

    `left` is the room not yet spent, in characters of the compact JSON written so far,
    counted exactly (scalars by their JSON, containers by brackets and separators), so
    that when writing stops (`cut`) the JSON of what was written is at least the room
    long and its first `room` characters are those of the whole value.
    """

    def __init__(
        self, root: Schema | bool, seed: int, max_depth: int, room: int, hints: PromptHints
    ) -> None:
        self.root = root
        self.hints = hints
        self.next_entity = 0  # the prompt's names are echoed in order, each once
        self.max_depth = max_depth
        self.faker = _seeded_faker(seed)
        self.random = self.faker.random
        self.xeger = _BoundedXeger(self.random)
        self.left = room
        self.cut = False
        self.words_used_up = False
        self.bounds: dict[tuple[int, bool, str | None], tuple[Schema, tuple[float, float]]] = {}

    def value(self) -> Any:
        return self.write(self.root, 0, None)

    def full(self) -> bool:
        """Whether the room is spent: every loop that writes more stops here."""
        if self.left <= 0:
            self.cut = True
        return self.cut

    def spent(self, value: Any) -> Any:
        """A scalar (or a const/enum value), its JSON charged to the room."""
        self.left -= len(orjson.dumps(value))
        return value

    def write(self, schema: Schema | bool, depth: int, name: str | None) -> Any:
        if schema is True:
            return self.spent(self.faker.word())
        if schema is False:
            raise UnsatisfiableSchemaError("the schema `false` admits no value")
        schema = self.resolve(schema)
        if "allOf" in schema:
            schema = self.merge_all_of(schema)
        if "const" in schema:
            return self.spent(schema["const"])
        if "enum" in schema:
            return self.spent(self.random.choice(schema["enum"]))
        if "anyOf" in schema or "oneOf" in schema:
            return self.write_union(schema, depth, name)
        return self.write_typed(schema, self.pick_type(schema, depth), depth, name)

    # --- references and combinators -------------------------------------------------

    def resolve(self, schema: Schema | bool) -> Schema:
        """`schema` with its `$ref`s followed. A subschema may be a boolean wherever a
        schema may be: `true` is `{}`, and `false` admits no value."""
        if schema is True:
            return {}
        if schema is False:
            raise UnsatisfiableSchemaError("the schema `false` admits no value")
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 64:
            schema = _merge(self.lookup(schema["$ref"]), _without(schema, "$ref"))
            seen += 1
        return schema

    def lookup(self, ref: str) -> Schema:
        if not ref.startswith("#"):
            raise UnsatisfiableSchemaError(f"only local references are supported, not {ref!r}")
        if len(ref) > 1 and ref[1] != "/":
            return _find_anchor(self.root, ref[1:])
        node: Any = self.root
        for part in filter(None, ref[1:].split("/")):
            node = node[unquote(part).replace("~1", "/").replace("~0", "~")]
        if isinstance(node, bool):
            return {} if node else {"not": {}}
        result: Schema = node
        return result

    def merge_all_of(self, schema: Schema) -> Schema:
        merged = _without(schema, "allOf")
        for part in schema["allOf"]:
            part = self.resolve(part)
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
        return self.merge_all_of(merged) if "allOf" in merged else merged

    def write_union(self, schema: Schema, depth: int, name: str | None) -> Any:
        branches = [*schema.get("anyOf", []), *schema.get("oneOf", [])]
        branches = [branch for branch in branches if branch is not False]  # none holds
        base = _without(schema, "anyOf", "oneOf")
        if depth >= self.max_depth:
            # Deep in a recursive schema: prefer a branch that ends the recursion.
            branches = sorted(branches, key=lambda b: _is_recursive(self.resolve(b)))[:1]
        branch = self.random.choice(branches)
        return self.write({**base, **self.resolve(branch)}, depth, name)

    # --- types ------------------------------------------------------------------------

    def pick_type(self, schema: Schema, depth: int) -> str:
        kind = schema.get("type")
        if isinstance(kind, str):
            return kind
        if isinstance(kind, list) and kind:
            if depth >= self.max_depth and "null" in kind:
                return "null"
            choice: str = self.random.choice(kind)
            return choice
        return _implied_type(schema)

    def write_typed(self, schema: Schema, kind: str, depth: int, name: str | None) -> Any:
        writers: dict[str, Callable[[], Any]] = {
            "object": lambda: self.write_object(schema, depth),
            "array": lambda: self.write_array(schema, depth, name),
            "string": lambda: self.write_string(schema, name),
            "integer": lambda: self.spent(self.write_number(schema, name, integer=True)),
            "number": lambda: self.spent(self.write_number(schema, name, integer=False)),
            "boolean": lambda: self.spent(self.random.random() < 0.5),
            "null": lambda: self.spent(None),
        }
        return writers.get(kind, writers["string"])()

    def write_object(self, schema: Schema, depth: int) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties", {})
        required = list(dict.fromkeys(schema.get("required", [])))
        optional = [key for key in properties if key not in required]
        if depth >= self.max_depth:
            chosen = required
        else:
            chosen = required + [key for key in optional if self.random.random() < 0.5]
        extra: Schema | bool = schema.get("additionalProperties", True)
        result: dict[str, Any] = {}
        self.left -= 2  # the braces
        for key in chosen:
            self.add_member(result, key, properties.get(key, extra), depth)
        self.add_extra_properties(result, schema, optional, depth)
        return result

    def add_member(self, result: dict[str, Any], key: str, schema: Any, depth: int) -> None:
        if self.full():
            return
        self.left -= len(orjson.dumps(key)) + 1 + (1 if result else 0)  # key, colon, comma
        result[key] = self.write(schema, depth + 1, key)

    def add_extra_properties(
        self, result: dict[str, Any], schema: Schema, optional: list[str], depth: int
    ) -> None:
        wanted = schema.get("minProperties", 0)
        spare = [key for key in optional if key not in result]
        while len(result) < wanted and spare and not self.full():
            key = spare.pop(0)
            self.add_member(result, key, schema["properties"][key], depth)
        extra = schema.get("additionalProperties", True)
        while len(result) < wanted and extra is not False and not self.full():
            self.add_member(result, self.new_name(result), extra, depth)
        limit = schema.get("maxProperties")
        if limit is None or len(result) <= limit:
            return
        required = set(schema.get("required", []))
        if len(required) > limit:
            raise UnsatisfiableSchemaError(
                f"{len(required)} properties are required, at most {limit} allowed"
            )
        for key in [k for k in reversed(result) if k not in required][: len(result) - limit]:
            del result[key]

    def new_name(self, taken: dict[str, Any]) -> str:
        """A property name not in `taken`: a word while Faker has unused ones, then numbered."""
        if not self.words_used_up:
            try:
                name: str = self.faker.unique.word()
                return name
            except UniquenessException:  # Faker tried a thousand words to say so: once
                self.words_used_up = True
        return f"{self.faker.word()}_{len(taken)}"

    def write_array(self, schema: Schema, depth: int, name: str | None) -> list[Any]:
        low = schema.get("minItems", 0)
        # Without maxItems, deeper arrays get shorter, so recursive schemas stay small.
        high = min(
            schema.get("maxItems", max(low, DEFAULT_MAX_ITEMS - depth)), low + MAX_EXTRA_ITEMS
        )
        prefix = schema.get("prefixItems", [])
        items = schema.get("items", True)
        if depth >= self.max_depth:
            count = low
        elif self.wants_items(items, name):
            count = self.asked_count(schema, low, high)
        else:
            count = self.random.randint(low, max(low, high))
        if items is False:
            count = min(count, len(prefix))
        self.left -= 2  # the brackets
        return self.write_items(schema, count, prefix, items, depth, name)

    def wants_items(self, items: Any, name: str | None) -> bool:
        """Whether the prompt asks for the things this array holds: objects, or names."""
        if not self.hints.asks_for(name):
            return False
        item = self.resolve(items) if isinstance(items, dict) else {}
        is_object = item.get("type") == "object" or "properties" in item
        return is_object or echo_kind(name) == "entity"

    def asked_count(self, schema: Schema, low: int, high: int) -> int:
        """As many items as the prompt names things (at least one), within the schema's
        bounds: "Alice and Bob" gives two people."""
        named = len(self.hints.entities) - self.next_entity
        most = min(int(schema.get("maxItems", low + MAX_EXTRA_ITEMS)), low + MAX_EXTRA_ITEMS)
        if named <= 0:
            drawn: int = self.random.randint(max(low, 1), max(low, 1, high))
            return min(most, drawn)
        return max(low, min(most, named))

    def write_items(
        self,
        schema: Schema,
        count: int,
        prefix: list[Any],
        items: Any,
        depth: int,
        name: str | None,
    ) -> list[Any]:
        result: list[Any] = []
        seen: set[bytes] = set()
        duplicates = 0
        for index in range(count * ATTEMPTS):
            if len(result) >= count or duplicates > MAX_DUPLICATES_IN_A_ROW or self.full():
                break
            item_schema = prefix[len(result)] if len(result) < len(prefix) else items
            left = self.left
            self.left -= 1 if result else 0  # the comma
            value = self.write(item_schema, depth + 1, name)
            key = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
            if schema.get("uniqueItems") and key in seen and index < count * ATTEMPTS - 1:
                self.left, duplicates = left, duplicates + 1  # not written after all
                continue
            seen.add(key)
            result.append(value)
            duplicates = 0
        return result

    def write_string(self, schema: Schema, name: str | None) -> str:
        if "pattern" in schema:
            text = self.pattern_text(schema)
        elif schema.get("format") in _FORMATS:
            text = _FORMATS[schema["format"]](self)
        else:
            text = self.named_text(name)
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        # Padding stops one character past the room: the text is cut there anyway.
        text = _fit_length(text, min(low, max(0, self.left) + 1), high)
        if len(text) < low:
            self.cut = True
        return str(self.spent(text))

    def pattern_text(self, schema: Schema) -> str:
        """A string matching the pattern, drawn again until it fits the length limits."""
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        pattern = sre_pattern(schema["pattern"])
        text = ""
        for _ in range(ATTEMPTS * 4):
            try:
                text = self.xeger.within(pattern, max(0, self.left) + 1)
            except re.error as error:  # RE2 syntax the rewriting leaves unread by `re`
                raise UnsatisfiableSchemaError(
                    f"no string can be drawn from the pattern {schema['pattern']!r}: {error}"
                ) from None
            if self.xeger.cut:
                self.cut = True
                return text
            if len(text) >= low and (high is None or len(text) <= high):
                return text
        return text

    def named_text(self, name: str | None) -> str:
        echoed = self.echoed(name)
        if echoed is not None:
            return echoed
        provider = provider_for(name or "")
        if provider is not None:
            return str(provider(self.faker))
        return " ".join(self.faker.words(self.random.randint(1, 3)))

    def echoed(self, name: str | None) -> str | None:
        """What the prompt said for a property that names a thing or holds a search: the
        next name it mentions ("Paris"), or its question's words; None when it said none."""
        kind = echo_kind(name)
        if kind == "entity" and self.next_entity < len(self.hints.entities):
            self.next_entity += 1
            return self.hints.entities[self.next_entity - 1]
        if kind == "query" and self.hints.query:
            return self.hints.query
        if kind == "answer" and self.hints.result:
            return self.hints.result
        return None

    def write_number(self, schema: Schema, name: str | None, integer: bool) -> int | float:
        # By schema object: an array of a hundred thousand numbers has one item schema.
        # The entry holds the schema, so its id cannot be reused by another while cached.
        key = (id(schema), integer, name)
        cached = self.bounds.get(key)
        if cached is None or cached[0] is not schema:
            cached = self.bounds[key] = (schema, _bounds(schema, integer, name))
        low, high = cached[1]
        step = schema.get("multipleOf")
        if step and math.isfinite(low / step) and math.isfinite(high / step):
            first, last = math.ceil(low / step), math.floor(high / step)
            multiple: float = self.random.randint(first, max(first, last)) * step
            return int(multiple) if integer or float(multiple).is_integer() else multiple
        # Without a step, or one so small beside the bounds that the count of its
        # multiples is not a float (1e-308): any float that far above the step is a
        # multiple of it as a float divides, which the validator is left to confirm.
        if integer:
            whole: int = self.random.randint(math.ceil(low), math.floor(high))
            return whole
        return _inside(float(self.random.uniform(low, high)), schema)


# --- helpers --------------------------------------------------------------------------


def _without(schema: Schema, *keys: str) -> Schema:
    return {k: v for k, v in schema.items() if k not in keys}


def _is_recursive(schema: Schema) -> bool:
    text = orjson.dumps(schema)
    return b"$ref" in text or schema.get("type") in ("object", "array")


def _implied_type(schema: Schema) -> str:
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema or "minItems" in schema:
        return "array"
    if any(k in schema for k in ("minimum", "maximum", "multipleOf", "exclusiveMinimum")):
        return "number"
    return "string"


def _bounds(schema: Schema, integer: bool, name: str | None) -> tuple[float, float]:
    default_low, default_high = _named_range(name)
    low = schema.get("minimum", -math.inf)
    high = schema.get("maximum", math.inf)
    if isinstance(schema.get("exclusiveMinimum"), int | float):
        low = max(low, schema["exclusiveMinimum"] + (1 if integer else 0))
    if isinstance(schema.get("exclusiveMaximum"), int | float):
        high = min(high, schema["exclusiveMaximum"] - (1 if integer else 0))
    if math.isinf(low) and math.isinf(high):
        return default_low, default_high
    if math.isinf(low):
        low = min(high, default_low) if high >= default_low else high - 100
    if math.isinf(high):
        high = max(low, default_high) if low <= default_high else low + 100
    return low, high


def _inside(value: float, schema: Schema) -> float:
    """Two decimals reads like data; keep them only when they stay inside the bounds."""
    rounded = round(value, 2)
    return rounded if _within(rounded, schema) else value


def _within(value: float, schema: Schema) -> bool:
    def bound(key: str) -> float | None:
        given = schema.get(key)
        return given if isinstance(given, int | float) and not isinstance(given, bool) else None

    low, high = bound("minimum"), bound("maximum")
    above, below = bound("exclusiveMinimum"), bound("exclusiveMaximum")
    return (
        (low is None or value >= low)
        and (high is None or value <= high)
        and (above is None or value > above)
        and (below is None or value < below)
    )


def _merge(target: Schema, siblings: Schema) -> Schema:
    """A `$ref`'s target with the keywords beside the `$ref` added (both apply)."""
    merged = {**target, **siblings}
    if "properties" in target and "properties" in siblings:
        merged["properties"] = {**target["properties"], **siblings["properties"]}
    if "required" in target and "required" in siblings:
        merged["required"] = [*target["required"], *siblings["required"]]
    return merged


def _find_anchor(node: Any, anchor: str) -> Schema:
    """The subschema declaring `"$anchor": anchor`."""
    if isinstance(node, dict):
        if node.get("$anchor") == anchor:
            return node
        children: list[Any] = list(node.values())
    elif isinstance(node, list):
        children = node
    else:
        children = []
    for child in children:
        try:
            return _find_anchor(child, anchor)
        except KeyError:
            continue
    raise KeyError(anchor)


def _named_range(name: str | None) -> tuple[float, float]:
    key = (name or "").lower()
    if "age" in key:
        return 18, 90
    if "year" in key:
        return 1990, 2030
    if any(word in key for word in ("price", "amount", "cost", "total")):
        return 1, 1000
    return 1, 100


def _fit_length(text: str, low: int, high: int | None) -> str:
    """Cut to maxLength; lengthened to minLength by repeating the text, space-separated.

    Repeated words read like text and tokenise like it: one unbroken run of a letter is a
    single piece to the tokenizer, whose merging grows faster than the run's length.
    """
    if len(text) < low:
        filler = " " + (text.strip() or "x")
        text = (text + filler * ((low - len(text)) // len(filler) + 1))[:low]
    return text if high is None else text[:high]


_COUNTED = frozenset({"LITERAL", "NOT_LITERAL", "ANY", "IN", "GROUPREF"})
# A class of more code points than this is not listed out (rstr lists every one, for
# every character drawn: `[\x{0}-\x{10FFFF}]{1000}` would be a billion).
_LARGE_CLASS = 256


def _class_size(value: Any) -> int:
    """The code points a parsed class names (categories count as one)."""
    size = 0
    for op, argument in value:
        if op.name == "RANGE":
            size += argument[1] - argument[0] + 1
        else:
            size += 1
    return size


class _BoundedXeger(rstr.Rstr):
    """rstr's strings from a pattern, stopped when they reach a room.

    `((a{100}){100}){100}` would otherwise be a million characters before anything could
    look at its length. Characters are counted where they are made (a literal, a class,
    a back-reference); inside a class, rstr builds candidate lists, not output.
    """

    def __init__(self, random: Any) -> None:
        super().__init__(random)
        self.left = 0
        self.cut = False
        self._in_class = 0
        # The members of the large classes of the pattern being drawn from, by class.
        self._large_classes: dict[int, tuple[Any, list[str], list[tuple[int, int]]]] = {}

    def within(self, pattern: str, room: int) -> str:
        self.left, self.cut, self._in_class = room, False, 0
        self._large_classes = {}
        text: str = self.xeger(pattern)
        return text

    def _handle_state(self, state: Any) -> Any:
        if self._in_class:
            return super()._handle_state(state)
        if self.left <= 0:
            self.cut = True
            return ""
        result = super()._handle_state(state)
        if state[0].name in _COUNTED:
            self.left -= len(result)
        return result

    def _handle_in(self, value: Any) -> Any:
        self._in_class += 1
        try:
            if _class_size(value) > _LARGE_CLASS:
                return self._large_class_char(value)
            return super()._handle_in(value)
        finally:
            self._in_class -= 1

    def _large_class_char(self, value: Any) -> str:
        """A character of a class of many code points (`[\\x{0}-\\x{10FFFF}]`), without
        listing them as rstr does: a printable ASCII one when the class (or, negated, its
        complement) has any, else any of its code points but a surrogate."""
        known = self._large_classes.get(id(value))
        if known is None or known[0] is not value:  # the entry holds the class: ids stay
            known = self._large_classes[id(value)] = (value, *self._class_members(value))
        _, printable, spans = known
        if printable or not spans:  # none at all: an IndexError, a dead end
            return str(self._random.choice(printable))
        offset = self._random.randrange(sum(high - low + 1 for low, high in spans))
        for low, high in spans:
            if offset <= high - low:
                return chr(low + offset)
            offset -= high - low + 1
        raise AssertionError("unreachable: the offset is inside the spans")

    def _class_members(self, value: Any) -> tuple[list[str], list[tuple[int, int]]]:
        """The printable ASCII characters of a class; when it has none, its code points
        as ranges (none for a negated class: rstr draws those from string.printable)."""
        negated = bool(value) and value[0][0].name == "NEGATE"
        items = value[1:] if negated else value
        printable = [c for c in string.printable if self._in_items(c, items) != negated]
        spans: list[tuple[int, int]] = []
        for op, argument in [] if printable or negated else items:
            if op.name in ("LITERAL", "RANGE"):
                low, high = (argument, argument) if op.name == "LITERAL" else argument
                for part in ((low, min(high, 0xD7FF)), (max(low, 0xE000), high)):
                    if part[0] <= part[1]:
                        spans.append(part)
        return printable, spans

    def _in_items(self, char: str, items: Any) -> bool:
        for op, argument in items:
            kind = op.name
            if kind == "LITERAL" and ord(char) == argument:
                return True
            if kind == "RANGE" and argument[0] <= ord(char) <= argument[1]:
                return True
            if kind == "CATEGORY" and char in self._categories[argument.name.lower()]():
                return True
        return False

    def _handle_repeat(self, start_range: int, end_range: int, value: Any) -> str:
        # rstr caps repeats at STAR_PLUS_LIMIT even below the minimum (`a{1000}` fails).
        times = self._random.randint(start_range, max(start_range, min(end_range, STAR_PLUS_LIMIT)))
        pieces: list[str] = []
        for _ in range(times):
            if self.left <= 0:
                self.cut = True
                break
            pieces.append("".join(self._handle_state(state) for state in value))
        return "".join(pieces)


# Property names come from requests and may be any length: only names up to this many
# characters are remembered (by the two caches below), longer ones are looked at each time.
_CACHED_NAME_LENGTH = 64


def provider_for(name: str) -> Callable[[Faker], Any] | None:
    """The Faker provider a property name asks for (`city`, `billing_email`), if any."""
    if len(name) > _CACHED_NAME_LENGTH:
        return _find_provider(name)
    return _cached_provider(name)


def _find_provider(name: str) -> Callable[[Faker], Any] | None:
    key = name.lower().replace("_", "").replace("-", "")
    for names, provider in _NAMED_PROVIDERS:
        if key in names or any(key.endswith(n) for n in names if len(n) > 4):
            return provider
    return None


_cached_provider = functools.lru_cache(maxsize=4096)(_find_provider)


# Properties that name a thing the prompt may mention: they echo its names, in order.
_ENTITY_KEYS = frozenset(
    "name fullname person customer contact author city town location country company "
    "organization organisation place destination origin entity ticker symbol brand product "
    "team recipient employer venue airport station".split()
)
# `user_name`, `file_name`: names the prompt does not give as capitalised words.
_NOT_ENTITY_NAMES = ("first", "given", "last", "family", "sur", "user", "file", "host", "domain")
# A final answer's text (smolagents' `answer`, an output model's `summary`): the latest
# tool result, as a model reports it; made up when there is none.
_ANSWER_KEYS = frozenset({"answer", "finalanswer", "summary", "result", "response", "output"})
_QUERY_KEYS = frozenset(
    "query q search searchquery searchterm searchterms question prompt topic keyword".split()
)


def echo_kind(name: str | None) -> str | None:
    """The kind "entity" for a property naming a thing (`city`, `people`, `product_name`), "query"
    for a search's words (`query`, `search_term`), "answer" for a final answer's text, else
    None."""
    if name is not None and len(name) > _CACHED_NAME_LENGTH:
        return _find_echo_kind(name)
    return _cached_echo_kind(name)


def _find_echo_kind(name: str | None) -> str | None:
    key = singular((name or "").lower().replace("_", "").replace("-", ""))
    if key in _QUERY_KEYS or singular(key) in _QUERY_KEYS:
        return "query"
    if key in _ANSWER_KEYS:
        return "answer"
    if key in _ENTITY_KEYS or (key.endswith("name") and not key.startswith(_NOT_ENTITY_NAMES)):
        return "entity"
    return None


_cached_echo_kind = functools.lru_cache(maxsize=4096)(_find_echo_kind)


def _ipv6(writer: _ValueWriter) -> str:
    return str(writer.faker.ipv6())


_FORMATS: dict[str, Callable[[_ValueWriter], str]] = {
    "date": lambda w: w.faker.date(),
    "date-time": lambda w: w.faker.date_time(tzinfo=UTC).isoformat(),
    "time": lambda w: w.faker.time() + "Z",
    "email": lambda w: w.faker.email(),
    "uri": lambda w: w.faker.url(),
    "url": lambda w: w.faker.url(),
    "uuid": lambda w: str(uuid.UUID(int=w.random.getrandbits(128), version=4)),
    "ipv4": lambda w: w.faker.ipv4(),
    "ipv6": _ipv6,
    "hostname": lambda w: w.faker.domain_name(),
    "duration": lambda w: f"P{w.random.randint(1, 30)}D",
}

_NAMED_PROVIDERS: list[tuple[frozenset[str], Callable[[Faker], Any]]] = [
    (frozenset({"email", "emailaddress", "mail"}), lambda f: f.email()),
    (frozenset({"firstname", "givenname"}), lambda f: f.first_name()),
    (frozenset({"lastname", "surname", "familyname"}), lambda f: f.last_name()),
    (frozenset({"username", "login", "handle"}), lambda f: f.user_name()),
    (
        frozenset({"name", "fullname", "author", "person", "customer", "contact"}),
        lambda f: f.name(),
    ),
    (frozenset({"city", "town", "location"}), lambda f: f.city()),
    (frozenset({"country"}), lambda f: f.country()),
    (frozenset({"countrycode"}), lambda f: f.country_code()),
    (frozenset({"state", "region", "province"}), lambda f: f.state()),
    (frozenset({"address", "streetaddress"}), lambda f: f.address().replace("\n", ", ")),
    (frozenset({"street"}), lambda f: f.street_address()),
    (frozenset({"zip", "zipcode", "postcode", "postalcode"}), lambda f: f.postcode()),
    (frozenset({"phone", "phonenumber", "telephone", "mobile"}), lambda f: f.phone_number()),
    (frozenset({"company", "organization", "organisation", "employer"}), lambda f: f.company()),
    (frozenset({"url", "website", "homepage", "link"}), lambda f: f.url()),
    (frozenset({"job", "jobtitle", "occupation", "role", "position"}), lambda f: f.job()),
    (frozenset({"title", "subject", "headline"}), lambda f: f.sentence(nb_words=4).rstrip(".")),
    (
        frozenset(
            {
                "description",
                "summary",
                "comment",
                "text",
                "body",
                "message",
                "content",
                "reason",
                "explanation",
                "notes",
            }
        ),
        lambda f: f.sentence(nb_words=10),
    ),
    (frozenset({"currency", "currencycode"}), lambda f: f.currency_code()),
    (frozenset({"language"}), lambda f: f.language_name()),
    (frozenset({"color", "colour"}), lambda f: f.color_name()),
    (frozenset({"date", "birthdate", "dob", "day"}), lambda f: f.date()),
    (frozenset({"timezone", "tz"}), lambda f: f.timezone()),
    (frozenset({"id", "identifier", "uuid"}), lambda f: f.uuid4()),
    (
        frozenset({"query", "search", "keyword", "keywords", "topic"}),
        lambda f: " ".join(f.words(2)),
    ),
]
