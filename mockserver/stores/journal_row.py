"""A journal entry as the request path hands it over: its facts in one tuple.

Every request is journaled, and few entries are ever read, so the request path does only
what cannot wait (credentials masked, the body scrubbed, the answer's bytes kept) and puts
the results in a `JournalRow`: one tuple, where a `JournalEntry` is an object, a dict of
27 fields and a few smaller dicts, built and later dropped on every request (measured in
the running server: 13 us of a W1 request's 141). The entry is made from the row when
the journal is read (`entry`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from mockserver.stores.journal_entry import (
    NULL,
    JournalEntry,
    KeptBody,
    ReplayMiss,
    WrittenJson,
    headers_bytes,
)


class JournalRow(NamedTuple):
    time: float
    method: str
    path: str
    query: dict[str, str]  # masked; shared with other rows, never changed
    headers: dict[str, str]  # masked; shared with other rows, never changed
    body: KeptBody  # scrubbed, as an entry stores it
    status: int
    source: str
    stub_id: str | None
    why: str | None
    engine_ms: float | None
    surface: str
    deployment: str
    disconnected: bool
    duration_ms: float
    usage: tuple[int, int, int] | None  # prompt, completion, reasoning tokens
    fault: str | None
    replay_miss: ReplayMiss | None
    response_body: WrittenJson | str | None  # as `journal_entry.response_body` keeps it
    # Not an entry's field: what `headers` count against journal_max_bytes, counted once per
    # head masked (`journal_entry.masked_head`); -1 for counted when asked.
    headers_bytes: int = -1

    def entry(self, entry_id: int) -> JournalEntry:
        """The entry this row stands for, numbered `entry_id`."""
        return JournalEntry(id=entry_id, **self.fields())

    def fields(self, shared: bool = False) -> dict[str, Any]:
        """The entry's fields but its id, as `JournalEntry` takes them (bodies as kept).
        `shared`: the query and headers as the row holds them (shared with other rows), for
        a caller that only reads them (the Redis journal writing them as JSON)."""
        return {
            "time": self.time,
            "method": self.method,
            "path": self.path,
            # Rows may share them: each entry has its own.
            "query": self.query if shared else dict(self.query),
            "headers": self.headers if shared else dict(self.headers),
            **self.body.fields,
            "status": self.status,
            "source": self.source,
            "stub_id": self.stub_id,
            "why": self.why,
            "engine_ms": self.engine_ms,
            "surface": self.surface,
            "deployment": self.deployment,
            "stream": self.body.stream,
            "disconnected": self.disconnected,
            "duration_ms": self.duration_ms,
            "usage": _usage(self.usage),
            "fault": self.fault,
            "replay_miss": self.replay_miss,
            "response_body": self.response_body,
        }

    def stored_bytes(self) -> int:
        """What the entry counts against journal_max_bytes (`JournalEntry.stored_bytes`)."""
        known = self.headers_bytes
        size = self.body.stored + _stored_size(self.response_body)
        return size + (known if known >= 0 else headers_bytes(self.headers))


def _usage(usage: tuple[int, int, int] | None) -> dict[str, int] | None:
    if usage is None:
        return None
    prompt, completion, reasoning = usage
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "reasoning_tokens": reasoning,
    }


def _stored_size(value: Any) -> int:
    """A StoredAsJson field's bytes, as the entry would keep `value`."""
    if value is None:
        return 0
    if isinstance(value, WrittenJson):
        return 0 if value.data == NULL else len(value.data)
    return len(orjson.dumps(value))


Journaled = JournalEntry | JournalRow  # what a journal is given to keep


def entry_of(kept: Journaled, entry_id: int) -> JournalEntry:
    """The entry `kept` stands for, numbered `entry_id` (an entry given whole is numbered)."""
    if isinstance(kept, JournalRow):
        return kept.entry(entry_id)
    kept.id = entry_id
    return kept
