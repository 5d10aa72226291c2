"""A journal entry: what one request was, who answered it, how it ended; and the helpers
that make its fields from the request (bodies bounded, credentials masked)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import orjson

from mockserver.engines.matching import RequestMatch, RequestView
from mockserver.redaction.rules import (
    DEFAULT_POLICY,
    MASK,
    RedactionPolicy,
    replace_paths,
    scrub_json,
    scrub_serialized,
    scrub_text,
)
from mockserver.support.by_identity import ByIdentity
from mockserver.support.memo import Memo
from mockserver.support.scoped_key import ScopedBytes

# orjson serializes at most 255 levels of nesting: a deeper body is kept as text only, or
# every read of the journal (GET /__admin/requests) would fail on it.
MAX_JSON_DEPTH = 255
NULL = b"null"  # a JSON null is kept as no value (None), as when it was parsed


class StoredAsJson:
    """A field kept as its JSON bytes and parsed again when read: a parsed body costs many
    times its wire size in Python objects (1 MB of `[{},...]` is ~25 MB of dicts), and the
    journal's byte bound counts what is kept."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}_json"

    def __get__(self, entry: object, owner: type | None = None) -> Any:
        if entry is None:  # the dataclass asks for the field's default
            return None
        raw = entry.__dict__.get(self.slot)
        return None if raw is None else orjson.loads(raw)

    def __set__(self, entry: object, value: Any) -> None:
        if isinstance(value, KeptJson):  # its bytes are made already
            value, data = value.value, value.data
        elif isinstance(value, WrittenJson):  # written by orjson: kept as they are
            data = value.data
            value = None if data == NULL else value
        else:
            data = None if value is None else orjson.dumps(value)
        entry.__dict__[self.slot] = None if value is None else data


@dataclass(frozen=True)
class KeptJson:
    """A JSON value and its bytes as orjson writes them, made once: the journal checks,
    scrubs and keeps those bytes (a 115 KB body took three writes of it before)."""

    value: Any
    data: bytes

    @classmethod
    def of(cls, value: Any) -> KeptJson | None:
        """None when orjson cannot write `value` (deeper than MAX_JSON_DEPTH levels)."""
        try:
            return cls(value, orjson.dumps(value))
        except (orjson.JSONEncodeError, TypeError):
            return None


class WrittenJson(NamedTuple):
    """JSON bytes exactly as orjson writes them (parsed and written again, the same
    bytes), kept as they are."""

    data: bytes

    @classmethod
    def of_answer(cls, raw: bytes) -> WrittenJson:
        """orjson's bytes of a value, perhaps followed by one newline (orjson's own text
        never ends with one)."""
        return cls(raw[:-1] if raw.endswith(b"\n") else raw)


def json_value(field: Any) -> Any:
    """A body field's JSON value, whether kept with its bytes or not."""
    return field.value if isinstance(field, KeptJson) else field


def stored_size(entry: object, name: str) -> int:
    """Bytes of a StoredAsJson field as kept."""
    raw = entry.__dict__.get(f"_{name}_json")
    return 0 if raw is None else len(raw)


@dataclass
class ReplayMiss:
    """Why no recording answered: the nearest recorded interaction and the fields that differ."""

    nearest: str
    differs: list[str]


@dataclass
class JournalEntry:
    id: int
    time: float
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = StoredAsJson()  # the JSON body, or None
    body_text: str | None = None  # the raw body when it was not JSON, or the start of a cut one
    status: int = 0
    source: str = ""  # "generator", "stub:<id>", "gateway" (refused before any engine)
    stub_id: str | None = None
    why: str | None = None  # why that engine answered ("stub 3f2a matched", ...)
    engine_ms: float | None = None  # how long the engine took to answer
    surface: str = ""
    deployment: str = ""
    stream: bool = False
    disconnected: bool = False
    duration_ms: float = 0.0
    # Bytes of the body as received; None when the answer went out before the body was read
    # (a refused request's body is not waited for).
    body_size: int | None = 0
    # A body over journal_max_body_bytes is kept cut: its start as body_text, no JSON,
    # and the sha256 of the whole, so a test can still tell which body it was.
    body_truncated: bool = False
    body_sha256: str | None = None
    # For the dashboard: the answer's tokens (prompt, completion, reasoning), the fault
    # planned for it as x-mock-fault names it ("500", "reset", from the header, the
    # deployment's rates or a stub), and for a replay miss the nearest recording and what
    # differed from it.
    usage: dict[str, int] | None = None
    fault: str | None = None
    replay_miss: ReplayMiss | None = None
    # A non-streamed answer: its JSON, or the start of its text.
    response_body: Any = StoredAsJson()

    def view(self) -> RequestView:
        body = self.body if isinstance(self.body, dict) else {}
        return RequestView(
            self.surface, self.deployment, self.query.get("api-version"), self.headers, body
        )

    def matches(self, match: RequestMatch | None, filters: Mapping[str, Any]) -> bool:
        """Equal on each of `filters` (field name -> value) and matching `match`, if given."""
        if any(getattr(self, key) != value for key, value in filters.items()):
            return False
        return match is None or match.matches(self.view())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def stored_bytes(self) -> int:
        """What this entry counts against journal_max_bytes: its body as kept, its headers."""
        body = stored_size(self, "body") + len(self.body_text or "")
        return body + stored_size(self, "response_body") + headers_bytes(self.headers)


