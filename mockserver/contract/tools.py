"""Tools, tool_choice and response_format, checked as the service checks them."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs

from mockserver.contract.errors import AzureError, invalid_request
from mockserver.contract.schema_check import missing_parameter, string_too_long
from mockserver.contract.strict_schema import (
    StrictSchemaError,
    check_arrays_have_items,
    check_object_root,
    check_strict,
)
from mockserver.engines.matching import message_text

MAX_TOOLS = 128
# A registry given to the meta-schema check: with one, jsonschema-rs retrieves nothing.
_NOTHING_FETCHED = jsonschema_rs.Registry([])
NAME_PATTERN = "^[a-zA-Z0-9_-]+$"
MAX_NAME_LENGTH = 64
_NAME = re.compile(NAME_PATTERN)


def check_tooling(body: dict[str, Any]) -> None:
    tools: list[dict[str, Any]] = body.get("tools") or []
    if len(tools) > MAX_TOOLS:
        raise invalid_request(
            f"Invalid 'tools': array too long. Expected an array with maximum length "
            f"{MAX_TOOLS}, but got an array with length {len(tools)} instead.",
            "tools",
            "array_above_max_length",
        )
    for index, tool in enumerate(tools):
        _check_function(tool["function"], f"tools[{index}].function")
    functions: list[dict[str, Any]] = body.get("functions") or []
    for index, function in enumerate(functions):
        _check_function(function, f"functions[{index}]")
    check_tool_choice(body.get("tool_choice"), tools)
    _check_function_call(body.get("function_call"), functions)
    check_response_format(body.get("response_format"), body["messages"])


def check_name(name: str, param: str) -> None:
    if not name:
        raise invalid_request(
            f"Invalid '{param}': empty string. Expected a string with minimum length 1, "
            "but got an empty string instead.",
            param,
            "empty_string",
        )
    if len(name) > MAX_NAME_LENGTH:
        raise string_too_long(param, MAX_NAME_LENGTH, len(name))
    if not _NAME.match(name):
        raise invalid_request(
            f"Invalid '{param}': string does not match pattern. Expected a string that "
            f"matches the pattern '{NAME_PATTERN}'.",
            param,
            "invalid_value",
        )


def _check_function(function: dict[str, Any], where: str) -> None:
    name = function["name"]
    check_name(name, f"{where}.name")
    parameters = function.get("parameters")
    if parameters is None:
        return
    try:
        _check_schema(parameters, strict=bool(function.get("strict")))
    except StrictSchemaError as violation:
        raise invalid_request(
            f"Invalid schema for function '{name}': {violation}",
            f"{where}.parameters",
            "invalid_function_parameters",
        ) from None


def _check_schema(schema: Any, strict: bool) -> None:
    check_object_root(schema)
    _check_meta_schema(schema)
    check_arrays_have_items(schema)
    if strict:
        check_strict(schema)


def _check_meta_schema(schema: dict[str, Any]) -> None:
    """Checked offline: a `$ref` or a `$schema` naming a URL is refused, never fetched (by
    default jsonschema-rs fetches it, on the event loop's thread, from wherever the client
    pointed: a hang for as long as that server keeps it waiting)."""
    try:
        jsonschema_rs.meta.validate(schema, registry=_NOTHING_FETCHED)
        jsonschema_rs.validator_for(schema, offline=True)  # resolves every $ref
    except jsonschema_rs.ValidationError as error:
        raise StrictSchemaError(f"{error.message}.") from None
    except (jsonschema_rs.ReferencingError, ValueError) as error:
        raise StrictSchemaError(f"{error}.") from None


def check_tool_choice(choice: Any, tools: list[dict[str, Any]]) -> None:
    if choice is None:
        return
    if not tools:
        raise invalid_request(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
            "specified.",
            "tool_choice",
            None,
        )
    if isinstance(choice, dict):
        wanted = choice["function"]["name"]
        if wanted not in {tool["function"]["name"] for tool in tools}:
            raise invalid_request(
                "Tool choice 'function' not found in 'tools' parameter.", "tool_choice", None
            )


def _check_function_call(choice: Any, functions: list[dict[str, Any]]) -> None:
    """The legacy pair, checked as its successor `tool_choice` is."""
    if choice is None:
        return
    if not functions:
        raise invalid_request(
            "Invalid value for 'function_call': 'function_call' is only allowed when "
            "'functions' are specified.",
            "function_call",
            None,
        )
    if isinstance(choice, dict) and choice["name"] not in {f["name"] for f in functions}:
        raise invalid_request(
            f"Invalid value for 'function_call': function '{choice['name']}' not found in "
            "'functions'.",
            "function_call",
            None,
        )


def check_response_format(response_format: Any, messages: list[dict[str, Any]]) -> None:
    if not isinstance(response_format, dict):
        return
    kind = response_format.get("type")
    if kind == "json_object" and not _mentions_json(messages):
        raise invalid_request(
            "'messages' must contain the word 'json' in some form, to use 'response_format' "
            "of type 'json_object'.",
            "messages",
            None,
        )
    if kind == "json_schema":
        _check_json_schema_format(response_format.get("json_schema"))


def _check_json_schema_format(spec: Any) -> None:
    # The schema check refuses these shapes first; the guards keep a document that lets
    # one through (2024-10-21 does not require `schema`) at a 400, never a KeyError's 500.
    if not isinstance(spec, dict):
        raise missing_parameter("response_format.json_schema")
    name = spec.get("name")
    if not isinstance(name, str):
        raise missing_parameter("response_format.json_schema.name")
    check_name(name, "response_format.json_schema.name")
    try:
        _check_schema(spec.get("schema"), strict=bool(spec.get("strict")))
    except StrictSchemaError as violation:
        raise _response_format_error(name, violation) from None


def _response_format_error(name: str, violation: StrictSchemaError) -> AzureError:
    return invalid_request(
        f"Invalid schema for response_format '{name}': {violation}",
        "response_format",
        "invalid_json_schema",
    )


def _mentions_json(messages: list[dict[str, Any]]) -> bool:
    return any("json" in message_text(message).lower() for message in messages)
