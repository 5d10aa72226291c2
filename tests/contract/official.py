"""The official Azure OpenAI inference document, as JSON Schema validators for response bodies.

The document (`tests/data/contracts-ref/2025-04-01-preview.inference.json`, OpenAPI 3.1) is
loaded whole and registered as one `referencing` resource, so its own
`#/components/schemas/...` references resolve; validators are Draft 2020-12.

Two edits make the document usable against the real wire, both in a copy:

1. OpenAPI's `nullable: true` is not JSON Schema (a 2020-12 validator ignores it): it is
   turned into a type union (`{"type": ["string", "null"]}`), or `anyOf [..., null]` where
   the node has no single type.
2. The document is not exact about `null` (DESIGN.md, "Fidelity policy"): real Azure sends
   `null` where it declares a plain type. Exactly the fields named in
   `RESPONSE_NULLABLE_FIELDS`, `STREAM_NULLABLE_FIELDS` and `ERROR_NULLABLE_FIELDS` are made
   nullable, each with the real bodies that show it.
3. One stream field carries a value outside the document's enum on the real wire:
   `STREAM_WIDENED_FIELDS` names it, with the value and the recordings. Nothing else is
   relaxed.

The document is vendored in `tests/data/` (its README gives the source and sha256). A missing
document is an error, never a skip: contract tests that cannot see the contract must fail.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.support.testdata import CONTRACTS_REF

DOCUMENT_NAME = "2025-04-01-preview.inference.json"
DOCUMENT_URI = "urn:azure-openai:inference:2025-04-01-preview"
RESPONSE_SCHEMA = "createChatCompletionResponse"
STREAM_SCHEMA = "createChatCompletionStreamResponse"
ERROR_SCHEMA = "errorResponse"

Schema = dict[str, Any]


class VendoredFileMissingError(RuntimeError):
    """A vendored reference file is not in `tests/data/`."""


@dataclass(frozen=True)
class NullableField:
    """A field real Azure sends as `null` although the document gives it a plain type."""

    wire: str  # where it sits in a body, e.g. "choices[].logprobs"
    component: str  # the `components/schemas` entry that declares it
    pointer: tuple[str | int, ...]  # the path from that component to the field's schema
    reason: str


RESPONSE_NULLABLE_FIELDS: tuple[NullableField, ...] = (
    NullableField(
        "choices[].logprobs",
        "createChatCompletionResponse",
        ("properties", "choices", "items", "properties", "logprobs"),
        "null in every real Azure chat.completion body (21 of 21); the document says object",
    ),
    NullableField(
        "choices[].message.refusal",
        "chatCompletionResponseMessage",
        ("properties", "refusal"),
        "null in every real 2025+ Azure body that has the key; the document says string",
    ),
    NullableField(
        "system_fingerprint",
        "createChatCompletionResponse",
        ("properties", "system_fingerprint"),
        "null on Azure for gpt-35-turbo (2024), gpt-5-nano and gpt-5.2; the document says string",
    ),
    NullableField(
        "choices[].message.content",
        "chatCompletionResponseMessage",
        ("properties", "content"),
        "null when the message carries only tool_calls (crewAI Azure recordings, 2026)",
    ),
)


@dataclass(frozen=True)
class WidenedField:
    """A field real Azure sends with a value its `enum` in the document does not list."""

    wire: str
    component: str
    pointer: tuple[str | int, ...]
    values: tuple[Any, ...]  # the values the wire adds to the enum
    reason: str


# Every real Azure stream (tests/data/real-traffic/azure: openllmetry test_chat_streaming [0-3],
# crewAI test_azure_streaming_returns_usage_metrics and the tool-call streaming test,
# dd-trace-py litellm completion_azure_stream) opens with the same prompt-filter frame.
STREAM_NULLABLE_FIELDS: tuple[NullableField, ...] = (
    NullableField(
        "system_fingerprint",
        STREAM_SCHEMA,
        ("properties", "system_fingerprint"),
        "null in every frame of the 2024-04 gpt-35-turbo stream (openllmetry "
        "test_chat_streaming [0]) and the 2026-06 gpt-5.2 stream (dd-trace-py litellm "
        "completion_azure_stream); the document says string",
    ),
)

STREAM_WIDENED_FIELDS: tuple[WidenedField, ...] = (
    WidenedField(
        "object",
        STREAM_SCHEMA,
        ("properties", "object"),
        ("",),
        '"" in the prompt-filter frame that opens every real Azure stream (with created 0, '
        'id and model ""); the document\'s enum is only "chat.completion.chunk"',
    ),
)

ERROR_NULLABLE_FIELDS: tuple[NullableField, ...] = (
    NullableField(
        "error.type",
        "error",
        ("properties", "type"),
        "null on Azure's prompt content-filter 400 (Azure SDK for Go fixture, issue excerpts)",
    ),
    NullableField(
        "error.param",
        "error",
        ("properties", "param"),
        "null on Azure's 500 server_error (reference/azure-contract.md section 3.14) and on the "
        "invalid-JSON 400 (section 3.4)",
    ),
    NullableField(
        "error.code",
        "errorBase",
        ("properties", "code"),
        "null on Azure's 500 server_error and tool-message-order 400s "
        "(reference/azure-contract.md sections 3.10, 3.14)",
    ),
)


def document_path(name: str = DOCUMENT_NAME, folder: Path = CONTRACTS_REF) -> Path:
    path = folder / name
    if not path.is_file():
        raise VendoredFileMissingError(
            f"the official OpenAPI document {path} is missing; contract tests need it "
            "(scripts/refresh_test_data.py writes tests/data/)"
        )
    return path


@cache
def _load_document(name: str) -> Schema:
    document: Schema = json.loads(document_path(name).read_text(encoding="utf-8"))
    return document


def official_document(name: str = DOCUMENT_NAME) -> Schema:
    """A fresh deep copy of the official document, exactly as published."""
    return copy.deepcopy(_load_document(name))


def fold_nullable(node: Any) -> Any:
    """Turn OpenAPI's `nullable` into JSON Schema type unions, everywhere under `node`."""
    if isinstance(node, list):
        return [fold_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: fold_nullable(value) for key, value in node.items() if key != "nullable"}
    return allow_null(result) if node.get("nullable") is True else result


