"""The validators of `official.py` are right: they accept real Azure traffic, and need their lists.

Real bodies are the ground truth (DESIGN.md, "Fidelity policy"): every real 2024-04+ Azure
`chat.completion` body of the shared recordings validates against the relaxed
`createChatCompletionResponse`, each nullable field is backed by a real `null`, and without
the list (or without folding OpenAPI's `nullable`) real bodies fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.contract import official, real_traffic
from tests.contract.official import (
    ERROR_NULLABLE_FIELDS,
    RESPONSE_NULLABLE_FIELDS,
    STREAM_NULLABLE_FIELDS,
    STREAM_WIDENED_FIELDS,
    NullableField,
    VendoredFileMissingError,
    WidenedField,
)
from tests.contract.real_traffic import RealBody, RealStream

# Real bodies the 2025-04-01-preview document cannot describe, and why. Each must still fail
# (see test_excluded_bodies_really_fail), so the exclusion cannot outlive its reason.
EXCLUDED_REAL_BODIES: dict[str, str] = {
    "dd-trace-py__azure_chat_completion.yaml[0]": (
        "2023 body (api-version 2023-07-01-preview): no logprobs, no refusal keys yet"
    ),
    "openllmetry__test_azure__test_chat.yaml[0]": "2024-04 gpt-35-turbo: no refusal key yet",
    "openllmetry__test_azure__test_chat_content_filtering.yaml[0]": (
        "suspected hand-edited (real-traffic-facts.md section 3): the choice has no message"
    ),
}
EXPECTED_CONFORMING_COUNT = 21  # DESIGN.md: "the 21 real Azure chat.completion bodies"

ALL_REAL = real_traffic.chat_completions()
CONFORMING = [real for real in ALL_REAL if real.label not in EXCLUDED_REAL_BODIES]
EXCLUDED = [real for real in ALL_REAL if real.label in EXCLUDED_REAL_BODIES]


def _labels(bodies: list[RealBody]) -> list[str]:
    return [real.label for real in bodies]


def values_at(body: Any, wire: str) -> list[Any]:
    """The values at a wire path such as `choices[].message.content` (absent keys skipped)."""
    nodes = [body]
    for part in wire.split("."):
        key, many = part.removesuffix("[]"), part.endswith("[]")
        nodes = [node[key] for node in nodes if isinstance(node, dict) and key in node]
        if many:
            nodes = [item for node in nodes if isinstance(node, list) for item in node]
    return nodes


def _without_list_validator(component: str) -> Any:
    return official.validator_for(component, official.contract_document())


# --- locating the document ------------------------------------------------------------------


def test_the_document_is_read_from_the_vendored_test_data() -> None:
    expected = Path(official.__file__).resolve().parents[1] / "data" / "contracts-ref"
    assert official.document_path() == expected / official.DOCUMENT_NAME


def test_missing_document_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VendoredFileMissingError, match="official OpenAPI document"):
        official.document_path(folder=tmp_path)


def test_document_is_the_official_openapi_31_file() -> None:
    document = official.official_document()
    assert document["openapi"] == "3.1.0"
    schemas = document["components"]["schemas"]
    assert official.RESPONSE_SCHEMA in schemas
    assert official.STREAM_SCHEMA in schemas
    assert official.ERROR_SCHEMA in schemas


# --- folding `nullable` and the named lists --------------------------------------------------


def _nodes(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [found for item in node for found in _nodes(item)]
    if not isinstance(node, dict):
        return []
    return [node, *(found for value in node.values() for found in _nodes(value))]


def test_folding_removes_every_openapi_nullable() -> None:
    raw = official.official_document()
    assert any(node.get("nullable") is True for node in _nodes(raw))
    folded = official.contract_document()
    assert not any("nullable" in node for node in _nodes(folded))


def test_folding_turns_nullable_into_type_unions() -> None:
    schemas = official.contract_document()["components"]["schemas"]
    message = schemas["chatCompletionResponseMessage"]["properties"]
    assert message["content"]["type"] == ["string", "null"]
    assert message["refusal"]["type"] == ["string", "null"]
    choice = schemas[official.RESPONSE_SCHEMA]["properties"]["choices"]["items"]
    assert choice["properties"]["logprobs"]["type"] == ["object", "null"]


def test_allow_null_keeps_enums_consistent() -> None:
    widened = official.allow_null({"type": "string", "enum": ["a"]})
    assert widened == {"type": ["string", "null"], "enum": ["a", None]}
    assert official.allow_null({"$ref": "#/x"}) == {"anyOf": [{"$ref": "#/x"}, {"type": "null"}]}


def _differences(left: Any, right: Any, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """The shallowest paths where two documents differ."""
    if isinstance(left, dict) and isinstance(right, dict) and left.keys() == right.keys():
        return {diff for key in left for diff in _differences(left[key], right[key], (*path, key))}
    return set() if left == right else {path}


@pytest.mark.parametrize(
    ("fields", "widened"),
    [
        (RESPONSE_NULLABLE_FIELDS, ()),
        (ERROR_NULLABLE_FIELDS, ()),
        (STREAM_NULLABLE_FIELDS, STREAM_WIDENED_FIELDS),
    ],
    ids=["response", "error", "stream"],
)
def test_relaxation_touches_exactly_the_listed_fields(
    fields: tuple[NullableField, ...], widened: tuple[WidenedField, ...]
) -> None:
    every: tuple[NullableField | WidenedField, ...] = (*fields, *widened)
    listed = [("components", "schemas", f.component, *f.pointer) for f in every]

    def owner(path: tuple[str, ...]) -> tuple[str | int, ...] | None:
        return next((field for field in listed if path[: len(field)] == field), None)

    raw = official.contract_document(fold=False)
    raw_relaxed = official.contract_document(
        fold=False, nullable_fields=fields, widened_fields=widened
    )
    changed = _differences(raw, raw_relaxed)
    assert {owner(path) for path in changed} == set(listed)  # each entry changes its field...
    folded = official.contract_document()
    relaxed = official.contract_document(nullable_fields=fields, widened_fields=widened)
    assert None not in {owner(path) for path in _differences(folded, relaxed)}  # ...only it


def test_response_list_is_exactly_the_design_list() -> None:
    assert [f.wire for f in RESPONSE_NULLABLE_FIELDS] == [
        "choices[].logprobs",
        "choices[].message.refusal",
        "system_fingerprint",
        "choices[].message.content",
    ]
    assert all(f.reason for f in (*RESPONSE_NULLABLE_FIELDS, *ERROR_NULLABLE_FIELDS))


def test_validator_resolves_component_references() -> None:
    """Violations deep inside referenced components are found (refs really resolve)."""
    body = CONFORMING[0].body
    bad_role = {**body, "choices": [{**body["choices"][0], "message": {"role": "user"}}]}
    errors = official.violations(official.response_validator(), bad_role)
    assert any("'user' is not one of ['assistant']" in e for e in errors), errors
    filters = {"prompt_index": 0, "content_filter_results": {"hate": {"filtered": "no"}}}
    bad_filter = {**body, "prompt_filter_results": [filters]}
    errors = official.violations(official.response_validator(), bad_filter)
    assert any("content_filter_results.hate" in e for e in errors), errors


# --- real Azure chat.completion bodies --------------------------------------------------------


def test_recordings_hold_the_expected_bodies() -> None:
    assert len(CONFORMING) == EXPECTED_CONFORMING_COUNT
    assert sorted(_labels(EXCLUDED)) == sorted(EXCLUDED_REAL_BODIES)


@pytest.mark.parametrize("real", CONFORMING, ids=_labels(CONFORMING))
def test_real_body_validates_with_nullable_list(real: RealBody) -> None:
    assert official.violations(official.response_validator(), real.body) == []


@pytest.mark.parametrize("real", EXCLUDED, ids=_labels(EXCLUDED))
def test_excluded_bodies_really_fail(real: RealBody) -> None:
    errors = official.violations(official.response_validator(), real.body)
    assert errors
    assert all("is a required property" in error for error in errors), errors


def test_nullable_list_is_necessary() -> None:
    """Without the list, real bodies fail, and on a listed field."""
    validator = _without_list_validator(official.RESPONSE_SCHEMA)
    failures = {real.label: official.violations(validator, real.body) for real in CONFORMING}
    failing = {label: errors for label, errors in failures.items() if errors}
    assert "openllmetry__test_azure__test_chat_reasoning.yaml[0]" in failing
    assert failing["openllmetry__test_azure__test_chat_reasoning.yaml[0]"] == [
        "$.system_fingerprint: None is not of type 'string'"
    ]


def test_unfolded_document_rejects_every_real_body() -> None:
    """Ignoring OpenAPI's `nullable` (as a plain 2020-12 validator does) fails all 21."""
    raw = official.contract_document(fold=False, nullable_fields=RESPONSE_NULLABLE_FIELDS)
    unfolded = official.validator_for(official.RESPONSE_SCHEMA, raw)
    plain = official.validator_for(official.RESPONSE_SCHEMA, official.contract_document(fold=False))
    for real in CONFORMING:
        assert official.violations(unfolded, real.body) == [], real.label
        assert official.violations(plain, real.body), real.label


