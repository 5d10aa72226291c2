"""Arguments for a tool that a text protocol names: valid for its described input, with
the question itself in the first text argument (what a model searches for is the ask)."""

from __future__ import annotations

import random
from typing import Any

import orjson

from mockserver.engines.structured import json_within

# A described parameter's Python type name, as the JSON Schema type it stands for.
PYTHON_TYPES = {
    "str": "string",
    "string": "string",
    "int": "integer",
    "integer": "integer",
    "float": "number",
    "number": "number",
    "bool": "boolean",
    "boolean": "boolean",
    "list": "array",
    "dict": "object",
}


def schema_of_signature(parameters: list[tuple[str, str]]) -> dict[str, Any]:
    """An object schema for `name: type` parameters, as a Python signature lists them."""
    properties = {
        name: {"type": PYTHON_TYPES.get(kind.split("[")[0].strip().lower(), "string")}
        for name, kind in parameters
    }
    return {"type": "object", "properties": properties, "required": list(properties)}


def arguments_for(
    schema: dict[str, Any], ask: str, rng: random.Random, visible: int
) -> dict[str, Any]:
    """An object valid against `schema` whose first text property holds the ask."""
    text = json_within(schema, rng.randbytes(16), visible)
    try:
        made = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(made, dict):
        return {}
    properties = schema.get("properties")
    for name, spec in properties.items() if isinstance(properties, dict) else ():
        if isinstance(spec, dict) and spec.get("type") == "string" and "enum" not in spec:
            if name in made and ask:
                made[name] = ask
            break
    return made
