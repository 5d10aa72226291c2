"""Tool definitions as the model reads them: a TypeScript-like `namespace functions`.

The service does not show the model the JSON of `tools`; it renders each function as a
TypeScript type, and bills the tokens of that text:

    namespace functions {

    // Useful for getting customer related data.
    type comapny_customer_data = () => any;

    // Get the current temperature in a city.
    type get_current_temperature = (_: {
    // The name of the city to get the temperature for.
    city: string,
    unit?: "celsius" | "fahrenheit",
    }) => any;

    } // namespace functions

The layout is the one hmarr/openai-chat-tokens reverse-engineered from billed counts. With
o200k_base and o3-mini's framing it reproduces crewAI's o3-mini recording exactly (113 and
178 prompt tokens); crewAI's Azure gpt-4o-mini stream bills one token less for the same
layout (66), so the framing around it is per model (`PromptFraming`). Nested objects are
rendered inline, indented, their properties' descriptions left out as that layout does.
"""

from __future__ import annotations

import json
from typing import Any

# A schema nested deeper than this is rendered as `any`: it bounds the work on a hostile
# definition (the request schema does not limit nesting), far past any real tool's depth.
MAX_DEPTH = 16
INDENT = 2


def render_functions(functions: list[dict[str, Any]]) -> str:
    """The `namespace functions { ... }` text of the given function definitions."""
    lines = ["namespace functions {", ""]
    for function in functions:
        lines.extend(_function_lines(function))
        lines.append("")
    lines.append("} // namespace functions")
    return "\n".join(lines)


def _function_lines(function: dict[str, Any]) -> list[str]:
    name = function.get("name", "")
    lines = _comment(function.get("description"))
    parameters = function.get("parameters")
    schema = parameters if isinstance(parameters, dict) else {}
    if not _properties(schema):
        return [*lines, f"type {name} = () => any;"]
    return [*lines, f"type {name} = (_: {{", *_property_lines(schema, 0, 0), "}) => any;"]


def _property_lines(schema: dict[str, Any], indent: int, depth: int) -> list[str]:
    required = schema.get("required")
    required_names = set(required) if isinstance(required, list) else set()
    lines = []
    for name, value in _properties(schema).items():
        prop = value if isinstance(value, dict) else {}
        if indent < INDENT:  # the layout keeps descriptions of top-level properties only
            lines.extend(_comment(prop.get("description")))
        optional = "" if name in required_names else "?"
        lines.append(f"{name}{optional}: {_type(prop, indent, depth + 1)},")
    return [" " * indent + line for line in lines]


def _type(schema: dict[str, Any], indent: int, depth: int) -> str:
    if depth > MAX_DEPTH:
        return "any"
    if "enum" in schema and isinstance(schema["enum"], list):
        return " | ".join(_literal(item) for item in schema["enum"]) or "any"
    if "const" in schema:
        return _literal(schema["const"])
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            options = [s for s in schema[key] if isinstance(s, dict)]
            return " | ".join(_type(s, indent, depth + 1) for s in options) or "any"
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(_type({**schema, "type": k}, indent, depth + 1) for k in kind) or "any"
    return _typed(kind, schema, indent, depth)


def _typed(kind: Any, schema: dict[str, Any], indent: int, depth: int) -> str:
    if kind in ("number", "integer"):
        return "number"
    if kind in ("string", "boolean", "null"):
        return str(kind)
    if kind == "array":
        items = schema.get("items")
        return f"{_type(items, indent, depth + 1)}[]" if isinstance(items, dict) else "any[]"
    if kind == "object" and _properties(schema):
        inner = _property_lines(schema, indent + INDENT, depth)
        return "\n".join(["{", *inner, " " * indent + "}"])
    return "object" if kind == "object" else "any"


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties")
    return properties if isinstance(properties, dict) else {}


def _comment(description: Any) -> list[str]:
    return [f"// {description}"] if isinstance(description, str) and description else []


def _literal(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
