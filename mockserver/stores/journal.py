"""The request journal: what each request was, who answered it, how it ended.

A ring buffer (bounded by count and by bytes, oldest dropped first) that tests read to
check what their code sent: `count`, `find`, and `verify`, which fails with the nearest
requests and what differed about each.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from mockserver.engines.matching import RequestMatch, RequestView
from mockserver.redaction.rules import (
    DEFAULT_POLICY,
    MASK,
    RedactionPolicy,
    replace_paths,
    scrub_json,
    scrub_text,
)

# orjson serializes at most 255 levels of nesting: a deeper body is kept as text only, or
# every read of the journal (GET /__admin/requests) would fail on it.
MAX_JSON_DEPTH = 255


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
        entry.__dict__[self.slot] = None if value is None else orjson.dumps(value)


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
    # served, and for a replay miss the nearest recording and what differed from it.
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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def stored_bytes(self) -> int:
        """What this entry counts against journal_max_bytes: its body as kept, its headers."""
        body = stored_size(self, "body") + len(self.body_text or "")
        body += stored_size(self, "response_body")
        return body + sum(len(name) + len(value) for name, value in self.headers.items())


def masked(headers: Mapping[str, str], rules: RedactionPolicy = DEFAULT_POLICY) -> dict[str, str]:
    """Headers as the journal keeps them: lower-cased names, every credential masked by
    the same deny list fixture files use."""
    return rules.headers(headers, MASK)


def masked_query(
    query: Mapping[str, str], rules: RedactionPolicy = DEFAULT_POLICY
) -> dict[str, str]:
    return rules.query(query, MASK)


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
    body, text = (
        decode_for_journal(raw) if parsed is None or not _serializable(parsed) else (parsed, None)
    )
    return {"body": body, "body_text": text, "body_size": len(raw)}


def scrubbed_body(fields: dict[str, Any], rules: RedactionPolicy) -> dict[str, Any]:
    """Body fields with the configured paths masked and every secret-shaped string (an `sk-`
    key, a JWT...) masked; ordinary values, `user` and `metadata` included, stay visible."""
    body, text = fields["body"], fields["body_text"]
    return {
        **fields,
        "body": scrub_json(replace_paths(body, rules.body_paths, MASK), MASK),
        "body_text": None if text is None else scrub_text(text, MASK),
    }


def response_body(raw: bytes | None, max_body_bytes: int) -> Any:
    """What the dashboard shows of an answer: its JSON, or its text cut at the body limit."""
    if raw is None:
        return None
    if len(raw) > max_body_bytes:
        return raw[:max_body_bytes].decode("utf-8", "replace")
    body, text = decode_for_journal(raw)
    return body if text is None else text


def decode_for_journal(raw: bytes) -> tuple[Any, str | None]:
    """JSON, or text when not JSON or nested deeper than the journal can serialize."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None, raw.decode("utf-8", "replace")
    return (body, None) if _serializable(body) else (None, raw.decode("utf-8", "replace"))


def _serializable(value: Any) -> bool:
    """Whether orjson writes `value` back out (it stops at MAX_JSON_DEPTH levels); one pass
    in C over a body already bounded by journal_max_body_bytes."""
    try:
        orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return False
    return True


@dataclass
class Journal:
    capacity: int = 1000
    max_bytes: int = 64 * 1024 * 1024
    _entries: deque[JournalEntry] = field(default_factory=deque)
    _stored_bytes: int = 0
    _next_id: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def stored_bytes(self) -> int:
        """The bytes the entries kept count for (at most `max_bytes`, but for the newest)."""
        return self._stored_bytes

    @property
    def size(self) -> int:
        """How many entries are kept."""
        return len(self._entries)

    def record(self, entry: JournalEntry) -> None:
        """Keep `entry`, numbered in arrival order (its `id` is set here)."""
        with self._lock:
            entry.id = self._next_id
            self._next_id += 1
            self._entries.append(entry)
            self._stored_bytes += entry.stored_bytes()
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        """Drop the oldest entries while over either bound; the newest one always stays."""
        while len(self._entries) > 1 and (
            len(self._entries) > self.capacity or self._stored_bytes > self.max_bytes
        ):
            self._stored_bytes -= self._entries.popleft().stored_bytes()

    def entries(self) -> list[JournalEntry]:
        with self._lock:
            return list(self._entries)

    def find(self, match: RequestMatch | None = None, **filters: Any) -> list[JournalEntry]:
        """Entries matching `match` (chat requests) and equal on each of `filters`."""
        found = []
        for entry in self.entries():
            if any(getattr(entry, key) != value for key, value in filters.items()):
                continue
            if match is None or match.matches(entry.view()):
                found.append(entry)
        return found

    def count(self, match: RequestMatch | None = None, **filters: Any) -> int:
        return len(self.find(match, **filters))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._stored_bytes = 0


class VerificationError(AssertionError):
    """The journal does not hold the requests a test expected."""


def verify(journal: Journal, match: RequestMatch, count: int | None = None) -> list[JournalEntry]:
    """Assert requests matching `match` were received (exactly `count` of them, if given)."""
    __tracebackhide__ = True  # pytest shows the test's line, not this one
    found = journal.find(match)
    if (count is None and found) or (count is not None and len(found) == count):
        return found
    expected = "at least one request" if count is None else f"{count} request(s)"
    lines = [f"expected {expected} matching {_describe(match)}, found {len(found)}."]
    lines += _near_misses(journal, match)
    raise VerificationError("\n".join(lines))


def _describe(match: RequestMatch) -> str:
    return orjson.dumps(match.model_dump(exclude_none=True)).decode()


def _near_misses(journal: Journal, match: RequestMatch, shown: int = 5) -> list[str]:
    chat = [e for e in journal.entries() if e.surface]
    if not chat:
        return ["The journal holds no chat requests."]
    ranked = sorted(chat, key=lambda e: len(match.mismatches(e.view())))
    lines = ["Nearest requests received:"]
    for entry in ranked[:shown]:
        reasons = match.mismatches(entry.view()) or ["matches"]
        lines.append(
            f"  #{entry.id} {entry.method} {entry.path} -> {entry.status}: " + "; ".join(reasons)
        )
    return lines


def now() -> float:
    return time.time()
