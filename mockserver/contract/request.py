"""From request bytes to a typed chat request, checked in the order the service checks."""

from __future__ import annotations

from dataclasses import field
from functools import cache
from typing import Any

import orjson

from mockserver.contract.api_versions import ApiVersion, undocumented_parameters
from mockserver.contract.data import load_json
from mockserver.contract.errors import catalogue_error, invalid_request
from mockserver.contract.model_card import ModelCard
from mockserver.contract.rules import (
    check_model_rules,
    check_parameter_rules,
    check_reasoning_effort_value,
    check_supported_values,
)
from mockserver.contract.schema_check import SchemaChecker
from mockserver.contract.tools import check_tooling
from mockserver.support.memo import Memo
from mockserver.support.scoped_key import ScopedBytes
from mockserver.support.values import value

# Bodies found valid, by api-version, model and the body's bytes: the checks are a pure
# function of the three, so a body sent again (a retry, a test's repeated call) is not
# checked again (from its third sending: a body is kept the second time it is found
# valid). Refusals are checked each time: their errors are changed on the way out.
_VALID: Memo[ScopedBytes, tuple[ApiVersion, ModelCard]] = Memo(
    max_entries=4096, max_size=32 * 2**20, second_sighting=True
)


@value
class ChatRequest:
    """A valid chat-completions request, with o3-mini's defaults applied."""

    body: dict[str, Any]
    messages: list[dict[str, Any]]
    reasoning_effort: str
    max_completion_tokens: int | None
    n: int
    stop: tuple[str, ...]
    seed: int | None
    stream: bool
    include_usage: bool
    tools: list[dict[str, Any]]
    # stream_options.include_obfuscation: false asks for frames without the pad (OpenAI's
    # documented switch, "to optimize for bandwidth").
    obfuscation_refused: bool = False
    service_tier: str | None = None  # the tier the answer names, when the request asked
    # The body's JSON bytes, its keys in their order (None when it has no JSON form): the
    # exact identity of what was asked, which the generator's memo keys on.
    body_bytes: bytes | None = field(default=None, compare=False, repr=False)


def check_chat_request(body: dict[str, Any], version: ApiVersion, card: ModelCard) -> ChatRequest:
    """Check a decoded body against the api-version's schema and the model's rules.

    A parameter o3-mini refuses is reported before a malformed message, as Azure does.
    """
    raw = json_bytes(body)
    key = None if raw is None else ScopedBytes((version.name, card.name), raw)
    known = None if key is None else _VALID.get(key)
    if known is None or known[0] != version or known[1] is not card:
        _check(body, version, card)
        if key is not None:
            _VALID.put(key, (version, card))
    return _typed(body, card, raw)


def json_bytes(body: dict[str, Any]) -> bytes | None:
    """The body as JSON bytes, keys in their order; None when it has no JSON form."""
    try:
        return orjson.dumps(body)
    except (orjson.JSONEncodeError, TypeError):
        return None


def _check(body: dict[str, Any], version: ApiVersion, card: ModelCard) -> None:
    check_reasoning_effort_value(body, card)
    _check_known_to_version(body, version)
    check_parameter_rules(body, card)
    checker_for(version.family).check(_documented_part(body))
    check_tooling(body)
    _check_stream_options(body)
    _check_metadata_needs_store(body)
    check_supported_values(body, card)
    check_model_rules(body, card)


def decode_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body, or the service's "could not parse" error."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise catalogue_error("InvalidJson") from None
    if not isinstance(body, dict):
        raise catalogue_error("InvalidJson")
    return body


def _check_known_to_version(body: dict[str, Any], version: ApiVersion) -> None:
    for name in body:
        if not version.knows(name):
            raise invalid_request(f"Unknown parameter: '{name}'.", name, "unknown_parameter")


def _check_stream_options(body: dict[str, Any]) -> None:
    if body.get("stream_options") is not None and not body.get("stream"):
        raise invalid_request(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
            None,
        )


def _check_metadata_needs_store(body: dict[str, Any]) -> None:
    if body.get("metadata") is not None and not body.get("store"):
        raise invalid_request(
            "The 'metadata' parameter is only allowed when 'store' is enabled.", "metadata", None
        )


def _documented_part(body: dict[str, Any]) -> dict[str, Any]:
    """The body as the documents describe it; what they get wrong is checked here instead.

    Parameters the documents lack (`service_tier`) are checked against their own schema.
    `stop: []` breaks the documents' `minItems: 1`, yet the service answers it (a real
    o3-mini request with it got a 200).
    """
    extras = undocumented_parameters()
    present = [name for name in body if name in extras]
    for name in present:
        _undocumented_checker(name).check(body[name], (name,))
    if not present and body.get("stop") != []:
        return body
    return {k: v for k, v in body.items() if k not in extras and not (k == "stop" and v == [])}


@cache
def _undocumented_checker(name: str) -> SchemaChecker:
    return SchemaChecker(undocumented_parameters()[name])


@cache
def checker_for(family: str) -> SchemaChecker:
    return SchemaChecker(load_json(f"schemas/{family}/chat_completion_request.json"))


def _typed(body: dict[str, Any], card: ModelCard, raw: bytes | None) -> ChatRequest:
    # The schema admits whole-number floats (2.0) as integers; from here on they are ints.
    stop = body.get("stop")
    stream_options = body.get("stream_options") or {}
    return ChatRequest(
        body=body,
        messages=body["messages"],
        reasoning_effort=body.get("reasoning_effort") or card.reasoning_effort.default,
        max_completion_tokens=_whole(body.get("max_completion_tokens")),
        n=_whole(body.get("n")) or 1,
        stop=(stop,) if isinstance(stop, str) else tuple(stop or ()),
        seed=_whole(body.get("seed")),
        stream=bool(body.get("stream")),
        include_usage=bool(stream_options.get("include_usage")),
        tools=body.get("tools") or _functions_as_tools(body.get("functions")),
        obfuscation_refused=stream_options.get("include_obfuscation") is False,
        service_tier=card.served_service_tier if body.get("service_tier") is not None else None,
        body_bytes=raw,
    )


def _functions_as_tools(functions: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The deprecated `functions` count, and are answered, as function tools."""
    return [{"type": "function", "function": function} for function in functions or []]


def _whole(value: Any) -> int | None:
    return None if value is None else int(value)
