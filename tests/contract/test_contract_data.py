"""The contract data under `contracts/` is what its sources say, and nobody hand-edited it.

- `contracts/models/o3-mini.json` holds o3-mini's published facts.
- `contracts/schemas/<family>/*.json` (the request schema, and the response, stream-chunk
  and error schemas) are exactly what `scripts/extract_contract.py` makes from
  `tests/data/contracts-ref/<family>.inference.json`: the script is re-run into a temporary copy
  of the repository layout and the outputs are compared byte for byte.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mockserver.contract.model_card import load_model_card
from mockserver.tokens import counting as tokens
from tests.contract import official

REPO = Path(__file__).resolve().parents[2]
CONTRACTS = REPO / "contracts"
SCRIPT = REPO / "scripts" / "extract_contract.py"
REQUEST_SCHEMA = "chat_completion_request.json"
# The response schemas the extraction writes beside the request schema, and their source.
RESPONSE_SCHEMAS = {
    "chat_completion_response.json": "createChatCompletionResponse",
    "chat_completion_chunk.json": "createChatCompletionStreamResponse",
    "error_response.json": "errorResponse",
}
SCHEMA_FILES = [REQUEST_SCHEMA, *RESPONSE_SCHEMAS]


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def committed_families() -> list[str]:
    return sorted(path.name for path in (CONTRACTS / "schemas").iterdir() if path.is_dir())


# --- the o3-mini model card -----------------------------------------------------------------


def test_o3_mini_card_limits_encoding_and_version() -> None:
    card = _json(CONTRACTS / "models" / "o3-mini.json")
    assert card["context_window"] == 200_000
    assert card["max_output_tokens"] == 100_000
    assert card["encoding"] == "o200k_base"
    assert card["version"] == "2025-01-31"
    assert card["name"] == "o3-mini"
    assert card["id"] == "o3-mini-2025-01-31"


def test_loaded_card_is_the_file() -> None:
    card = load_model_card("o3-mini")
    assert (card.context_window, card.max_output_tokens) == (200_000, 100_000)
    assert card.id == f"{card.name}-{card.version}"
    assert card.max_output_tokens < card.context_window


def test_card_encoding_is_the_tokenizer_the_server_uses() -> None:
    assert tokens.encoding().name == load_model_card("o3-mini").encoding


def test_reasoning_effort_values_are_the_official_enum() -> None:
    """The card's supported efforts are a subset of the document's `reasoning_effort` enum."""
    card = load_model_card("o3-mini")
    schemas = official.official_document()["components"]["schemas"]
    request = schemas["createChatCompletionRequest"]
    parts = [request, *request.get("allOf", [])]
    effort = next(
        p["properties"]["reasoning_effort"]
        for p in parts
        if "reasoning_effort" in p.get("properties", {})
    )
    assert set(card.reasoning_effort.supported) <= set(effort["enum"])
    assert card.reasoning_effort.default in card.reasoning_effort.supported


def test_unsupported_parameters_are_request_parameters() -> None:
    """Each parameter the card refuses is one the request schema knows (else it'd be unknown)."""
    card = load_model_card("o3-mini")
    schema = _json(CONTRACTS / "schemas" / "2025-04-01-preview" / REQUEST_SCHEMA)
    assert set(card.unsupported_parameters) <= set(schema["properties"])


def test_min_api_version_is_a_known_dated_version() -> None:
    card = load_model_card("o3-mini")
    versions = [entry["version"] for entry in _json(CONTRACTS / "api_versions.json")["dated"]]
    assert card.min_api_version in versions


# --- the extracted request schemas ----------------------------------------------------------


def test_every_family_in_use_is_committed() -> None:
    table = _json(CONTRACTS / "api_versions.json")
    used = {entry["family"] for entry in table["dated"]} | {table["v1"]["family"]}
    assert used == set(committed_families())


@pytest.fixture(scope="module")
def fresh_extraction(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the committed script, unchanged, in a temporary copy of the repository layout."""
    root = tmp_path_factory.mktemp("repo")
    (root / "scripts").mkdir()
    shutil.copy2(SCRIPT, root / "scripts" / SCRIPT.name)
    for family in committed_families():
        document = official.document_path(f"{family}.inference.json")
        completed = subprocess.run(
            [sys.executable, str(root / "scripts" / SCRIPT.name), str(document), family],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
    return root / "contracts" / "schemas"


@pytest.mark.parametrize("name", SCHEMA_FILES)
@pytest.mark.parametrize("family", committed_families())
def test_committed_schema_is_a_fresh_extraction(
    family: str, name: str, fresh_extraction: Path
) -> None:
    committed = (CONTRACTS / "schemas" / family / name).read_bytes()
    fresh = (fresh_extraction / family / name).read_bytes()
    assert committed == fresh, (
        f"contracts/schemas/{family}/{name} differs from a fresh extraction; "
        f"re-run scripts/extract_contract.py instead of editing it"
    )


@pytest.mark.parametrize("family", committed_families())
def test_extraction_writes_exactly_the_committed_files(family: str, fresh_extraction: Path) -> None:
    committed = sorted(path.name for path in (CONTRACTS / "schemas" / family).iterdir())
    assert committed == sorted(SCHEMA_FILES)
    assert sorted(path.name for path in (fresh_extraction / family).iterdir()) == committed


def _nodes(node: Any) -> list[Any]:
    if isinstance(node, list):
        return [found for item in node for found in _nodes(item)]
    if not isinstance(node, dict):
        return []
    return [node, *(found for value in node.values() for found in _nodes(value))]


@pytest.mark.parametrize("name", list(RESPONSE_SCHEMAS))
@pytest.mark.parametrize("family", committed_families())
def test_response_schema_is_the_documents_component(family: str, name: str) -> None:
    """Valid 2020-12, refs local, no prose, `nullable` folded, and the document's own
    top level: the same properties and required fields as the published component."""
    schema = _json(CONTRACTS / "schemas" / family / name)
    Draft202012Validator.check_schema(schema)
    assert schema["$comment"].startswith(f"Extracted from {family}.inference.json ")
    nodes = _nodes(schema)
    refs = [node["$ref"] for node in nodes if isinstance(node.get("$ref"), str)]
    assert refs, "the response schemas reference shared components"
    assert all(ref.removeprefix("#/$defs/") in schema["$defs"] for ref in refs), refs
    assert not any("nullable" in node or "description" in node for node in nodes)
    document = official.official_document(f"{family}.inference.json")
    source = document["components"]["schemas"][RESPONSE_SCHEMAS[name]]
    assert set(schema.get("properties", {})) == set(source.get("properties", {}))
    assert schema.get("required") == source.get("required")


def test_response_schemas_keep_properties_named_like_prose_keys() -> None:
    """`citation.title` is a field, not prose: the response extraction keeps it."""
    schema = _json(CONTRACTS / "schemas" / "2025-04-01-preview" / "chat_completion_response.json")
    assert "title" in schema["$defs"]["citation"]["properties"]


@pytest.mark.parametrize("family", committed_families())
def test_committed_schema_names_its_source(family: str) -> None:
    schema = _json(CONTRACTS / "schemas" / family / REQUEST_SCHEMA)
    assert schema["$comment"].startswith(f"Extracted from {family}.inference.json ")
    assert schema["additionalProperties"] is False
    assert "messages" in schema["required"]


def test_extraction_ran_outside_the_repository(fresh_extraction: Path) -> None:
    """The re-run wrote into the temporary layout, never into the repository."""
    assert REPO not in fresh_extraction.parents
    assert sorted(p.name for p in fresh_extraction.iterdir()) == committed_families()
