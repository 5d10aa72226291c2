"""Pieces of the resilience tests: fault headers with an id, and what the journal says of them."""

from __future__ import annotations

import uuid

from mockserver.stores.journal_entry import JournalEntry
from mockserver.testing.server import MockServer
from tests.support.waiting import journal_entries


def fault(kind: str, count: int | None = None) -> tuple[dict[str, str], str]:
    """The headers asking for `kind` (the first `count` times), and their fresh id."""
    fault_id = uuid.uuid4().hex
    headers = {"x-mock-fault": kind, "x-mock-fault-id": fault_id}
    if count is not None:
        headers["x-mock-fault-count"] = str(count)
    return headers, fault_id


def entries_for(server: MockServer, fault_id: str, count: int) -> list[JournalEntry]:
    """The journal entries of requests carrying this fault id, in order, once `count` are in
    (bounded): a dropped connection's or a stream's entry is written a moment after the
    client saw the end."""
    return journal_entries(server, count, lambda e: e.headers.get("x-mock-fault-id") == fault_id)


def statuses(server: MockServer, fault_id: str, count: int) -> list[int]:
    """The statuses the server answered to requests carrying this fault id, in order."""
    return [entry.status for entry in entries_for(server, fault_id, count)]
