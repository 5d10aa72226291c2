"""The one error type of the server, and the catalogue of Azure's real error bodies.

Every error a client can see is an `AzureError`: its status, the exact body bytes and
any extra headers. Bodies come from `contracts/errors.json` (named, with their real key
order and spacing) or, for model-backend validation errors, from `invalid_request`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson

from mockserver.contract.data import load_json

JSON_CONTENT_TYPE = "application/json"


@dataclass
class AzureError(Exception):
    """An error answered with Azure's status, body and headers."""

    status: int
    body: bytes
    content_type: str | None = JSON_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    name: str = ""
    reason: str | None = None  # the status line's phrase, where Azure's is not the standard one
    chunked: bool = False  # sent in chunks, with no Content-Length, as Azure sends it

    def __str__(self) -> str:
        return f"{self.status} {self.name}: {self.body.decode('utf-8', 'replace')}"

    def payload(self) -> Any:
        """The parsed body, for tests and the journal."""
        return json.loads(self.body)


def catalogue_error(name: str, surface: str = "dated", /, **values: object) -> AzureError:
    """Build the named error of the catalogue, filling its {placeholders} with `values`.

    An entry may hold a variant per surface (`"v1": {...}`) where the v1 API answers
    with a shape of its own.
    """
    entry = _catalogue()[name]
    entry = {**entry, **entry.get(surface, {})}
    fmt = entry.get("format", "compact")
    if fmt == "raw":
        body: bytes = entry["raw"].encode()
    else:
        body = encode_body(_fill(entry["body"], values), fmt)
    content_type = entry.get("content_type", JSON_CONTENT_TYPE)
    reason, chunked = entry.get("reason"), entry.get("chunked", False)
    status = entry["status"]
    return AzureError(status, body, content_type, name=name, reason=reason, chunked=chunked)


def invalid_request(
    message: str, param: str | None, code: str | None, status: int = 400
) -> AzureError:
    """A 400 (or 403) from the model backend: OpenAI's envelope and key order."""
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    body = encode_body({"error": error}, "pretty")
    return AzureError(status, body, name=code or "invalid_request")


def encode_body(body: Any, fmt: str) -> bytes:
    if fmt == "pretty":
        return json.dumps(body, indent=2, ensure_ascii=False).encode()
    if fmt == "spaced":
        return json.dumps(body, ensure_ascii=False).encode()
    return orjson.dumps(body)


def catalogue_names() -> list[str]:
    return sorted(_catalogue())


def _catalogue() -> dict[str, dict[str, Any]]:
    errors: dict[str, dict[str, Any]] = load_json("errors.json")["errors"]
    return errors


def _fill(template: Any, values: dict[str, object]) -> Any:
    if isinstance(template, str):
        return _format(template, values)
    if isinstance(template, dict):
        return {key: _fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(item, values) for item in template]
    return template


def _format(text: str, values: dict[str, object]) -> str:
    # Placeholders absent from `values` stay literal: Azure itself sends "{modelName}".
    class _Keep(dict[str, object]):
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    return text.format_map(_Keep(values))
