"""Check a JSON value against a contract schema and report the first violation as OpenAI does.

The model backend answers a bad request with one error naming the first violation,
in fixed wordings ("Invalid type for 'messages[0].content': expected one of a string or
array of objects, but got an integer instead.") and codes (`invalid_type`,
`missing_required_parameter`, `unknown_parameter`, `invalid_value`, `empty_array`...).
General validators report in their own words, so this walker interprets the subset of
JSON Schema the extracted contracts use and words each failure the service's way.
Unions discriminate on a single-valued property (`role`, `type`) as the service does,
so a message with an unknown role reports the role, not "no branch matched".

Most requests are valid, and a walker in Python costs tens of microseconds per request.
So a compiled validator (jsonschema-rs, in Rust) decides first; the walker runs only on
a value the validator refused, to find and word the first violation. The validator is
never more lenient than the walker on these documents (a property test holds it to
that), so a value it accepts has no violation to report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema_rs

from mockserver.contract.errors import AzureError, invalid_request

Path = tuple[str | int, ...]
Schema = dict[str, Any]


def render_path(path: Path) -> str:
    """`("messages", 0, "content")` -> `messages[0].content`, the service's `param` form."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class SchemaChecker:
    """Validates values against one schema document whose `$ref`s point into its `$defs`."""

    def __init__(self, document: Schema) -> None:
        self._defs: dict[str, Schema] = document.get("$defs", {})
        self._root = document
        self._accepts = _compiled(document)

    def check(self, value: Any, path: Path = ()) -> None:
        """Raise the service's 400 for the first violation in `value`."""
        if not self._accepts(value):
            self.walk(value, path)

    def accepts(self, value: Any) -> bool:
        """The compiled validator's verdict alone."""
        return self._accepts(value)

    def walk(self, value: Any, path: Path = ()) -> None:
        """The walker alone: raise for the first violation, worded as the service does."""
        self._check(value, self._root, path)

    def property_schema(self, name: str) -> Schema:
        return self._resolve(self._root["properties"][name])

    def _check(self, value: Any, schema: Schema, path: Path) -> None:
        schema = self._resolve(schema)
        if "anyOf" in schema or "oneOf" in schema:
            self._check_union(value, schema, path)
            return
        allowed = _types_of(schema)
        if allowed and not _matches_any(value, allowed):
            raise _invalid_type(path, _describe_expected([schema], self), value)
        if value is None:
            return
        if "enum" in schema and value not in schema["enum"]:
            raise _invalid_value(path, value, schema["enum"])
        self._check_by_kind(value, schema, path)

    def _check_by_kind(self, value: Any, schema: Schema, path: Path) -> None:
        if isinstance(value, dict):
            self._check_object(value, schema, path)
        elif isinstance(value, list):
            self._check_array(value, schema, path)
        elif isinstance(value, str):
            _check_string(value, schema, path)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            _check_number(value, schema, path)

    def _check_object(self, value: dict[str, Any], schema: Schema, path: Path) -> None:
        properties: dict[str, Schema] = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        if extra is False:
            for key in value:
                if key not in properties:
                    raise invalid_request(
                        f"Unknown parameter: '{render_path((*path, key))}'.",
                        render_path((*path, key)),
                        "unknown_parameter",
                    )
        for key in schema.get("required", []):
            if key not in value:
                raise _missing(path, key)
        for key, item in value.items():
            if key in properties:
                self._check(item, properties[key], (*path, key))
            elif isinstance(extra, dict):
                self._check(item, extra, (*path, key))

    def _check_array(self, value: list[Any], schema: Schema, path: Path) -> None:
        _check_array_length(value, schema, path)
        items = schema.get("items")
        if isinstance(items, dict):
            for index, item in enumerate(value):
                self._check(item, items, (*path, index))

    def _check_union(self, value: Any, schema: Schema, path: Path) -> None:
        branches = self._branches(schema)
        if value is None and any("null" in _types_of(b) for b in branches):
            return
        discriminator = _discriminator(branches) if isinstance(value, dict) else None
        if discriminator is not None:
            # An object is held to the branch its tag names: the first error of some
            # other branch ("Supported values are: 'text'") would misreport it.
            objects = [b for b in branches if "object" in _types_of(b)]
            self._check_discriminated(value, objects, discriminator, path)
            return
        fitting = [b for b in branches if _matches_any(value, _types_of(b) or {json_type(value)})]
        if not fitting:
            raise _invalid_type(path, _describe_expected(branches, self), value)
        errors: list[AzureError] = []
        for branch in fitting:
            try:
                self._check(value, branch, path)
                return
            except AzureError as error:
                errors.append(error)
        raise errors[0]

    def _check_discriminated(
        self, value: dict[str, Any], branches: list[Schema], key: str, path: Path
    ) -> None:
        if key not in value:
            raise _missing(path, key)
        tag = value[key]
        for branch in branches:
            if tag in branch["properties"][key]["enum"]:
                self._check(value, branch, path)
                return
        if not isinstance(tag, str):
            raise _invalid_type((*path, key), "a string", tag)
        supported = [v for b in branches for v in b["properties"][key]["enum"]]
        raise _invalid_value((*path, key), tag, _listing_order((*path, key), supported))

    def _branches(self, schema: Schema) -> list[Schema]:
        """The alternatives of a union, nested unions flattened, refs resolved."""
        result: list[Schema] = []
        for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
            branch = self._resolve(branch)
            if ("anyOf" in branch or "oneOf" in branch) and "type" not in branch:
                result.extend(self._branches(branch))
            else:
                result.append(branch)
        return result

    def _resolve(self, schema: Schema) -> Schema:
        while "$ref" in schema:
            schema = self._defs[schema["$ref"].rsplit("/", 1)[-1]]
        return schema


