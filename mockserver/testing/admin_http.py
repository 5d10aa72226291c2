"""One call to a server's admin API (/__admin) over HTTP, with its token if it has one.

Standard library only (urllib), so any test environment can drive a server with it. The
token goes as `Authorization: Bearer <token>` (mockserver.admin.token accepts that or
x-mock-admin-token) and is held as a SecretStr, so no repr or traceback shows it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from pydantic import SecretStr

from mockserver.testing.errors import AdminError

SESSION_HEADER = "x-mock-session"  # as mockserver.stores.sessions reads it

ADMIN_PREFIX = "/__admin"
DEFAULT_TIMEOUT_SECONDS = 30.0


class AdminHttp:
    """The admin API of the server at `url` (its root, e.g. http://127.0.0.1:8089)."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        session: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.token = SecretStr(token) if token else None
        self.session = session  # x-mock-session: whose stubs and journal the calls see

    def __repr__(self) -> str:  # never the token
        return f"AdminHttp({self.url!r}, token={'set' if self.token else None})"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON answer of `method path`; an AdminError when the answer is not a 2xx."""
        request = self._request(method, path, body)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise AdminError(error.code, _error_body(error.read())) from None

    def _request(self, method: str, path: str, body: Any) -> urllib.request.Request:
        data = None if body is None else json.dumps(body, default=str).encode()  # Paths as text
        request = urllib.request.Request(self.url + ADMIN_PREFIX + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token is not None:
            request.add_header("Authorization", f"Bearer {self.token.get_secret_value()}")
        if self.session is not None:
            request.add_header(SESSION_HEADER, self.session)
        return request


def _error_body(raw: bytes) -> dict[str, Any]:
    """The refusal's Azure-shaped body; anything else (a proxy's page) wrapped in that shape."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {"error": {"code": "", "message": raw.decode("utf-8", "replace")}}
