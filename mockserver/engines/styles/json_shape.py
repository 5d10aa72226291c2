"""The JSON a prompt asks for, read from its text: a JSON Schema pasted into it, a JSON
example of the reply, or the key names it lists ("with the keys `name` and `age`").

Real models follow the prompt's keys; the reply's values are generated from the schema
this makes (see `jsonschema_gen`), so their types are the ones shown.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Candidate `{` positions tried as the start of a JSON value: bounds the work on any prompt.
MAX_CANDIDATES = 64
MAX_KEYS = 32
_KEY_LIST = re.compile(
    r"\b(?:keys?|fields?|properties|attributes)\b[^.\n`\"']{0,30}"
    r"((?:[`\"']\w{1,64}[`\"'],? ?(?:and |or |& )?){1,32})",
    re.IGNORECASE,
)
_NAME = re.compile(r"[`\"'](\w{1,64})[`\"']")
# Key names whose values are numbers in any prompt that names them.
_NUMERIC_NAMES = frozenset(
    "age count year total score rating quantity amount price confidence probability".split()
)
_FALLBACK: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
}
_EXAMPLE_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number"}


def asked_schema(text: str) -> dict[str, Any] | None:
    """The schema of the JSON the text asks for, or None when it shows no shape."""
    found = _largest_object(text)
    if found is not None:
        return found if _is_schema(found) else schema_of_example(found)
    names = _listed_keys(text)
    if not names:
        return None
    properties = {name: {"type": _type_of_name(name)} for name in names}
    return {"type": "object", "properties": properties, "required": list(properties)}


def asked_or_default(text: str) -> dict[str, Any]:
    return asked_schema(text) or _FALLBACK


def schema_of_example(example: Any) -> dict[str, Any]:
    """A schema every value of the example's shape (keys and value types) satisfies."""
    if isinstance(example, dict):
        properties = {str(key): schema_of_example(value) for key, value in example.items()}
        return {"type": "object", "properties": properties, "required": list(properties)}
    if isinstance(example, list):
        items = schema_of_example(example[0]) if example else {"type": "string"}
        return {"type": "array", "items": items, "minItems": 1}
    return {"type": _EXAMPLE_TYPES.get(type(example), "string")}


def _is_schema(found: dict[str, Any]) -> bool:
    return isinstance(found.get("properties"), dict) and found.get("type", "object") == "object"


def _largest_object(text: str) -> dict[str, Any] | None:
    """The longest JSON object written in the text (an object inside it is not tried)."""
    decoder, best, best_size, end = json.JSONDecoder(), None, 0, 0
    for tried, match in enumerate(re.finditer(r"\{", text)):
        start = match.start()
        if tried >= MAX_CANDIDATES:
            break
        if start < end:
            continue
        try:
            value, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict) and value and end - start > best_size:
            best, best_size = value, end - start
    return best


def _listed_keys(text: str) -> list[str]:
    names: dict[str, None] = {}
    for listed in _KEY_LIST.finditer(text):
        names.update(dict.fromkeys(_NAME.findall(listed.group(1))))
    return list(names)[:MAX_KEYS]


def _type_of_name(name: str) -> str:
    return "number" if name.lower() in _NUMERIC_NAMES else "string"
