"""A first stub's add that not every process confirmed answers 503 saying the stub is
stored (with its id): adding it again is not needed, and adding it again with the same id
replaces it, as with memory state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from mockserver import MockServer
from mockserver.testing.errors import AdminError
from tests.support import rawhttp

ERROR_FIELDS = {"message", "type", "param", "code"}  # Azure's envelope, as every 503


@pytest.fixture
def server(redis_url: str) -> Iterator[MockServer]:
    with MockServer(state=redis_url) as running:
        yield running


@pytest.fixture
def silent_process(redis_url: str, server: MockServer) -> Iterator[None]:
    """A subscriber to "a first stub was added" that never acknowledges (a hung process)."""
    client = redis.Redis.from_url(redis_url)
    subscription = client.pubsub()
    try:
        (channel,) = client.pubsub_channels("*stubs-added")
        subscription.subscribe(channel)
        assert subscription.get_message(timeout=5) is not None  # subscribed
        yield
    finally:
        subscription.close()
        client.close()


def add(server: MockServer, stub: dict[str, Any]) -> rawhttp.RawResponse:
    return rawhttp.request(f"{server.url}/__admin/stubs?session=s", body=stub)


def stub_ids(server: MockServer) -> list[str]:
    listed = rawhttp.request(f"{server.url}/__admin/stubs?session=s", method="GET")
    return [stub["id"] for stub in listed.json()["stubs"]]


@pytest.mark.usefixtures("silent_process")
def test_the_503_says_the_stub_is_stored_and_its_retry_adds_no_second(
    server: MockServer,
) -> None:
    stub = {"id": "given-id", "answer": {"content": "X"}}
    answer = add(server, stub)
    assert answer.status == 503
    error = answer.json()["error"]
    assert set(error) == ERROR_FIELDS
    assert "stub given-id was stored" in error["message"]
    assert "need not be added again" in error["message"]
    assert "retry-after" not in answer.headers  # nothing to retry
    assert add(server, stub).status in (201, 503)  # a retry all the same
    assert stub_ids(server) == ["given-id"]


@pytest.mark.usefixtures("silent_process")
def test_an_attached_client_is_told_which_stub_was_stored(server: MockServer) -> None:
    attached = MockServer.attach(server.url).session("t")
    with pytest.raises(AdminError) as refused:
        attached.stub(answer={"content": "X"})
    (stored,) = attached.stubs()
    assert refused.value.status == 503
    assert f"stub {stored.id} was stored" in refused.value.message


@pytest.mark.parametrize("state", ["memory", "redis"])
def test_an_add_with_the_id_of_a_stub_replaces_it(state: str, redis_url: str) -> None:
    with MockServer(state=redis_url) if state == "redis" else MockServer() as server:
        for content in ("first", "second"):
            assert add(server, {"id": "same", "answer": {"content": content}}).status == 201
        listed = rawhttp.request(f"{server.url}/__admin/stubs?session=s", method="GET")
        stubs = listed.json()["stubs"]
    assert [(s["id"], s["answer"]["content"]) for s in stubs] == [("same", "second")]
