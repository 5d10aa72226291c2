"""The typed calls of the admin API, shared by every handle on a server.

`MockServer` (in-process or attached) and `AdminClient` inherit these, so both name the same
thing the same way, and each call goes through /__admin over HTTP: one implementation,
whichever side of a process boundary the server is on.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from typing import Any

from mockserver.engines.matching import RequestMatch
from mockserver.engines.stubs import Stub
from mockserver.stores.journal_entry import JournalEntry
from mockserver.testing.admin_http import AdminHttp
from mockserver.testing.answers import DeploymentQuota, Health, journal_entries
from mockserver.testing.errors import AdminError, VerificationFailedError

VERIFICATION_FAILED = 409


class AdminApi:
    """Stubs, scenarios, the journal and its verification, settings, quota, health, reset."""

    admin_http: AdminHttp | None = None

    def _admin(self) -> AdminHttp:
        if self.admin_http is None:
            raise RuntimeError("the mock server is not running: start() it, or use `with`")
        return self.admin_http

    def health(self) -> Health:
        return Health.model_validate(self._admin().call("GET", "/health"))

    # --- stubs ---------------------------------------------------------------------------

    def stub(self, stub: Stub | dict[str, Any] | None = None, /, **fields: Any) -> Stub:
        """Add a stub rule: a `Stub`, its JSON as a dict, or its fields as keywords.

        server.stub(match={"last_user_message": {"contains": "weather"}},
                    answer={"tool_calls": [{"name": "get_weather"}]}, times=1)
        """
        added = self._admin().call("POST", "/stubs", _stub_json(stub, fields))
        return Stub.model_validate(added)

    def stubs(self) -> list[Stub]:
        """Every stub, with how often each has answered (`answered`)."""
        return [Stub.model_validate(s) for s in self._admin().call("GET", "/stubs")["stubs"]]

    def stub_by_id(self, stub_id: str) -> Stub:
        return Stub.model_validate(self._admin().call("GET", f"/stubs/{_quoted(stub_id)}"))

    def replace_stub(self, stub_id: str, stub: Stub | dict[str, Any]) -> Stub:
        path = f"/stubs/{_quoted(stub_id)}"
        return Stub.model_validate(self._admin().call("PUT", path, _stub_json(stub, {})))

    def delete_stub(self, stub_id: str) -> None:
        self._admin().call("DELETE", f"/stubs/{_quoted(stub_id)}")

    # --- the journal ---------------------------------------------------------------------

    @property
    def requests(self) -> list[JournalEntry]:
        """The journal: every request received, oldest first."""
        return self.journal()

    def journal(
        self,
        *,
        status: int | None = None,
        source: str | None = None,
        deployment: str | None = None,
        surface: str | None = None,
        limit: int | None = None,
        since: int | None = None,
    ) -> list[JournalEntry]:
        """The journal's entries with these fields (`source="stub:<id>"`, `status=429`…):
        the newest `limit` of them, after entry id `since`."""
        filters = {
            "status": status,
            "source": source,
            "deployment": deployment,
            "surface": surface,
        }
        query = {name: value for name, value in filters.items() if value is not None}
        query.update({"limit": limit or 0, "since": since or 0})
        path = "/requests?" + urllib.parse.urlencode(query)
        return journal_entries(self._admin().call("GET", path))

    def find(
        self, match: RequestMatch | dict[str, Any] | None = None, **fields: Any
    ) -> list[JournalEntry]:
        """The requests a request match (as stubs match) holds for, oldest first."""
        body = _match_json(match, fields)
        return journal_entries(self._admin().call("POST", "/requests/find", body))

    def count(self, match: RequestMatch | dict[str, Any] | None = None, **fields: Any) -> int:
        body = _match_json(match, fields)
        return int(self._admin().call("POST", "/requests/count", body)["count"])

    def verify(
        self,
        match: RequestMatch | dict[str, Any] | None = None,
        count: int | None = None,
        **fields: Any,
    ) -> list[JournalEntry]:
        """Assert matching requests were received (`count` of them), and return them; a
        VerificationFailedError (an AssertionError) shows the nearest requests and what differed."""
        __tracebackhide__ = True  # pytest shows the test's line
        wanted = _match_json(match, fields)
        try:
            self._admin().call("POST", "/requests/verify", {"match": wanted, "count": count})
        except AdminError as error:
            if error.status == VERIFICATION_FAILED:
                raise VerificationFailedError(error.status, error.body) from None
            raise
        return self.find(wanted)

    # --- scenarios -----------------------------------------------------------------------

    def scenarios(self) -> dict[str, str]:
        """Each scenario's state (only scenarios that have one)."""
        states: dict[str, str] = self._admin().call("GET", "/scenarios")["scenarios"]
        return states

    def scenario_state(self, name: str) -> str | None:
        return self.scenarios().get(name)

    def set_scenario_state(self, name: str, state: str) -> None:
        self._admin().call("PUT", f"/scenarios/{_quoted(name)}", {"state": state})

    def reset_scenarios(self) -> None:
        """Every scenario back to its start; the stubs stay."""
        self._admin().call("POST", "/scenarios/reset")

    # --- the server as a whole -----------------------------------------------------------

    def reset(self, parts: Iterable[str] | None = None) -> None:
        """Forget stubs, scenario states, the journal and quota usage (or only `parts`)."""
        body = None if parts is None else {"parts": sorted(parts)}
        self._admin().call("POST", "/reset", body)

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change settings while running, e.g. `configure(seed=7, deterministic_ids=True)`;
        the settings that follow, secrets masked."""
        settings: dict[str, Any] = self._admin().call("PATCH", "/settings", changes)
        return settings

    def restore_settings(self) -> dict[str, Any]:
        """Undo every `configure`: the settings the server started with (on every process
        sharing its store); the settings that follow, secrets masked."""
        settings: dict[str, Any] = self._admin().call("DELETE", "/settings")
        return settings

    def current_settings(self) -> dict[str, Any]:
        """The settings the server runs with now, as JSON, every secret masked."""
        settings: dict[str, Any] = self._admin().call("GET", "/settings")
        return settings

    def quota(self) -> dict[str, DeploymentQuota]:
        """Each deployment's limits and what it used in the current windows."""
        deployments = self._admin().call("GET", "/quota")["deployments"]
        return {name: DeploymentQuota.model_validate(d) for name, d in deployments.items()}


def _stub_json(stub: Stub | dict[str, Any] | None, fields: dict[str, Any]) -> dict[str, Any]:
    """A stub checked here (a mistake fails at the test's line), as the admin API takes it."""
    model = stub if isinstance(stub, Stub) else Stub.model_validate(stub or fields)
    return model.model_dump(mode="json", exclude={"answered"})


def _match_json(match: RequestMatch | dict[str, Any] | None, fields: dict[str, Any]) -> Any:
    if isinstance(match, RequestMatch):
        return match.model_dump(mode="json", exclude_none=True)
    model = RequestMatch.model_validate(match or fields)
    return model.model_dump(mode="json", exclude_none=True)


def _quoted(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")
