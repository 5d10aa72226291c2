"""Extract the schemas mockserver checks against from an official Azure OpenAPI file.

Usage: python scripts/extract_contract.py OPENAPI_FILE FAMILY

Writes into contracts/schemas/FAMILY/, each schema with every reachable `$ref` copied
under `$defs`, `allOf` merged, descriptions and examples dropped, and OpenAPI's
`nullable` turned into JSON Schema type unions:

- chat_completion_request.json: `createChatCompletionRequest`, what requests are checked
  against (with the two edits below);
- chat_completion_response.json: `createChatCompletionResponse`, exactly as published;
- chat_completion_chunk.json: `createChatCompletionStreamResponse`, exactly as published;
- error_response.json: `errorResponse`, exactly as published.

The response schemas are the document's own: the few fields where the real wire differs
from it are relaxed by the tests (tests/contract/official.py), not here. In them a property
that happens to be called `description` or `title` is kept (only the prose keys go).

Two deliberate edits make the request schema usable as a server-side contract (both
listed in docs/fidelity.md):

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
REQUEST_FILE = "chat_completion_request.json"
# Output file -> the component it holds; the responses are copied without edits.
RESPONSE_FILES = {
    "chat_completion_response.json": "createChatCompletionResponse",
    "chat_completion_chunk.json": "createChatCompletionStreamResponse",
    "error_response.json": "errorResponse",
}


class Extraction:
    """The `$defs` of one output file, and how property names are treated while copying.

    The request schema has always been copied with properties named like a prose key
    (`description`, `title`) dropped as well; its committed bytes depend on that, and no
    closed object of the request has such a property, so it is kept as it is. The response
    schemas keep those properties.
    """

    def __init__(self, components: dict[str, Any], keep_property_names: bool) -> None:
        self.components = components
        self.keep_property_names = keep_property_names
        self.defs: dict[str, Any] = {}


def main(argv: list[str]) -> int:
    source, family = Path(argv[0]), argv[1]
    document = json.loads(source.read_text(encoding="utf-8"))
    components = document["components"]["schemas"]
    out = Path(__file__).resolve().parent.parent / "contracts" / "schemas" / family
    out.mkdir(parents=True, exist_ok=True)
    write(out / REQUEST_FILE, request_schema(components, source.name))
    for file_name, component in RESPONSE_FILES.items():
        write(out / file_name, response_schema(components, component, source.name))
    return 0


def request_schema(components: dict[str, Any], source_name: str) -> dict[str, Any]:
    extraction = Extraction(components, keep_property_names=False)
    root = clean(components[ROOT_SCHEMA], extraction)
    root = tighten_top_level(root, extraction.defs)
    return finish(root, extraction, source_name)


def response_schema(components: dict[str, Any], component: str, source_name: str) -> Any:
    extraction = Extraction(components, keep_property_names=True)
    root = clean(components[component], extraction)
    return finish(root, extraction, source_name)


def finish(root: dict[str, Any], extraction: Extraction, source_name: str) -> dict[str, Any]:
    root["$defs"] = dict(sorted(extraction.defs.items()))
    root["$comment"] = f"Extracted from {source_name} by scripts/extract_contract.py; do not edit."
    return root


def write(target: Path, schema: dict[str, Any]) -> None:
    target.write_text(json.dumps(schema, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {target} ({len(schema['$defs'])} definitions)")


def clean(node: Any, extraction: Extraction) -> Any:
    """Copy a schema node: drop prose, keep refs local, merge allOf, fold nullable."""
    if isinstance(node, list):
        return [clean(item, extraction) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return copy_ref(node, extraction)
    result = {k: clean_child(k, v, extraction) for k, v in node.items() if keep_key(k)}
    if "allOf" in result:
        result = merge_all_of(result)
    return fold_nullable(result)


def clean_child(key: str, value: Any, extraction: Extraction) -> Any:
    if key == "properties" and extraction.keep_property_names and isinstance(value, dict):
        return {name: clean(schema, extraction) for name, schema in value.items()}
    return clean(value, extraction)


def keep_key(key: str) -> bool:
    return key not in DROPPED_KEYS and not key.startswith("x-")


def copy_ref(node: dict[str, Any], extraction: Extraction) -> Any:
    name = node["$ref"].removeprefix(REF_PREFIX)
    defs = extraction.defs
    if name not in defs:
        defs[name] = {}  # placeholder first: recursive schemas terminate
        defs[name] = clean(extraction.components[name], extraction)
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
