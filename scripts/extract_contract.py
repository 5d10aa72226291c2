"""Extract the request schemas mockserver validates against from an official Azure OpenAPI file.

Usage: python scripts/extract_contract.py OPENAPI_FILE FAMILY

Writes contracts/schemas/FAMILY/chat_completion_request.json: the schema of
`createChatCompletionRequest` with every reachable `$ref` copied under `$defs`,
`allOf` merged, descriptions and examples dropped, and OpenAPI's `nullable` turned
into JSON Schema type unions. Two deliberate edits make the official document
usable as a server-side contract (both listed in docs/fidelity.md):

- the top level gets `model` (every SDK sends it) and `additionalProperties: false`
  (Azure rejects unknown top-level parameters);
- every optional top-level property accepts `null`, because the service treats an
  explicit `null` as "not given".

Rerun it when a new api-version document appears; the output is committed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DROPPED_KEYS = {"description", "example", "examples", "title", "deprecated", "default"}
ROOT_SCHEMA = "createChatCompletionRequest"
REF_PREFIX = "#/components/schemas/"


def main(argv: list[str]) -> int:
    source, family = Path(argv[0]), argv[1]
    document = json.loads(source.read_text(encoding="utf-8"))
    components = document["components"]["schemas"]
    defs: dict[str, Any] = {}
    root = clean(components[ROOT_SCHEMA], components, defs)
    root = tighten_top_level(root, defs)
    root["$defs"] = dict(sorted(defs.items()))
    root["$comment"] = f"Extracted from {source.name} by scripts/extract_contract.py; do not edit."
    out = Path(__file__).resolve().parent.parent / "contracts" / "schemas" / family
    out.mkdir(parents=True, exist_ok=True)
    target = out / "chat_completion_request.json"
    target.write_text(json.dumps(root, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {target} ({len(defs)} definitions)")
    return 0


def clean(node: Any, components: dict[str, Any], defs: dict[str, Any]) -> Any:
    """Copy a schema node: drop prose, keep refs local, merge allOf, fold nullable."""
    if isinstance(node, list):
        return [clean(item, components, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return copy_ref(node, components, defs)
    result = {k: clean(v, components, defs) for k, v in node.items() if keep_key(k)}
    if "allOf" in result:
        result = merge_all_of(result)
    return fold_nullable(result)


def keep_key(key: str) -> bool:
    return key not in DROPPED_KEYS and not key.startswith("x-")


def copy_ref(node: dict[str, Any], components: dict[str, Any], defs: dict[str, Any]) -> Any:
    name = node["$ref"].removeprefix(REF_PREFIX)
    if name not in defs:
        defs[name] = {}  # placeholder first: recursive schemas terminate
        defs[name] = clean(components[name], components, defs)
    ref: dict[str, Any] = {"$ref": f"#/$defs/{name}"}
    if node.get("nullable"):
        return {"anyOf": [ref, {"type": "null"}]}
    return ref


def merge_all_of(node: dict[str, Any]) -> dict[str, Any]:
    """allOf of plain object schemas (and local refs) becomes one object schema."""
    merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
    parts = node["allOf"]
    if any("$ref" in part for part in parts):
        return node  # refs are merged by the walker at validation time
    for part in parts:
        merged.setdefault("properties", {}).update(part.get("properties", {}))
        merged["required"] = merged.get("required", []) + part.get("required", [])
    return merged


def fold_nullable(node: dict[str, Any]) -> dict[str, Any]:
    if not node.pop("nullable", False):
        return node
    kind = node.get("type")
    if isinstance(kind, str):
        node["type"] = [kind, "null"]
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
        return node
    return {"anyOf": [node, {"type": "null"}]}


def tighten_top_level(root: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Resolve the top-level allOf into one closed object with nullable optionals."""
    properties: dict[str, Any] = {"model": {"type": ["string", "null"]}}
    required: list[str] = []
    for part in root.get("allOf", [root]):
        if "$ref" in part:
            part = defs.pop(part["$ref"].removeprefix("#/$defs/"))
        properties.update(part.get("properties", {}))
        required += part.get("required", [])
    for name, schema in properties.items():
        if name not in required:
            properties[name] = accept_null(schema)
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(set(required)),
        "additionalProperties": False,
    }


def accept_null(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return schema
    if any(b.get("type") == "null" for b in schema.get("anyOf", []) + schema.get("oneOf", [])):
        return schema
    if isinstance(kind, str) and "enum" not in schema:
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
