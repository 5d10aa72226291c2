"""Routes and api-versions as Azure's gateway answers them: status, exact body, content type."""

from __future__ import annotations

import pytest

from mockserver.testing.server import MockServer
from tests.http.helpers import (
    API_VERSION_NOT_SUPPORTED,
    BODY,
    MODEL_TOO_NEW_FOR_VERSION,
    RESOURCE_NOT_FOUND,
    V1_BODY,
    post_v1,
)
from tests.support import rawhttp
from tests.support.chat import API_KEY
from tests.support.rawhttp import get, post_chat


@pytest.mark.parametrize(
    "api_version", ["2024-12-01-preview", "2025-01-01-preview", "2025-04-01-preview"]
)
def test_dated_chat_route_answers_for_o3_mini_versions(
    server: MockServer, api_version: str
) -> None:
    response = post_chat(server, BODY, api_version=api_version)
    assert response.status == 200
    assert response.json()["object"] == "chat.completion"
    assert response.json()["model"] == "o3-mini-2025-01-31"


def test_dated_chat_route_ignores_a_model_in_the_body(server: MockServer) -> None:
    response = post_chat(server, {**BODY, "model": "whatever-the-sdk-sent"})
    assert response.status == 200
    assert response.headers["x-ms-deployment-name"] == "o3-mini"


@pytest.mark.parametrize("api_version", [None, "v1", "preview"])
def test_v1_chat_route_accepts_its_api_versions(
    server: MockServer, api_version: str | None
) -> None:
    response = post_v1(server, api_version=api_version)
    assert response.status == 200
    assert response.json()["object"] == "chat.completion"


@pytest.mark.parametrize("api_version", ["2025-04-01-preview", "2024-10-21", "v2", "latest"])
def test_v1_chat_route_rejects_other_api_versions(server: MockServer, api_version: str) -> None:
    response = post_v1(server, api_version=api_version)
    assert response.status == 400
    assert response.body == API_VERSION_NOT_SUPPORTED
    assert response.headers["content-type"] == "application/json"


def test_v1_body_model_names_the_deployment(server: MockServer) -> None:
    response = post_v1(server, {**V1_BODY, "model": "no-such-deployment"})
    assert response.status == 404
    assert response.json()["error"]["code"] == "DeploymentNotFound"


def test_missing_api_version_on_dated_route_is_resource_not_found(server: MockServer) -> None:
    response = post_chat(server, BODY, api_version=None)
    assert response.status == 404
    assert response.body == RESOURCE_NOT_FOUND
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("api_version", ["2099-01-01", "2024-13-45-preview", "v1", "latest"])
def test_unknown_api_version_on_dated_route_is_bad_request(
    server: MockServer, api_version: str
) -> None:
    response = post_chat(server, BODY, api_version=api_version)
    assert response.status == 400
    assert response.body == API_VERSION_NOT_SUPPORTED
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("api_version", ["2024-10-21", "2024-06-01", "2024-09-01-preview"])
def test_o3_mini_on_an_older_api_version_is_refused(server: MockServer, api_version: str) -> None:
    response = post_chat(server, BODY, api_version=api_version)
    assert response.status == 400
    assert response.body == MODEL_TOO_NEW_FOR_VERSION
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/openai"),
        ("GET", "/no/such/path"),
        ("GET", "/openai/deployments/o3-mini/chat/completions?api-version=2025-04-01-preview"),
        ("PUT", "/openai/deployments/o3-mini/chat/completions?api-version=2025-04-01-preview"),
        ("DELETE", "/openai/deployments/o3-mini/chat/completions?api-version=2025-04-01-preview"),
        ("GET", "/openai/deployments/x/models?api-version=2024-10-21"),
        ("GET", "/openai/deployments/o3-mini/models?api-version=2024-10-21"),
        ("POST", "/openai/deployments/o3-mini/chat/completion?api-version=2025-04-01-preview"),
        ("POST", "/openai/deployment/o3-mini/chat/completions?api-version=2025-04-01-preview"),
        ("GET", "/openai/v1/chat/completions"),
        ("POST", "/openai/models?api-version=2024-10-21"),
        ("POST", "/openai/v1/models"),
        ("GET", "/openai/v2/models"),
    ],
)
def test_anything_else_is_resource_not_found(server: MockServer, method: str, path: str) -> None:
    body = b'{"messages":[{"role":"user","content":"hi"}]}' if method != "GET" else None
    response = rawhttp.request(server.url + path, method, body, headers={"api-key": API_KEY})
    assert response.status == 404
    assert response.body == RESOURCE_NOT_FOUND
    assert len(response.body) == 56
    assert response.headers["content-type"] == "application/json"


def test_unknown_path_is_not_found_even_without_a_key(server: MockServer) -> None:
    response = rawhttp.request(server.url + "/openai/nothing-here", "GET", headers={})
    assert response.status == 404
    assert response.body == RESOURCE_NOT_FOUND


MODEL_KEYS = ["status", "capabilities", "lifecycle_status", "deprecation", "id", "created_at"]


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/openai/models?api-version=2024-10-21", "application/json"),
        ("/openai/models?api-version=2025-04-01-preview", "application/json"),
        ("/openai/v1/models", "application/json; charset=utf-8"),
        ("/openai/v1/models?api-version=preview", "application/json; charset=utf-8"),
    ],
)
def test_models_list_has_azures_shape(server: MockServer, path: str, content_type: str) -> None:
    response = get(server, path)
    assert response.status == 200
    assert response.headers["content-type"] == content_type
    body = response.json()
    assert list(body) == ["data", "object"]
    assert body["object"] == "list"
    [model] = body["data"]
    assert list(model) == [*MODEL_KEYS, "object"]
    assert model["id"] == "o3-mini-2025-01-31"
    assert model["object"] == "model"
    assert model["status"] == "succeeded"
    assert model["capabilities"]["chat_completion"] is True
    assert isinstance(model["created_at"], int)


def test_models_list_without_api_version_is_resource_not_found(server: MockServer) -> None:
    response = get(server, "/openai/models")
    assert response.status == 404
    assert response.body == RESOURCE_NOT_FOUND


@pytest.mark.parametrize(
    "path",
    [
        "/openai/models?api-version=2099-01-01",
        "/openai/models?api-version=v1",
        "/openai/v1/models?api-version=2024-10-21",
    ],
)
def test_models_list_with_wrong_api_version_is_bad_request(server: MockServer, path: str) -> None:
    response = get(server, path)
    assert response.status == 400
    assert response.body == API_VERSION_NOT_SUPPORTED
