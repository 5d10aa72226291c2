"""A journal entry keeps a body's JSON bytes as made once (checked, scrubbed and kept
without being written again): the same entry, the same bytes counted, as when each step
wrote the value itself."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.redaction.rules import MASK, policy, replace_paths, scrub_json
from mockserver.stores.journal_entry import (
    JournalEntry,
    body_fields,
    response_body,
    scrubbed_body,
)

SK_KEY = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t"
TEXT = st.one_of(st.text(max_size=12), st.sampled_from(("user", "metadata", SK_KEY, "a b")))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)
RULES = (policy(body_paths=()), policy(body_paths=("user", "metadata.email")))


def entry(**fields: Any) -> JournalEntry:
    return JournalEntry(id=0, time=0.0, method="POST", path="/", query={}, headers={}, **fields)


def written_each_time(raw: bytes, parsed: Any, rules: Any) -> dict[str, Any]:
    """The body fields as each step made them before: the value, written again by each."""
    try:
        body = orjson.loads(raw) if parsed is None else parsed
        orjson.dumps(body)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return {"body": None, "body_text": raw.decode("utf-8", "replace"), "body_size": len(raw)}
    body = scrub_json(replace_paths(body, rules.body_paths, MASK), MASK)
    return {"body": body, "body_text": None, "body_size": len(raw)}


@settings(max_examples=400, deadline=None)
@given(JSON, st.booleans(), st.sampled_from(RULES))
def test_a_json_body_is_journaled_as_before(value: Any, parsed: bool, rules: Any) -> None:
    raw = orjson.dumps(value)
    fields = scrubbed_body(body_fields(raw, value if parsed else None, 1 << 20), rules)
    made, before = entry(**fields), entry(**written_each_time(raw, None, rules))
    assert made.to_json() == before.to_json()
    assert made.stored_bytes() == before.stored_bytes()


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_an_answer_is_journaled_as_before(value: Any) -> None:
    raw = orjson.dumps(value)
    made, before = entry(response_body=response_body(raw, 1 << 20)), entry(response_body=value)
    assert made.to_json() == before.to_json()
    assert made.stored_bytes() == before.stored_bytes()


def test_text_and_too_deep_bodies_are_kept_as_text() -> None:
    deep = b"[" * 300 + b"]" * 300
    for raw in (b"not json", deep, b'{"a": 1'):
        fields = scrubbed_body(body_fields(raw, None, 1 << 20), RULES[0])
        assert fields["body"] is None and fields["body_text"] == raw.decode()
        assert entry(response_body=response_body(raw, 1 << 20)).response_body == raw.decode()


# JSON has no NaN nor infinity (orjson writes them as null): an answer never holds one.
FLOATS = st.floats(allow_nan=False, allow_infinity=False) | st.floats(
    width=32, allow_nan=False, allow_infinity=False
)
ANSWERS = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | FLOATS | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(ANSWERS, st.booleans(), st.sampled_from((1 << 20, 40)))
def test_the_mocks_own_answer_is_kept_as_written_and_journaled_as_before(
    value: Any, newline: bool, limit: int
) -> None:
    # An answer the mock wrote with orjson is kept without being parsed and written
    # again: the same entry, the same bytes counted, as when it was parsed.
    written = orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE if newline else None)
    made = entry(response_body=response_body(written, limit, written_by_orjson=True))
    before = entry(response_body=response_body(written, limit))
    assert made.to_json() == before.to_json()
    assert made.stored_bytes() == before.stored_bytes()
    assert vars(made) == vars(before)


@settings(max_examples=200, deadline=None)
@given(ANSWERS, st.sampled_from((b"", b"\n", b" ")))
def test_an_answer_given_again_is_journaled_as_the_first_time(value: Any, end: bytes) -> None:
    raw = orjson.dumps(value) + end
    first = entry(response_body=response_body(raw, 1 << 20))
    again = entry(response_body=response_body(bytes(raw), 1 << 20))
    before = entry(response_body=value)
    assert vars(first) == vars(again) == vars(before)
    assert again.stored_bytes() == before.stored_bytes()


def test_a_text_answer_given_again_is_journaled_as_text() -> None:
    for raw in (b"not json", b"[" * 300 + b"]" * 300):
        assert entry(response_body=response_body(raw, 1 << 20)).response_body == raw.decode()
        assert entry(response_body=response_body(raw, 1 << 20)).response_body == raw.decode()