def masked(headers: Mapping[str, str], rules: RedactionPolicy = DEFAULT_POLICY) -> dict[str, str]:
    """Headers as the journal keeps them: lower-cased names, every credential masked by
    the same deny list fixture files use."""
    return texts_of(rules.headers(headers, MASK))


def masked_query(
    query: Mapping[str, str], rules: RedactionPolicy = DEFAULT_POLICY
) -> dict[str, str]:
    return texts_of(rules.query(query, MASK))


class MaskedHead(NamedTuple):
    query: dict[str, str]
    headers: dict[str, str]
    headers_bytes: int  # what the masked headers count against journal_max_bytes


def masked_head(
    query: Mapping[str, str], headers: Mapping[str, str], rules: RedactionPolicy
) -> MaskedHead:
    """`masked_query` and `masked` of a request's head, made once for a head parsed once:
    aiohttp's parser makes a head's headers and query once and nothing changes them after,
    and the lane hands the same parsed head to every request sent with the same bytes (it
    keeps them), so a client repeating its request has them masked once. The rows that
    share the results never change them (an entry copies them when it is made)."""
    known = _MASKED_HEADS.get(headers)
    if known is not None and known[0] is query and known[1] is rules:
        return known[2]
    kept = masked(headers, rules)
    made = MaskedHead(masked_query(query, rules), kept, headers_bytes(kept))
    _MASKED_HEADS.put(headers, (query, rules, made))
    return made


def headers_bytes(headers: Mapping[str, str]) -> int:
    """What kept headers count against journal_max_bytes: their names' and values' lengths."""
    return sum(map(len, headers)) + sum(map(len, headers.values()))


# Heads masked by `masked_head`, by their headers' identity (`ByIdentity`, which holds them,
# and the query and rules beside them). Those hold a request's credentials as sent (as the
# lane's parsed heads do): in this process's memory only, and emptied with the journal's
# other memos.
MASKED_HEADS = 64
_MASKED_HEADS: ByIdentity[Mapping[str, str], tuple[object, object, MaskedHead]] = ByIdentity(
    MASKED_HEADS
)


def texts_of(values: dict[str, str]) -> dict[str, str]:
    """`values` with each value `as_text`: the same dict when all are ASCII (most are).
    `values` is the redaction policy's answer, a new dict on each call (a test checks it),
    so the entry owns it."""
    if all(map(str.isascii, values.values())):
        return values
    return {name: as_text(value) for name, value in values.items()}


def as_text(value: str) -> str:
    """Text the journal can serve as JSON: bytes that were not UTF-8 (aiohttp keeps them as
    surrogates) become U+FFFD, as a browser would show them."""
    if value.isascii():
        return value
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def body_fields(raw: bytes | None, parsed: Any, max_body_bytes: int) -> dict[str, Any]:
    """An entry's body fields: JSON (`parsed`, or decoded here) or text; cut past the limit.
    `raw` is None when the body was never read: its size is unknown."""
    if raw is None:
        return {"body": None, "body_text": None, "body_size": None}
    if len(raw) > max_body_bytes:
        return {
            "body": None,
            "body_text": raw[:max_body_bytes].decode("utf-8", "replace"),
            "body_size": len(raw),
            "body_truncated": True,
            "body_sha256": hashlib.sha256(raw).hexdigest(),
        }
    kept = None if parsed is None else KeptJson.of(parsed)
    body, text = decode_for_journal(raw) if kept is None else (kept, None)
    return {"body": body, "body_text": text, "body_size": len(raw)}


def scrubbed_body(fields: dict[str, Any], rules: RedactionPolicy) -> dict[str, Any]:
    """Body fields with the configured paths masked and every secret-shaped string (an `sk-`
    key, a JWT...) masked; ordinary values, `user` and `metadata` included, stay visible."""
    text = fields["body_text"]
    return {
        **fields,
        "body": _scrubbed_json(fields["body"], rules),
        "body_text": None if text is None else scrub_text(text, MASK),
    }


class KeptBody(NamedTuple):
    """What an entry keeps of a request body (its fields as stored: no parsed value held)
    and whether the body asked for a stream."""

    fields: dict[str, Any]
    stream: bool
    stored: int  # the bytes these fields hold, as the journal counts them (`of`)

    @classmethod
    def of(cls, fields: dict[str, Any], stream: bool) -> KeptBody:
        body = fields["body"]
        stored = (0 if body is None else len(body.data)) + len(fields["body_text"] or "")
        return cls(fields, stream, stored)


