"""Strict mode: the JSON Schema subset Structured Outputs accepts, with the service's wording.

A violation reads "Invalid schema for function 'get_weather': In context=('properties',
'unit'), 'additionalProperties' is required to be supplied and to be false." The
context is the path from the schema root as a Python tuple, as the service prints it.
The first violation found, walking properties in order, is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from mockserver.contract.data import load_json

Context = tuple[str, ...]


class StrictSchemaError(ValueError):
    """One rule of strict mode broken; `str()` is the service's sentence after the prefix."""


@dataclass(frozen=True)
class StrictRules:
    supported_formats: frozenset[str]
    unsupported_keywords: tuple[str, ...]
    max_nesting_depth: int
    max_object_properties: int
    max_enum_values: int
    max_total_string_length: int


@cache
def strict_rules() -> StrictRules:
    data = load_json("strict_schema.json")
    return StrictRules(
        supported_formats=frozenset(data["supported_formats"]),
        unsupported_keywords=tuple(data["unsupported_keywords"]),
        max_nesting_depth=data["max_nesting_depth"],
        max_object_properties=data["max_object_properties"],
        max_enum_values=data["max_enum_values"],
        max_total_string_length=data["max_total_string_length"],
    )


def check_object_root(schema: Any) -> None:
    """Function parameters and structured outputs must be object schemas."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    if kind != "object":
        shown = "None" if kind is None else str(kind)
        raise StrictSchemaError(
            f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{shown}\"'."
        )


def check_arrays_have_items(schema: Any, context: Context = ()) -> None:
    """Every array schema needs `items`; the service checks this even outside strict mode."""
    if isinstance(schema, dict):
        if schema.get("type") == "array" and "items" not in schema:
            raise StrictSchemaError(f"In context={context!r}, array schema missing items.")
        for key, child in _children(schema):
            check_arrays_have_items(child, (*context, *key))


def check_strict(schema: dict[str, Any]) -> None:
    """Raise the first strict-mode violation in `schema` (whose root is already an object)."""
    walker = _StrictWalker(strict_rules())
    walker.walk(schema, (), depth=1)
    for name, definition in _definitions(schema):
        walker.string_length += len(name[-1])  # definition names count toward the limit
        walker.walk(definition, name, depth=1)
    walker.check_totals()


@dataclass
class _StrictWalker:
    rules: StrictRules
    properties: int = 0
    enum_values: int = 0
    string_length: int = 0
    seen: set[int] = field(default_factory=set)

    def walk(self, node: Any, context: Context, depth: int) -> None:
        if not isinstance(node, dict) or id(node) in self.seen:
            return
        self.seen.add(id(node))
        self.check_node(node, context, depth)
        for key, child in _children(node):
            self.walk(child, (*context, *key), depth + (key[0] == "properties"))

    def check_node(self, node: dict[str, Any], context: Context, depth: int) -> None:
        where = f"In context={context!r}, "
        for keyword in self.rules.unsupported_keywords:
            if keyword in node:
                raise StrictSchemaError(f"{where}'{keyword}' is not permitted.")
        if not any(k in node for k in ("type", "$ref", "anyOf", "enum", "const")):
            raise StrictSchemaError(f"{where}schema must have a 'type' key.")
        fmt = node.get("format")
        if fmt is not None and fmt not in self.rules.supported_formats:
            raise StrictSchemaError(f"{where}'{fmt}' is not a valid format.")
        if _is_object(node):
            self.check_object(node, where, depth)
        if "enum" in node:
            self.count_enum(node["enum"])
        if "const" in node:
            self.string_length += len(str(node["const"]))

    def check_object(self, node: dict[str, Any], where: str, depth: int) -> None:
        if depth > self.rules.max_nesting_depth:
            raise StrictSchemaError(
                f"{where}the schema exceeds the maximum nesting depth of "
                f"{self.rules.max_nesting_depth}."
            )
        if node.get("additionalProperties") is not False:
            raise StrictSchemaError(
                f"{where}'additionalProperties' is required to be supplied and to be false."
            )
        properties = list(node.get("properties", {}))
        required = node.get("required")
        self.properties += len(properties)
        self.string_length += sum(len(name) for name in properties)
        if not isinstance(required, list):
            raise _required_violation(where, f"Missing '{properties[0]}'." if properties else "")
        for name in properties:
            if name not in required:
                raise _required_violation(where, f"Missing '{name}'.")
        for name in required:
            if name not in properties:
                raise _required_violation(where, f"Extra required key '{name}' supplied.")

    def count_enum(self, values: Any) -> None:
        if isinstance(values, list):
            self.enum_values += len(values)
            self.string_length += sum(len(str(v)) for v in values)

    def check_totals(self) -> None:
        rules = self.rules
        if self.properties > rules.max_object_properties:
            raise StrictSchemaError(
                f"The schema has {self.properties} object properties, more than the maximum "
                f"of {rules.max_object_properties}."
            )
        if self.enum_values > rules.max_enum_values:
            raise StrictSchemaError(
                f"The schema has {self.enum_values} enum values, more than the maximum of "
                f"{rules.max_enum_values}."
            )
        if self.string_length > rules.max_total_string_length:
            raise StrictSchemaError(
                f"The total string length of property names, definition names, enum values "
                f"and const values is {self.string_length}, more than the maximum of "
                f"{rules.max_total_string_length}."
            )


def _required_violation(where: str, detail: str) -> StrictSchemaError:
    sentence = (
        f"{where}'required' is required to be supplied and to be an array including every "
        "key in properties."
    )
    return StrictSchemaError(f"{sentence} {detail}" if detail else sentence)


def _is_object(node: dict[str, Any]) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind)


def _children(node: dict[str, Any]) -> list[tuple[Context, Any]]:
    """Sub-schemas with the context steps that lead to them, in document order."""
    found: list[tuple[Context, Any]] = []
    for name, child in (node.get("properties") or {}).items():
        found.append((("properties", name), child))
    if isinstance(node.get("items"), dict):
        found.append((("items",), node["items"]))
    for keyword in ("anyOf", "prefixItems"):
        for index, child in enumerate(node.get(keyword) or []):
            found.append(((keyword, str(index)), child))
    return found


def _definitions(schema: dict[str, Any]) -> list[tuple[Context, Any]]:
    return [
        ((section, name), definition)
        for section in ("$defs", "definitions")
        for name, definition in (schema.get(section) or {}).items()
    ]
