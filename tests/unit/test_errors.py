"""The error catalogue: every entry builds, byte for byte, with placeholders filled or kept."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mockserver.contract.errors import (
    JSON_CONTENT_TYPE,
    AzureError,
    catalogue_error,
    catalogue_names,
    invalid_request,
)

CATALOGUE_FILE = Path(__file__).resolve().parents[2] / "contracts" / "errors.json"
ENTRIES: dict[str, dict[str, Any]] = json.loads(CATALOGUE_FILE.read_text())["errors"]
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _encoded(body: Any, fmt: str) -> bytes:
    """The catalogue's formats, written out independently of the server's encoder."""
    if fmt == "pretty":
        return json.dumps(body, indent=2, ensure_ascii=False).encode()
    if fmt == "spaced":
        return json.dumps(body, ensure_ascii=False).encode()
    assert fmt == "compact"
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _placeholders(entry: dict[str, Any]) -> set[str]:
    text = entry["raw"] if entry.get("format") == "raw" else json.dumps(entry["body"])
    return set(PLACEHOLDER.findall(text))


def _filled(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    if isinstance(template, dict):
        return {key: _filled(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [_filled(item, values) for item in template]
    return template


def test_catalogue_names_are_the_file_entries() -> None:
    assert catalogue_names() == sorted(ENTRIES)
    assert len(ENTRIES) >= 10


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_every_entry_builds_exactly_without_values(name: str) -> None:
    entry = ENTRIES[name]
    error = catalogue_error(name)
    assert isinstance(error, AzureError)
    assert error.status == entry["status"]
    assert error.name == name
    assert error.content_type == entry.get("content_type", JSON_CONTENT_TYPE)
    fmt = entry.get("format", "compact")
    if fmt == "raw":
        assert error.body == entry["raw"].encode()
    else:
        # Placeholders not given stay literal, so the body is the template itself.
        assert error.body == _encoded(entry["body"], fmt)
        assert error.payload() == entry["body"]
    assert isinstance(error.payload(), dict)


@pytest.mark.parametrize("name", sorted(n for n in ENTRIES if _placeholders(ENTRIES[n])))
def test_placeholders_are_filled(name: str) -> None:
    entry = ENTRIES[name]
    names = _placeholders(entry)
    values = {key: f"<{key.upper()}-7>" for key in names}
    error = catalogue_error(name, **values)
    text = error.body.decode()
    for key, value in values.items():
        assert value in text
        assert "{" + key + "}" not in text
    fmt = entry.get("format", "compact")
    if fmt != "raw":
        assert error.body == _encoded(_filled(entry["body"], values), fmt)


@pytest.mark.parametrize("name", sorted(n for n in ENTRIES if len(_placeholders(ENTRIES[n])) >= 2))
def test_placeholders_not_given_stay_literal(name: str) -> None:
    names = sorted(_placeholders(ENTRIES[name]))
    given, missing = names[0], names[1:]
    text = catalogue_error(name, **{given: "GIVEN"}).body.decode()
    assert "GIVEN" in text
    for key in missing:
        assert "{" + key + "}" in text


def test_model_name_stays_literal_as_azure_sends_it() -> None:
    error = catalogue_error("ModelApiVersionTooOld", min_api_version="2024-12-01-preview")
    assert error.status == 400
    assert error.payload() == {
        "error": {
            "code": "BadRequest",
            "message": "Model {modelName} is enabled only for api versions 2024-12-01-preview "
            "and later",
        }
    }


def test_resource_not_found_raw_bytes_are_exact() -> None:
    error = catalogue_error("ResourceNotFound")
    assert error.status == 404
    assert error.body == b'{"error":{"code":"404","message": "Resource not found"}}'


def test_invalid_bearer_token_is_the_flat_spaced_shape() -> None:
    error = catalogue_error("InvalidBearerToken")
    assert error.status == 401
    assert error.body.startswith(b'{"statusCode": 401, "message": "Unauthorized.')


def test_deployment_not_found_has_no_content_type_and_pretty_body() -> None:
    error = catalogue_error("DeploymentNotFound")
    assert error.status == 404
    assert error.content_type is None
    assert error.body.startswith(b'{\n  "error": {\n    "type": "invalid_request_error",')


def test_numbers_fill_placeholders() -> None:
    error = catalogue_error("RequestTooLarge", limit=33554432)
    assert error.status == 413
    assert error.payload()["error"]["message"] == (
        "The request body is too large. The limit is 33554432 bytes."
    )


def test_invalid_request_envelope() -> None:
    error = invalid_request("Bad thing.", "messages[0]", "invalid_value")
    assert error.status == 400
    assert error.body == (
        b'{\n  "error": {\n    "message": "Bad thing.",\n    "type": "invalid_request_error",'
        b'\n    "param": "messages[0]",\n    "code": "invalid_value"\n  }\n}'
    )
    assert str(error).startswith("400 invalid_value: ")


def test_invalid_request_with_null_param_and_code() -> None:
    error = invalid_request("x", None, None)
    assert error.payload() == {
        "error": {"message": "x", "type": "invalid_request_error", "param": None, "code": None}
    }