def kept_body(
    raw: bytes | None, parsed: Any, max_body_bytes: int, rules: RedactionPolicy
) -> KeptBody:
    """`raw`'s body fields, scrubbed, as an entry stores them: made once for a body that
    comes again byte for byte (a 115 KB body took ~230 us to scrub each time). `parsed` is
    `raw` as orjson decoded it, or None when it was not decoded."""
    if raw is None:
        return _kept_body(raw, parsed, max_body_bytes, rules)
    key = ScopedBytes((max_body_bytes, rules.body_paths, parsed is None), raw)
    known = _KEPT_BODIES.get(key)
    if known is None:
        known = _kept_body(raw, parsed, max_body_bytes, rules)
        _KEPT_BODIES.put(key, known, len(raw) + known.stored)
    return known


def _kept_body(
    raw: bytes | None, parsed: Any, max_body_bytes: int, rules: RedactionPolicy
) -> KeptBody:
    fields = scrubbed_body(body_fields(raw, parsed, max_body_bytes), rules)
    body = fields["body"]
    stream = _asks_for_stream(json_value(body) if parsed is None else parsed)
    return KeptBody.of({**fields, "body": _as_stored(body)}, stream)


def _as_stored(body: Any) -> WrittenJson | None:
    """A body field as StoredAsJson keeps it: its bytes (None for no value or JSON null)."""
    if body is None or isinstance(body, WrittenJson):
        return body
    data = body.data if isinstance(body, KeptJson) else orjson.dumps(body)
    return None if data == NULL else WrittenJson(data)


def _asks_for_stream(body: Any) -> bool:
    return bool(isinstance(body, dict) and body.get("stream"))


# Request bodies sent again byte for byte (a test's fixed prompt, a benchmark) and what
# the journal keeps of them, already scrubbed. The key is the raw body (as the repeated
# checks' and the content facts' memos keep it too): in this process's memory only, never
# written anywhere. Kept at their second sighting, so distinct bodies keep nothing;
# cleared with any journal.
_KEPT_BODIES: Memo[ScopedBytes, KeptBody] = Memo(
    max_entries=256, max_size=32 * 2**20, second_sighting=True
)


def forget_kept_bodies() -> None:
    """Empty the memos of kept bodies, of answers read and of masked heads (a journal
    cleared, a session reset)."""
    _KEPT_BODIES.clear()
    _ANSWERS_READ.clear()
    _ANSWERS_SEEN.clear()
    _MASKED_HEADS.clear()


def _scrubbed_json(body: Any, rules: RedactionPolicy) -> Any:
    replaced = replace_paths(json_value(body), rules.body_paths, MASK)
    if not isinstance(body, KeptJson) or replaced is not body.value:
        return scrub_json(replaced, MASK)
    scrubbed = scrub_serialized(body.data, MASK)  # its bytes scrubbed, not written again
    return body if scrubbed is None else scrubbed


def response_body(raw: bytes | None, max_body_bytes: int, written_by_orjson: bool = False) -> Any:
    """What the dashboard shows of an answer: its JSON, or its text cut at the body limit."""
    if raw is None:
        return None
    if len(raw) > max_body_bytes:
        return raw[:max_body_bytes].decode("utf-8", "replace")
    if written_by_orjson:  # the mock's own answer: kept as written
        return WrittenJson.of_answer(raw)
    known = _ANSWERS_SEEN.get(raw)  # the very bytes again (a recording's): not even hashed
    if known is not None:
        return known
    known = _ANSWERS_READ.get(raw)
    if known is None:
        known = _read_answer(raw)
        if len(raw) <= ANSWER_MEMO_BYTES:
            _ANSWERS_READ.put(raw, known, 2 * len(raw))  # the answer's bytes and what is kept
    if len(raw) <= ANSWER_MEMO_BYTES:
        _ANSWERS_SEEN.put(raw, known)
    return known


def _read_answer(raw: bytes) -> WrittenJson | str:
    """The answer's JSON as orjson writes it, or its text."""
    body, text = decode_for_journal(raw)
    if body is not None:
        return WrittenJson(body.data)
    assert text is not None, "decoded as JSON or as text"
    return text


# Answers given again byte for byte (a replayed recording, the same error) and what the
# journal keeps of them, read once: at most 128 of at most 16 KiB (each held elsewhere
# too: by the recordings, the stubs, or the error catalogue); least recently used first
# out, and emptied with the kept bodies.
ANSWER_MEMO_BYTES = 16 * 1024
ANSWER_MEMO_SIZE = 128
_ANSWERS_READ: Memo[bytes, WrittenJson | str] = Memo(
    max_entries=ANSWER_MEMO_SIZE, max_size=2 * ANSWER_MEMO_SIZE * ANSWER_MEMO_BYTES
)
_ANSWERS_SEEN: ByIdentity[bytes, WrittenJson | str] = ByIdentity(ANSWER_MEMO_SIZE)


def decode_for_journal(raw: bytes) -> tuple[KeptJson | None, str | None]:
    """JSON, or text when not JSON or nested deeper than the journal can serialize."""
    try:
        kept = KeptJson.of(orjson.loads(raw))
    except orjson.JSONDecodeError:
        kept = None
    return (kept, None) if kept is not None else (None, raw.decode("utf-8", "replace"))