@pytest.mark.parametrize("field", RESPONSE_NULLABLE_FIELDS, ids=lambda f: f.wire)
def test_each_response_nullable_field_is_null_in_real_traffic(field: NullableField) -> None:
    nulls = [real.label for real in CONFORMING if None in values_at(real.body, field.wire)]
    assert nulls, f"no real body has null at {field.wire}: drop it from the list"


# --- real Azure error bodies ------------------------------------------------------------------


def _real_error_bodies() -> list[tuple[str, Any]]:
    recorded = [
        (real.label, real.body)
        for real in real_traffic.azure_bodies()
        if real.status is not None and real.status >= 400
    ]
    return recorded + real_traffic.issue_error_bodies() + real_traffic.contract_note_error_bodies()


REAL_ERRORS = _real_error_bodies()


def test_real_error_bodies_were_found() -> None:
    labels = [label for label, _ in REAL_ERRORS]
    assert "openllmetry__test_azure__test_chat_reasoning.yaml[1]" in labels  # DeploymentNotFound
    assert "issue-excerpts:azure-content_filter-prompt-400-fixture" in labels
    assert len(REAL_ERRORS) >= 15


@pytest.mark.parametrize(("label", "body"), REAL_ERRORS, ids=[label for label, _ in REAL_ERRORS])
def test_real_error_body_validates(label: str, body: Any) -> None:
    assert official.violations(official.error_validator(), body) == []


