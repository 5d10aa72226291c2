"""A typed client of the admin API, for a server in another process (`mockserver serve`).

    admin = AdminClient("http://127.0.0.1:8089")
    admin.add_stub({"match": {"last_user_message": {"contains": "hi"}},
                    "answer": {"content": "hello"}})
    admin.verify({"last_user_message": {"contains": "hi"}}, count=1)

A server started with an admin token wants it: `AdminClient(url, token=...)`, or the
MOCKSERVER_ADMIN_TOKEN variable the server itself reads. Standard library only, so test
code in any environment can use it.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from mockserver.engines.matching import RequestMatch
from mockserver.engines.stubs import Stub
from mockserver.stores.journal import VerificationError


class AdminError(RuntimeError):
    """The admin API refused a call; `status` and `body` say why."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


TOKEN_VARIABLE = "MOCKSERVER_ADMIN_TOKEN"


class AdminClient:
    def __init__(self, url: str, timeout: float = 30.0, token: str | None = None) -> None:
        self.base = url.rstrip("/") + "/__admin"
        self.timeout = timeout
        self._token = token if token is not None else os.environ.get(TOKEN_VARIABLE)

    def __repr__(self) -> str:  # never the token
        return f"AdminClient({self.base!r})"

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def reset(self, parts: list[str] | None = None) -> dict[str, Any]:
        return self._call("POST", "/reset", {"parts": parts} if parts else None)

    def stubs(self) -> list[Stub]:
        return [Stub.model_validate(s) for s in self._call("GET", "/stubs")["stubs"]]

    def add_stub(self, stub: Stub | dict[str, Any]) -> Stub:
        model = stub if isinstance(stub, Stub) else Stub.model_validate(stub)
        body = model.model_dump(exclude={"answered"})
        return Stub.model_validate(self._call("POST", "/stubs", body))

    def delete_stub(self, stub_id: str) -> None:
        self._call("DELETE", f"/stubs/{stub_id}")

    def requests(self, **filters: str | int) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode(filters)
        found: list[dict[str, Any]] = self._call("GET", f"/requests?{query}")["requests"]
        return found

    def find(self, match: RequestMatch | dict[str, Any] | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._call("POST", "/requests/find", _match(match))[
            "requests"
        ]
        return found

    def count(self, match: RequestMatch | dict[str, Any] | None = None) -> int:
        return int(self._call("POST", "/requests/count", _match(match))["count"])

    def verify(
        self, match: RequestMatch | dict[str, Any] | None = None, count: int | None = None
    ) -> int:
        """Like `MockServer.verify`: raises VerificationError with the nearest requests."""
        try:
            body = {"match": _match(match), "count": count}
            return int(self._call("POST", "/requests/verify", body)["matched"])
        except AdminError as error:
            if error.status == 409:
                raise VerificationError(error.body["error"]["message"]) from None
            raise

    def scenarios(self) -> dict[str, str]:
        states: dict[str, str] = self._call("GET", "/scenarios")["scenarios"]
        return states

    def set_scenario(self, name: str, state: str) -> None:
        self._call("PUT", f"/scenarios/{name}", {"state": state})

    def settings(self) -> dict[str, Any]:
        return self._call("GET", "/settings")

    def configure(self, **changes: Any) -> dict[str, Any]:
        return self._call("PATCH", "/settings", changes)

    def quota(self) -> dict[str, Any]:
        return self._call("GET", "/quota")

    def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer: dict[str, Any] = json.loads(response.read() or b"{}")
                return answer
        except urllib.error.HTTPError as error:
            raise AdminError(error.code, json.loads(error.read() or b"{}")) from None


def _match(match: RequestMatch | dict[str, Any] | None) -> dict[str, Any]:
    if isinstance(match, RequestMatch):
        return match.model_dump(exclude_none=True)
    return RequestMatch.model_validate(match or {}).model_dump(exclude_none=True)