def _compiled(document: Schema) -> Callable[[Any], bool]:
    """jsonschema-rs's `is_valid` for the document; a document it cannot compile gets a
    check that accepts nothing, so every value goes to the walker."""
    try:
        validator = jsonschema_rs.validator_for(document, offline=True)
    except (ValueError, jsonschema_rs.ValidationError):
        return lambda _: False
    return validator.is_valid


# --- types ------------------------------------------------------------------------------

_KIND_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a decimal",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def json_type(value: Any) -> str:
    """The JSON Schema type name of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _types_of(schema: Schema) -> set[str]:
    kind = schema.get("type")
    if kind is None:
        return set()
    return {kind} if isinstance(kind, str) else set(kind)


def _matches_any(value: Any, allowed: set[str]) -> bool:
    kind = json_type(value)
    if kind in allowed:
        return True
    if kind == "integer" and "number" in allowed:
        return True
    return kind == "number" and "integer" in allowed and float(value).is_integer()


def _describe_expected(branches: list[Schema], checker: SchemaChecker) -> str:
    names: list[str] = []
    for branch in branches:
        for kind in sorted(_types_of(branch) - {"null"}):
            names.append(_describe_kind(kind, branch, checker))
    names = list(dict.fromkeys(names)) or ["a value"]
    if len(names) == 1:
        return names[0]
    # The service words a union as "one of a string or array of objects".
    rest = [name.removeprefix("an ").removeprefix("a ") for name in names[1:]]
    return "one of " + " or ".join([names[0], *rest])


def _describe_kind(kind: str, schema: Schema, checker: SchemaChecker) -> str:
    if kind != "array" or not isinstance(schema.get("items"), dict):
        return _KIND_NAMES[kind]
    items = checker._resolve(schema["items"])
    item_kinds = _types_of(items) or {"object"}
    plural = {"string": "strings", "integer": "integers", "number": "decimals"}
    return "an array of " + plural.get(min(item_kinds), "objects")


def _discriminator(branches: list[Schema]) -> str | None:
    """The property every object branch pins to fixed values (`role`, `type`), if any.

    A `null` branch does not count (`response_format` is an object union or null), and one
    tagged branch is enough: a system message's content parts allow `text` alone, and the
    service answers any other part type with the allowed list.
    """
    objects = [b for b in branches if "object" in _types_of(b)]
    others = [b for b in branches if b not in objects and _types_of(b) != {"null"}]
    if not objects or others:
        return None
    for key in objects[0].get("properties", {}):
        if all(_is_tag(b.get("properties", {}).get(key)) for b in objects):
            return str(key)
    return None


# Tags are listed in the contract's order, as the service lists roles and content parts
# ("Supported values are: 'text', 'image_url', 'input_audio', ..."); `response_format.type`
# alone comes sorted ("Supported values are: 'json_object', 'json_schema', and 'text'.",
# quoted in epuerta9/deep-research-py#19), where the contract says text, json_schema, ...
_SORTED_LISTINGS = frozenset({("response_format", "type")})


def _listing_order(path: Path, values: list[Any]) -> list[Any]:
    return sorted(values, key=str) if tuple(path) in _SORTED_LISTINGS else values


def _is_tag(schema: Schema | None) -> bool:
    return schema is not None and isinstance(schema.get("enum"), list) and "type" in schema


# --- errors -----------------------------------------------------------------------------


def _invalid_type(path: Path, expected: str, value: Any) -> AzureError:
    param = render_path(path)
    got = _KIND_NAMES[json_type(value)]
    return invalid_request(
        f"Invalid type for '{param}': expected {expected}, but got {got} instead.",
        param,
        "invalid_type",
    )


def _invalid_value(path: Path, value: Any, supported: list[Any]) -> AzureError:
    return invalid_request(
        f"Invalid value: {_quote(value)}. Supported values are: {quoted_list(supported)}.",
        render_path(path),
        "invalid_value",
    )


def _missing(path: Path, key: str) -> AzureError:
    return missing_parameter(render_path((*path, key)))


def missing_parameter(param: str) -> AzureError:
    return invalid_request(
        f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
    )


def _quote(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


def quoted_list(values: list[Any]) -> str:
    """As the service lists supported values: 'a' and 'b'; 'a', 'b', and 'c'."""
    quoted = [_quote(v) for v in values if v is not None]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def _check_array_length(value: list[Any], schema: Schema, path: Path) -> None:
    param = render_path(path)
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None and len(value) < low:
        if not value:
            raise invalid_request(
                f"Invalid '{param}': empty array. Expected an array with minimum length "
                f"{low}, but got an empty array instead.",
                param,
                "empty_array",
            )
        raise invalid_request(
            f"Invalid '{param}': array too short. Expected an array with minimum length "
            f"{low}, but got an array with length {len(value)} instead.",
            param,
            "array_below_min_length",
        )
    if high is not None and len(value) > high:
        raise invalid_request(
            f"Invalid '{param}': array too long. Expected an array with maximum length "
            f"{high}, but got an array with length {len(value)} instead.",
            param,
            "array_above_max_length",
        )


def _check_string(value: str, schema: Schema, path: Path) -> None:
    param = render_path(path)
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None and len(value) < low:
        raise invalid_request(
            f"Invalid '{param}': string too short. Expected a string with minimum length "
            f"{low}, but got a string with length {len(value)} instead.",
            param,
            "string_below_min_length" if value else "empty_string",
        )
    if high is not None and len(value) > high:
        raise string_too_long(param, high, len(value))


def string_too_long(param: str, limit: int, length: int) -> AzureError:
    return invalid_request(
        f"Invalid '{param}': string too long. Expected a string with maximum length "
        f"{limit}, but got a string with length {length} instead.",
        param,
        "string_above_max_length",
    )


def _check_number(value: float, schema: Schema, path: Path) -> None:
    param = render_path(path)
    noun = "integer" if isinstance(value, int) else "decimal"
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and value < low:
        raise invalid_request(
            f"Invalid '{param}': {noun} below minimum value. Expected a value >= {low}, "
            f"but got {value} instead.",
            param,
            f"{noun}_below_min_value",
        )
    if high is not None and value > high:
        raise invalid_request(
            f"Invalid '{param}': {noun} above maximum value. Expected a value <= {high}, "
            f"but got {value} instead.",
            param,
            f"{noun}_above_max_value",
        )
