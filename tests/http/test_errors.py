"""Error bodies byte for byte, with their status and Content-Type (or its absence)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from mockserver.testing.server import MockServer
from tests.http.helpers import (
    BODY,
    DEPLOYMENT_NOT_FOUND,
    INVALID_JSON_START,
    INVALID_KEY,
    V1_BODY,
    assert_bare_gateway_headers,
    assert_gateway_headers,
    post_v1,
    pretty,
)
from tests.support import rawhttp, sockets
from tests.support.chat import chat_path, chat_url
from tests.support.rawhttp import post_chat


def test_deployment_not_found_is_pretty_and_has_no_content_type(server: MockServer) -> None:
    response = post_chat(server, BODY, deployment="no-such-deployment")
    assert response.status == 404
    assert response.body == DEPLOYMENT_NOT_FOUND
    assert list(response.json()["error"]) == ["type", "code", "message"]
    assert not response.body.endswith(b"\n")
    assert "content-type" not in response.headers
    assert_gateway_headers(response)


@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
def test_deployment_not_found_is_sent_in_chunks_where_http_has_them(
    server: MockServer, version: str
) -> None:
    """Azure sends it chunked, with no Content-Length (openllmetry's recording, 2025-08);
    HTTP/1.0 has no chunks, so there it keeps its length."""
    sent = sockets.request_bytes(server, BODY, path=chat_path("no-such-deployment"))
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(sent.replace(b" HTTP/1.1\r\n", f" {version}\r\n".encode(), 1))
        response = sockets.parse_response(sockets.read_to_end(sock))
    assert (response.status, response.body) == (404, DEPLOYMENT_NOT_FOUND)
    chunked = version == "HTTP/1.1"
    assert (response.header("transfer-encoding") == "chunked") is chunked
    assert (response.header("content-length") is None) is chunked
    assert response.header("content-type") is None


def test_deployment_not_found_on_v1_is_the_same(server: MockServer) -> None:
    response = post_v1(server, {**V1_BODY, "model": "gpt-4o"})
    assert response.status == 404
    assert response.body == DEPLOYMENT_NOT_FOUND
    assert "content-type" not in response.headers


def test_bad_key_body_is_the_224_byte_gateway_body(keyed_server: MockServer) -> None:
    response = post_chat(keyed_server, BODY, headers={"api-key": "wrong-key"})
    assert response.status == 401
    assert response.body == INVALID_KEY
    assert len(response.body) == 224
    assert response.headers["content-type"] == "application/json"
    assert_bare_gateway_headers(response)


@pytest.mark.parametrize("fixture", ["server", "keyed_server"])
def test_missing_credentials_get_the_bad_key_body(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    running: MockServer = request.getfixturevalue(fixture)
    response = rawhttp.request(chat_url(running), body=BODY, headers={})
    assert response.status == 401
    assert response.body == INVALID_KEY


@pytest.mark.parametrize("headers", [{"api-key": ""}, {"api-key": "   "}])
def test_empty_api_key_is_refused_even_with_no_keys_configured(
    server: MockServer, headers: dict[str, str]
) -> None:
    response = post_chat(server, BODY, headers=headers)
    assert response.status == 401
    assert response.body == INVALID_KEY


def test_non_bearer_authorization_gets_the_bad_key_body(server: MockServer) -> None:
    response = rawhttp.request(
        chat_url(server), body=BODY, headers={"Authorization": "Basic dXNlcjpwYXNz"}
    )
    assert response.status == 401
    assert response.body == INVALID_KEY


INVALID_JSON_BODIES = [
    b"{not json",
    b"",
    b"\xff\xfe{}",
    b'{"messages": [}',
    b"[]",
    b'[{"messages": []}]',
    b'"text"',
    b"42",
    b"null",
]


@pytest.mark.parametrize("raw", INVALID_JSON_BODIES)
def test_body_that_is_not_a_json_object_is_a_pretty_parse_error(
    server: MockServer, raw: bytes
) -> None:
    response = post_chat(server, raw)
    assert response.status == 400
    assert_pretty_openai_error(response, param=None, code=None)
    assert response.json()["error"]["message"].startswith(INVALID_JSON_START)
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]"])
def test_parse_error_on_v1_is_the_same(server: MockServer, raw: bytes) -> None:
    response = post_v1(server, raw)
    assert response.status == 400
    assert_pretty_openai_error(response, param=None, code=None)
    assert response.json()["error"]["message"].startswith(INVALID_JSON_START)


@pytest.mark.parametrize("body", [BODY, {**BODY, "model": 5}, {**BODY, "model": None}])
def test_v1_without_a_model_name_is_a_pretty_backend_error(
    server: MockServer, body: dict[str, Any]
) -> None:
    response = post_v1(server, body)
    assert response.status == 400
    assert_pretty_openai_error(response, param=None, code=None)
    assert response.json()["error"]["message"] == "you must provide a model parameter"


def test_gateway_checks_the_deployment_before_parsing_the_body(server: MockServer) -> None:
    response = post_chat(server, b"{not json", deployment="no-such-deployment")
    assert response.status == 404
    assert response.body == DEPLOYMENT_NOT_FOUND


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        # temperature 1 is taken (RA.Aid#70, NextChat#6138); any other value is refused.
        ({**BODY, "temperature": 0.7}, "temperature", "unsupported_parameter"),
        ({**BODY, "max_tokens": 100}, "max_tokens", "unsupported_parameter"),
        ({**BODY, "top_p": 0.5}, "top_p", "unsupported_parameter"),
        ({**BODY, "max_completion_tokens": 0}, "max_completion_tokens", "integer_below_min_value"),
        ({**BODY, "max_completion_tokens": 100001}, "max_completion_tokens", "invalid_value"),
        ({}, "messages", "missing_required_parameter"),
        ({"messages": []}, "messages", "empty_array"),
        ({"messages": "hi"}, "messages", "invalid_type"),
    ],
)
def test_backend_validation_errors_are_pretty_in_openai_key_order(
    server: MockServer, body: dict[str, Any], param: str, code: str
) -> None:
    response = post_chat(server, body)
    assert response.status == 400
    assert_pretty_openai_error(response, param=param, code=code)
    assert response.headers["content-type"] == "application/json"
    assert_gateway_headers(response)


def test_unknown_parameter_on_a_version_that_predates_it(server: MockServer) -> None:
    body = {**BODY, "prediction": {"type": "content", "content": "x"}}
    response = post_chat(server, body, api_version="2024-12-01-preview")
    assert response.status == 400
    assert_pretty_openai_error(response, param="prediction", code="unknown_parameter")
    assert response.json()["error"]["message"] == "Unknown parameter: 'prediction'."


@pytest.mark.parametrize(
    ("body", "param", "code", "message"),
    [
        (
            {**BODY, "response_format": {"type": "xml"}},
            "response_format.type",
            "invalid_value",
            "Invalid value: 'xml'. Supported values are: 'json_object', 'json_schema', and 'text'.",
        ),
        (
            {**BODY, "response_format": {"type": "json_schema"}},
            "response_format.json_schema",
            "missing_required_parameter",
            "Missing required parameter: 'response_format.json_schema'.",
        ),
        (
            {
                "messages": [
                    {
                        "role": "developer",
                        "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
                    },
                    {"role": "user", "content": "hi"},
                ]
            },
            "messages[0].content[0].type",
            "invalid_value",
            "Invalid value: 'image_url'. Supported values are: 'text'.",
        ),
    ],
    ids=["unknown-format-type", "json-schema-missing", "image-in-developer-message"],
)
def test_tagged_union_errors_name_the_tag_or_the_chosen_branch(
    server: MockServer, body: dict[str, Any], param: str, code: str, message: str
) -> None:
    response = post_chat(server, body)
    assert response.status == 400
    assert_pretty_openai_error(response, param=param, code=code)
    assert response.json()["error"]["message"] == message


def test_json_schema_format_without_a_schema_is_a_400_where_the_document_allows_it() -> None:
    # 2024-10-21's document does not require `schema`; with the model's version gate off
    # such a body reaches the structured-output check, which once raised a KeyError (500).
    fmt = {"type": "json_schema", "json_schema": {"name": "answer", "type": "json_schema"}}
    with MockServer(model_api_version_gate=False) as old_version:
        response = post_chat(
            old_version, {**BODY, "response_format": fmt}, api_version="2024-10-21"
        )
    assert response.status == 400
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("response_format", "invalid_json_schema")
    assert error["message"].startswith("Invalid schema for response_format 'answer': ")


def assert_pretty_openai_error(
    response: rawhttp.RawResponse, param: str | None, code: str | None
) -> None:
    """OpenAI's envelope printed with a 2-space indent, keys message, type, param, code."""
    payload = response.json()
    assert response.body == pretty(payload)
    assert list(payload) == ["error"]
    error = payload["error"]
    assert list(error) == ["message", "type", "param", "code"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["code"] == code
