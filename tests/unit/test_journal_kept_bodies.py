"""The memo of kept request bodies: a body sent again is journaled exactly as a fresh one."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

from mockserver.redaction.rules import DEFAULT_POLICY, policy
from mockserver.stores.journal_entry import (
    JournalEntry,
    WrittenJson,
    forget_kept_bodies,
    kept_body,
    masked,
    masked_head,
    masked_query,
    response_body,
)
from mockserver.stores.memory.journal import MemoryJournal

SK = "sk-abc123DEF456ghi789JKL012"
BODIES = [
    b'{"messages":[{"role":"user","content":"hello"}]}',
    b'{"messages":[{"role":"user","content":"my key ' + SK.encode() + b'"}],"stream":true}',
    b'{"messages":[],"user":"alice","metadata":{"team":"a"}}',
    b'{"stream":false,  "messages" : [ ] }',  # spaced: kept as orjson writes it
    b"null",
    b"[1, 2]",
    b"not json " + SK.encode(),
    b"\xff\xfe not utf-8",
    b'{"messages":[{"role":"user","content":"' + b"x" * 5000 + b'"}]}',  # cut at the limit
]
LIMIT = 4096


def entry_json(raw: bytes, parsed: Any, rules: Any = DEFAULT_POLICY) -> dict[str, Any]:
    body = kept_body(raw, parsed, LIMIT, rules)
    entry = JournalEntry(0, 0.0, "POST", "/", {}, {}, **body.fields, stream=body.stream)
    return entry.to_json() | {"stored_bytes": entry.stored_bytes()}


def decoded(raw: bytes) -> Any:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


@pytest.mark.parametrize("raw", BODIES)
@pytest.mark.parametrize("given_parsed", [True, False])
def test_a_body_sent_again_is_kept_as_a_fresh_one(raw: bytes, given_parsed: bool) -> None:
    parsed = decoded(raw) if given_parsed else None
    forget_kept_bodies()
    fresh = entry_json(raw, parsed)
    again = [entry_json(bytes(bytearray(raw)), parsed) for _ in range(3)]  # kept, then hits
    assert again == [fresh] * 3


def test_the_secret_is_masked_in_a_body_sent_again() -> None:
    forget_kept_bodies()
    entries = [entry_json(BODIES[1], decoded(BODIES[1])) for _ in range(3)]
    assert all(SK not in str(entry) and "***" in str(entry) for entry in entries)
    assert all(entry["stream"] for entry in entries)


def test_the_body_paths_of_each_policy_apply() -> None:
    forget_kept_bodies()
    raw = BODIES[2]
    plain = [entry_json(raw, decoded(raw), policy((), (), ())) for _ in range(3)]
    masked_paths = [entry_json(raw, decoded(raw)) for _ in range(3)]
    assert plain[-1]["body"]["user"] == "alice"
    assert masked_paths[-1]["body"]["user"] == "***"


def test_a_body_seen_twice_is_kept_until_the_journal_is_cleared() -> None:
    forget_kept_bodies()
    raw = BODIES[0]
    first, second, third = (kept_body(raw, None, LIMIT, DEFAULT_POLICY) for _ in range(3))
    assert third is second and second is not first
    asyncio.run(MemoryJournal().clear())
    assert kept_body(raw, None, LIMIT, DEFAULT_POLICY) is not second


def test_masked_headers_and_queries_are_new_dicts_each_time() -> None:
    """An entry owns its headers: the policy's answer is never shared between entries."""
    headers = {"Accept": "*/*", "api-key": "k"}
    assert masked(headers) is not masked(headers)
    assert masked(headers) == {"accept": "*/*", "api-key": "***"}
    query = {"api-version": "2025-04-01-preview"}
    assert masked_query(query) is not masked_query(query)


def test_a_head_is_masked_once_per_policy_until_the_journal_is_cleared() -> None:
    """Rows share a head's masked dicts (an entry copies them); another policy, a changed
    redaction setting, masks the head again."""
    headers = CIMultiDictProxy(CIMultiDict({"api-key": "k", "x-team": "blue"}))
    query = MultiDictProxy(MultiDict({"api-version": "2025-04-01-preview"}))
    first, again = (masked_head(query, headers, DEFAULT_POLICY) for _ in range(2))
    assert again[0] is first[0] and again[1] is first[1]
    assert (first.query, first.headers) == (
        {"api-version": "2025-04-01-preview"},
        {"api-key": "***", "x-team": "blue"},
    )
    assert first.headers_bytes == len("api-key***x-teamblue")  # counted as an entry counts it
    asyncio.run(MemoryJournal().clear())
    assert masked_head(query, headers, DEFAULT_POLICY)[1] is not first[1]
    stricter = masked_head(query, headers, policy(("x-team",)))
    assert stricter[1] == {"api-key": "***", "x-team": "***"}


def test_an_answer_sent_again_is_read_once_until_the_journal_is_cleared() -> None:
    """A recording's answer replayed is the very same bytes each time: read once, kept by
    those bytes' identity and by their value; a clear forgets both."""
    raw = orjson.dumps({"id": "chatcmpl-1", "choices": []}) + b"\n"
    first = response_body(raw, 1 << 20)
    assert response_body(raw, 1 << 20) is first
    assert response_body(bytes(bytearray(raw)), 1 << 20) is first  # equal bytes: by value
    asyncio.run(MemoryJournal().clear())
    again = response_body(raw, 1 << 20)
    assert again == first and again is not first
    assert again == WrittenJson(b'{"id":"chatcmpl-1","choices":[]}')