def allow_null(schema: Schema) -> Schema:
    """`schema`, accepting `null` as well (a no-op if it already does)."""
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return schema
    if isinstance(kind, str) and "$ref" not in schema:
        widened: Schema = {**schema, "type": [kind, "null"]}
        if "enum" in schema:
            widened["enum"] = [*schema["enum"], None]
        return widened
    return {"anyOf": [schema, {"type": "null"}]}


def allow_values(schema: Schema, values: Iterable[Any]) -> Schema:
    """`schema` with `values` added to its `enum`."""
    return {**schema, "enum": [*schema["enum"], *values]}


def _holder(components: Schema, component: str, pointer: tuple[str | int, ...]) -> Any:
    """What holds the field: an object, or under allOf/anyOf a list."""
    holder: Any = components[component]
    for key in pointer[:-1]:
        holder = holder[key]
    return holder


def relax(
    document: Schema,
    fields: Iterable[NullableField],
    widened: Iterable[WidenedField] = (),
) -> Schema:
    """A copy of a (folded) document with each named field's schema made nullable, and each
    widened field's enum extended by its values."""
    relaxed = copy.deepcopy(document)
    components: Schema = relaxed["components"]["schemas"]
    for field in fields:
        holder = _holder(components, field.component, field.pointer)
        holder[field.pointer[-1]] = allow_null(holder[field.pointer[-1]])
    for wide in widened:
        holder = _holder(components, wide.component, wide.pointer)
        holder[wide.pointer[-1]] = allow_values(holder[wide.pointer[-1]], wide.values)
    return relaxed


def contract_document(
    *,
    fold: bool = True,
    nullable_fields: Iterable[NullableField] = (),
    widened_fields: Iterable[WidenedField] = (),
) -> Schema:
    """The document as tests validate against it: folded, then with the named fields relaxed."""
    document = official_document()
    if fold:
        document = fold_nullable(document)
    return relax(document, nullable_fields, widened_fields)


def validator_for(component: str, document: Schema) -> Validator:
    """A Draft 2020-12 validator for `#/components/schemas/<component>` of `document`."""
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)
    root = {"$ref": f"{DOCUMENT_URI}#/components/schemas/{component}"}
    return Draft202012Validator(root, registry=registry)


@cache
def response_validator() -> Validator:
    """`createChatCompletionResponse`, nullable folded, `RESPONSE_NULLABLE_FIELDS` relaxed."""
    document = contract_document(nullable_fields=RESPONSE_NULLABLE_FIELDS)
    return validator_for(RESPONSE_SCHEMA, document)


@cache
def stream_validator() -> Validator:
    """`createChatCompletionStreamResponse` for one parsed `data:` frame: nullable folded,
    `STREAM_NULLABLE_FIELDS` relaxed, `STREAM_WIDENED_FIELDS` widened."""
    document = contract_document(
        nullable_fields=STREAM_NULLABLE_FIELDS, widened_fields=STREAM_WIDENED_FIELDS
    )
    return validator_for(STREAM_SCHEMA, document)


@cache
def error_validator() -> Validator:
    """`errorResponse`, nullable folded, `ERROR_NULLABLE_FIELDS` relaxed."""
    document = contract_document(nullable_fields=ERROR_NULLABLE_FIELDS)
    return validator_for(ERROR_SCHEMA, document)


def violations(validator: Validator, body: Any) -> list[str]:
    """Every violation of `body`, as `path: message` lines (empty when the body conforms)."""
    return [
        f"{error.json_path}: {error.message}"
        for error in sorted(validator.iter_errors(body), key=lambda e: e.json_path)
    ]
