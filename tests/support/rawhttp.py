"""Raw HTTP for what the SDK hides: exact bytes, status and headers (http.client)."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mockserver.testing.server import MockServer
from tests.support.chat import API_KEY, chat_url


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-cased names
    header_names: list[str]  # as sent, in order
    body: bytes
    reason: str = ""  # the status line's reason phrase

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    url: str,
    method: str = "POST",
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> RawResponse:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    connection = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    payload = json.dumps(body).encode() if isinstance(body, dict) else body
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    try:
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
        names = [name for name, _ in response.getheaders()]
        lowered = {name.lower(): value for name, value in response.getheaders()}
        return RawResponse(response.status, lowered, names, data, response.reason)
    finally:
        connection.close()


def key_headers(server: MockServer) -> dict[str, str]:
    """The key, and the session of `server` when it is a session's handle (`azure_mock`)."""
    return {"api-key": API_KEY, **server.session_headers}


def post_chat(server: MockServer, body: Any, **route: Any) -> RawResponse:
    """POST a chat body (dict or raw bytes) to the dated route with the key; `headers=` adds
    headers, `deployment=` / `api_version=` change the route."""
    headers = {**key_headers(server), **route.pop("headers", {})}
    return request(chat_url(server, **route), body=body, headers=headers)


def get(server: MockServer, path: str, headers: dict[str, str] | None = None) -> RawResponse:
    """GET `path` with the key (or exactly `headers` when given)."""
    sent = key_headers(server) if headers is None else headers
    return request(server.url + path, "GET", headers=sent)
