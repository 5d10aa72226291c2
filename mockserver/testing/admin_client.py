"""`AdminClient`: the typed admin API of a server in another process (`mockserver serve`).

    admin = AdminClient("http://127.0.0.1:8089")
    admin.stub(match={"last_user_message": {"contains": "hi"}}, answer={"content": "hello"})
    admin.verify(last_user_message={"contains": "hi"}, count=1)

The same calls, under the same names, as `MockServer` (both inherit them from
mockserver.testing.admin_api); `MockServer.attach(url)` is the same with the client
factories too. A server started with an admin token wants it: `AdminClient(url, token=...)`,
or the MOCKSERVER_ADMIN_TOKEN variable the server itself reads.
"""

from __future__ import annotations

import os
from typing import Any

from mockserver.engines.stubs import Stub
from mockserver.testing.admin_api import AdminApi
from mockserver.testing.admin_http import DEFAULT_TIMEOUT_SECONDS, AdminHttp
from mockserver.testing.errors import AdminError

__all__ = ["TOKEN_VARIABLE", "AdminClient", "AdminError"]

TOKEN_VARIABLE = "MOCKSERVER_ADMIN_TOKEN"


class AdminClient(AdminApi):
    def __init__(
        self,
        url: str,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        token: str | None = None,
        session: str | None = None,
    ) -> None:
        """`session`: see only that session's stubs, journal... (`x-mock-session`)."""
        token = token if token is not None else os.environ.get(TOKEN_VARIABLE)
        self.admin_http = AdminHttp(url, token, timeout, session)
        self.url = self.admin_http.url

    def __repr__(self) -> str:  # never the token
        return f"AdminClient({self.url!r})"

    # The names this client had before it shared MockServer's (README "Testing your app"
    # names add_stub; scripts call the others): kept, each the same call as its new name.

    def add_stub(self, stub: Stub | dict[str, Any]) -> Stub:
        return self.stub(stub)

    def set_scenario(self, name: str, state: str) -> None:
        self.set_scenario_state(name, state)

    def settings(self) -> dict[str, Any]:
        return self.current_settings()