def test_error_nullable_list_is_necessary() -> None:
    validator = _without_list_validator(official.ERROR_SCHEMA)
    fixture = dict(REAL_ERRORS)["issue-excerpts:azure-content_filter-prompt-400-fixture"]
    assert official.violations(validator, fixture) == ["$.error.type: None is not of type 'string'"]


@pytest.mark.parametrize("field", ERROR_NULLABLE_FIELDS, ids=lambda f: f.wire)
def test_each_error_nullable_field_is_null_in_real_traffic(field: NullableField) -> None:
    nulls = [label for label, body in REAL_ERRORS if None in values_at(body, field.wire)]
    assert nulls, f"no real error body has null at {field.wire}: drop it from the list"


# --- real Azure streams -------------------------------------------------------------------------

# Real streams the document (and the mock) do not describe, and why; each must still fail.
EXCLUDED_REAL_STREAMS: dict[str, str] = {
    "semantic-kernel__chat_completion_streaming_async_filter_response.txt[0]": (
        "asynchronous content-filter mode (a unit-test fixture): its trailing annotation "
        "frames carry content_filter_offsets and no delta; the mock does not serve that mode"
    ),
}
ALL_STREAMS = list(real_traffic.azure_streams())
CONFORMING_STREAMS = [s for s in ALL_STREAMS if s.label not in EXCLUDED_REAL_STREAMS]
EXCLUDED_STREAMS = [s for s in ALL_STREAMS if s.label in EXCLUDED_REAL_STREAMS]


def _stream_labels(streams: list[RealStream]) -> list[str]:
    return [stream.label for stream in streams]


def _stream_violations(validator: Any, stream: RealStream) -> list[str]:
    return sorted(
        {error for frame in stream.frames for error in official.violations(validator, frame)}
    )


def test_recordings_hold_the_expected_streams() -> None:
    assert len(CONFORMING_STREAMS) == 7
    assert sorted(_stream_labels(EXCLUDED_STREAMS)) == sorted(EXCLUDED_REAL_STREAMS)


@pytest.mark.parametrize("stream", CONFORMING_STREAMS, ids=_stream_labels(CONFORMING_STREAMS))
def test_real_stream_frames_validate_with_the_stream_lists(stream: RealStream) -> None:
    assert _stream_violations(official.stream_validator(), stream) == []


@pytest.mark.parametrize("stream", EXCLUDED_STREAMS, ids=_stream_labels(EXCLUDED_STREAMS))
def test_excluded_streams_really_fail(stream: RealStream) -> None:
    assert _stream_violations(official.stream_validator(), stream) == [
        "$.choices[0]: 'delta' is a required property"
    ]


def test_stream_lists_are_necessary() -> None:
    """Without the lists every real stream fails, on exactly the listed fields."""
    validator = _without_list_validator(official.STREAM_SCHEMA)
    failures = {s.label: _stream_violations(validator, s) for s in CONFORMING_STREAMS}
    assert all(failures.values()), failures
    assert failures["openllmetry__test_azure__test_chat_streaming.yaml[0]"] == [
        "$.object: '' is not one of ['chat.completion.chunk']",
        "$.system_fingerprint: None is not of type 'string'",
    ]
    every: tuple[NullableField | WidenedField, ...] = (
        *STREAM_NULLABLE_FIELDS,
        *STREAM_WIDENED_FIELDS,
    )
    listed = {f.wire for f in every}
    fields = {
        error.split(":")[0].removeprefix("$.") for errors in failures.values() for error in errors
    }
    assert fields == listed


@pytest.mark.parametrize("field", STREAM_NULLABLE_FIELDS, ids=lambda f: f.wire)
def test_each_stream_nullable_field_is_null_in_real_traffic(field: NullableField) -> None:
    nulls = [
        s.label
        for s in CONFORMING_STREAMS
        if any(None in values_at(f, field.wire) for f in s.frames)
    ]
    assert nulls, f"no real stream has null at {field.wire}: drop it from the list"


@pytest.mark.parametrize("field", STREAM_WIDENED_FIELDS, ids=lambda f: f.wire)
def test_each_widened_value_is_in_real_traffic(field: WidenedField) -> None:
    for value in field.values:
        having = [
            s.label
            for s in CONFORMING_STREAMS
            if any(value in values_at(frame, field.wire) for frame in s.frames)
        ]
        assert having == _stream_labels(CONFORMING_STREAMS), (field.wire, value)
