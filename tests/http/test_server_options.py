"""Options of an embedded MockServer seen over HTTP: body size limit, deterministic ids, region."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.stores.journal import JournalEntry
from mockserver.testing.server import MockServer
from tests.http.helpers import (
    BODY,
    DEPLOYMENT_NOT_FOUND,
    V1_BODY,
    assert_gateway_headers,
    journal_bytes,
    post_v1,
)
from tests.support import rawhttp
from tests.support.chat import CHAT_ID
from tests.support.rawhttp import post_chat
from tests.support.waiting import journal_entries

LIMIT = 1000


@pytest.fixture(scope="module")
def small_server() -> Iterator[MockServer]:
    with MockServer(max_body_bytes=LIMIT) as running:
        yield running


def body_of_size(size: int, base: dict[str, Any] = BODY) -> bytes:
    """A valid chat body padded to exactly `size` bytes."""
    empty = json.dumps({**base, "messages": [{"role": "user", "content": ""}]}).encode()
    padded = {**base, "messages": [{"role": "user", "content": "a" * (size - len(empty))}]}
    raw = json.dumps(padded).encode()
    assert len(raw) == size
    return raw


@pytest.mark.parametrize("size", [LIMIT + 1, 4 * LIMIT, 200 * LIMIT])
def test_body_over_the_limit_is_413_in_an_azure_envelope(
    small_server: MockServer, size: int
) -> None:
    response = post_chat(small_server, body_of_size(size))
    assert response.status == 413
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert list(response.json()) == ["error"]
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert_gateway_headers(response)


def test_body_over_the_limit_on_v1_is_413(small_server: MockServer) -> None:
    response = post_v1(small_server, body_of_size(LIMIT + 1, V1_BODY))
    assert response.status == 413
    assert "error" in response.json()


def test_body_at_the_limit_is_accepted(small_server: MockServer) -> None:
    assert post_chat(small_server, body_of_size(LIMIT)).status == 200


@pytest.fixture(scope="module")
def deterministic_server() -> Iterator[MockServer]:
    with MockServer(deterministic_ids=True) as running:
        yield running


def test_deterministic_ids_repeat_for_identical_requests(deterministic_server: MockServer) -> None:
    first = post_chat(deterministic_server, BODY).json()
    second = post_chat(deterministic_server, BODY).json()
    assert CHAT_ID.match(first["id"])
    assert (first["id"], first["created"]) == (second["id"], second["created"])
    assert first == second


def test_deterministic_ids_differ_for_different_requests(deterministic_server: MockServer) -> None:
    first = post_chat(deterministic_server, BODY).json()
    other = post_chat(
        deterministic_server, {"messages": [{"role": "user", "content": "Something else."}]}
    ).json()
    assert first["id"] != other["id"]


def test_ids_are_random_by_default(server: MockServer) -> None:
    first = post_chat(server, BODY).json()
    second = post_chat(server, BODY).json()
    assert CHAT_ID.match(first["id"])
    assert CHAT_ID.match(second["id"])
    assert first["id"] != second["id"]


def test_configured_region_and_deployments() -> None:
    deployments = {"team-o3": {"model": "o3-mini"}}
    with MockServer(region="Sweden Central", deployments=deployments) as running:
        found = post_chat(running, BODY, deployment="team-o3")
        missing = post_chat(running, BODY, deployment="o3-mini")
    assert found.status == 200
    assert found.headers["x-ms-region"] == "Sweden Central"
    assert found.headers["x-ms-deployment-name"] == "team-o3"
    assert found.json()["model"] == "o3-mini-2025-01-31"
    assert missing.status == 404
    assert missing.body == DEPLOYMENT_NOT_FOUND
    assert_gateway_headers(missing, region="Sweden Central")


# --- the journal is bounded by bytes ------------------------------------------------------

JOURNAL_BYTES = 200_000
BODY_CAP = 10_000


@pytest.fixture(scope="module")
def bounded_journal() -> Iterator[MockServer]:
    with MockServer(journal_max_bytes=JOURNAL_BYTES, journal_max_body_bytes=BODY_CAP) as running:
        yield running


def test_a_body_over_the_cap_is_journaled_cut_with_its_size_and_sha256(
    bounded_journal: MockServer,
) -> None:
    bounded_journal.reset()
    raw = body_of_size(5 * BODY_CAP)
    assert post_chat(bounded_journal, raw).status == 200
    (entry,) = bounded_journal.requests
    assert entry.body_truncated
    assert entry.body is None
    assert entry.body_text == raw[:BODY_CAP].decode()
    assert entry.body_size == len(raw)
    assert entry.body_sha256 == hashlib.sha256(raw).hexdigest()
    listed = rawhttp.request(f"{bounded_journal.url}/__admin/requests", "GET").json()
    (shown,) = listed["requests"]
    assert (shown["body_size"], shown["body_sha256"]) == (len(raw), entry.body_sha256)
    assert shown["body_truncated"] is True


def test_the_journal_keeps_the_newest_entries_within_its_byte_bound(
    bounded_journal: MockServer,
) -> None:
    bounded_journal.reset()
    sizes = [BODY_CAP - 100 + n for n in range(60)]  # each kept whole, 60 of them > the bound
    for size in sizes:
        assert post_chat(bounded_journal, body_of_size(size)).status == 200
    entries = bounded_journal.requests
    assert journal_bytes(bounded_journal) <= JOURNAL_BYTES
    assert 10 < len(entries) < len(sizes)
    assert [entry.body_size for entry in entries] == sizes[-len(entries) :]
    assert all(not entry.body_truncated and entry.body_sha256 is None for entry in entries)
    assert all(isinstance(entry.body, dict) for entry in entries)


def test_a_small_body_is_kept_whole_and_verifiable(bounded_journal: MockServer) -> None:
    bounded_journal.reset()
    assert post_chat(bounded_journal, BODY).status == 200
    (entry,) = bounded_journal.verify({"last_user_message": {"contains": "hello"}}, count=1)
    assert entry.body == BODY
    assert entry.body_size == len(json.dumps(BODY).encode())


# --- clients that stop halfway through a body ---------------------------------------------


def send_head_and_part_of_the_body(server: MockServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    head = (
        "POST /openai/deployments/o3-mini/chat/completions?api-version=2025-04-01-preview "
        "HTTP/1.1\r\nHost: 127.0.0.1\r\napi-key: any-key\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"messages": [')
    return sock


def wait_for_entry(server: MockServer) -> JournalEntry:
    entries = journal_entries(server)
    assert entries, "the request was never journaled"
    return entries[-1]


def test_a_client_that_leaves_halfway_through_its_body_is_journaled_as_gone() -> None:
    with MockServer() as running:
        send_head_and_part_of_the_body(running).close()
        entry = wait_for_entry(running)
        failures = running.take_failures()
    assert failures == []  # not a bug of ours, not a 500
    assert (entry.status, entry.disconnected) == (0, True)


def test_a_body_that_stops_arriving_is_answered_408_and_journaled() -> None:
    with MockServer(request_body_timeout_seconds=0.3) as running:
        with send_head_and_part_of_the_body(running) as sock:
            answer = sock.recv(65536)
        entry = wait_for_entry(running)
        failures = running.take_failures()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert answer.endswith(
        b'{ "error": { "code": "Timeout", "message": "The operation was timeout." } }'
    )
    assert failures == []
    assert entry.status == 408
