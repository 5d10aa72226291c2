"""Credentials on a server with keys: `test-key` as api-key or bearer, Entra token `entra-ok`."""

from __future__ import annotations

import pytest

from mockserver.testing.server import MockServer
from tests.http.helpers import (
    API_VERSION_NOT_SUPPORTED,
    BODY,
    INVALID_BEARER,
    INVALID_KEY,
    RESOURCE_NOT_FOUND,
    assert_bare_gateway_headers,
    post_v1,
)
from tests.support import rawhttp
from tests.support.chat import API_KEY, chat_url
from tests.support.rawhttp import get

ACCEPTED = [
    {"api-key": API_KEY},
    {"Authorization": f"Bearer {API_KEY}"},
    {"Authorization": "Bearer entra-ok"},
    {"Authorization": "bearer entra-ok"},
]


@pytest.mark.parametrize("headers", ACCEPTED)
def test_accepted_credentials_on_the_dated_route(
    keyed_server: MockServer, headers: dict[str, str]
) -> None:
    response = rawhttp.request(chat_url(keyed_server), body=BODY, headers=headers)
    assert response.status == 200


@pytest.mark.parametrize("headers", ACCEPTED)
def test_accepted_credentials_on_the_v1_route(
    keyed_server: MockServer, headers: dict[str, str]
) -> None:
    assert post_v1(keyed_server, headers=headers).status == 200


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"api-key": "wrong-key"}, INVALID_KEY),
        ({"api-key": "entra-ok"}, INVALID_KEY),
        ({"api-key": ""}, INVALID_KEY),
        ({"api-key": "test-key-but-longer"}, INVALID_KEY),
        ({}, INVALID_KEY),
        ({"Authorization": "Bearer wrong-token"}, INVALID_BEARER),
        ({"Authorization": "Bearer test-key-but-longer"}, INVALID_BEARER),
    ],
)
def test_refused_credentials_get_azures_401_bodies(
    keyed_server: MockServer, headers: dict[str, str], expected: bytes
) -> None:
    response = rawhttp.request(chat_url(keyed_server), body=BODY, headers=headers)
    assert response.status == 401
    assert response.body == expected
    assert response.headers["content-type"] == "application/json"
    assert_bare_gateway_headers(response)


def test_bad_bearer_body_is_flat_with_default_json_spacing(keyed_server: MockServer) -> None:
    response = post_v1(keyed_server, headers={"Authorization": "Bearer nope"})
    assert response.status == 401
    assert response.body == INVALID_BEARER
    assert response.body.startswith(b'{"statusCode": 401, "message": "Unauthorized.')
    assert "error" not in response.json()


@pytest.mark.parametrize("path", ["/openai/models?api-version=2024-10-21", "/openai/v1/models"])
def test_models_list_needs_a_key(keyed_server: MockServer, path: str) -> None:
    assert get(keyed_server, path, headers={}).body == INVALID_KEY
    assert get(keyed_server, path, headers={"api-key": "wrong"}).status == 401
    assert get(keyed_server, path).status == 200


@pytest.mark.parametrize(
    ("api_version", "deployment", "status", "body"),
    [
        (None, "o3-mini", 404, RESOURCE_NOT_FOUND),
        ("2099-01-01", "o3-mini", 400, API_VERSION_NOT_SUPPORTED),
        ("2025-04-01-preview", "no-such-deployment", 401, INVALID_KEY),
    ],
)
def test_gateway_checks_api_version_then_key_then_deployment(
    keyed_server: MockServer, api_version: str | None, deployment: str, status: int, body: bytes
) -> None:
    url = chat_url(keyed_server, deployment=deployment, api_version=api_version)
    response = rawhttp.request(url, body=BODY, headers={"api-key": "wrong-key"})
    assert response.status == status
    assert response.body == body


def test_v1_checks_the_key_before_parsing_the_body(keyed_server: MockServer) -> None:
    response = post_v1(keyed_server, b"{not json", headers={"api-key": "wrong-key"})
    assert response.status == 401
    assert response.body == INVALID_KEY
