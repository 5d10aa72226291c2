"""Options of an embedded MockServer seen over HTTP: body size limit, deterministic ids, region."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.testing import MockServer
from tests.conftest import post_chat
from tests.http.helpers import (
    BODY,
    CHAT_ID,
    DEPLOYMENT_NOT_FOUND,
    V1_BODY,
    assert_gateway_headers,
    post_v1,
)

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
