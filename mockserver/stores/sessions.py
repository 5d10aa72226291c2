"""Sessions: each test (or each client) its own stubs, scenarios, journal, quota, stored
responses and fault counts on one server, named by the `x-mock-session` header.

A request without the header is in the default session. A session's stores are made on
first use; resetting all of a session forgets it. In memory, the least recently used
sessions beyond `MAX_SESSIONS` are forgotten too, so a long parallel run holds bounded
state (the default session is never forgotten).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from mockserver.config import Settings
from mockserver.stores.memory import memory_stores
from mockserver.stores.stores import RESETTABLE, Stores

SESSION_HEADER = "x-mock-session"
SESSION_QUERY = "session"
DEFAULT_SESSION = "default"
MAX_SESSIONS = 4096
_SESSION_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")


class StoreConnectError(RuntimeError):
    """The shared store could not be reached at start; one line, without password."""


class SessionError(ValueError):
    """A session id that is not 1-128 letters, digits, `_`, `.`, `:` or `-`."""


def session_of(headers: Mapping[str, str], query: Mapping[str, str] | None = None) -> str:
    """The session a request names (header first, then `?session=`), or the default."""
    named = headers.get(SESSION_HEADER) or (query or {}).get(SESSION_QUERY)
    if named is None:
        return DEFAULT_SESSION
    if not _SESSION_ID.fullmatch(named):
        raise SessionError(
            f"{SESSION_HEADER}: a session id is 1-128 letters, digits, '_', '.', ':' or '-'"
        )
    return named


class StateBackend(Protocol):
    """Where the stores of every session live: this process's memory, or a shared server."""

    def stores(self, session: str) -> Stores:
        """The session's stores (made on first use; cheap to call on every request)."""
        ...

    async def forget(self, session: str) -> None:
        """Drop everything the session holds (a reset of all its parts)."""
        ...

    async def healthy(self) -> bool:
        """Whether the stores answer (a shared store may be down for a while)."""
        ...

    async def start(self, apply_settings: Callable[[dict[str, Any]], None]) -> None:
        """Start the background work, in the serving process: hand `apply_settings` all
        the settings changes shared so far (now, and again at each change), expire idle
        sessions."""
        ...

    async def share_settings(self, changes: Mapping[str, Any]) -> bool:
        """Share settings changes; return once every process applied them (this one
        included: True), or False when nothing is shared (the caller applies them)."""
        ...

    async def clear_settings(self) -> bool:
        """Drop every shared change; True once every process is back to its configured
        settings, False when nothing is shared."""
        ...

    async def close(self) -> None: ...


class MemoryBackend:
    def __init__(
        self,
        settings: Settings,
        make: Callable[[Settings], Stores] = memory_stores,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self.settings = settings
        self.make = make
        self.max_sessions = max_sessions
        self.sessions: OrderedDict[str, Stores] = OrderedDict()

    def stores(self, session: str) -> Stores:
        stores = self.sessions.get(session)
        if stores is None:
            stores = self.sessions[session] = self.make(self.settings)
            self._bound()
        self.sessions.move_to_end(session)
        return stores

    async def forget(self, session: str) -> None:
        if session == DEFAULT_SESSION:
            await self.stores(session).reset(RESETTABLE)  # the default one stays, empty
        else:
            self.sessions.pop(session, None)

    async def healthy(self) -> bool:
        return True  # this process's memory answers while the process does

    async def start(self, apply_settings: Callable[[dict[str, Any]], None]) -> None:
        pass  # one process: its own changes are all there are; sessions bounded by count

    async def share_settings(self, changes: Mapping[str, Any]) -> bool:
        return False

    async def clear_settings(self) -> bool:
        return False

    async def close(self) -> None:
        self.sessions.clear()

    def _bound(self) -> None:
        while len(self.sessions) > self.max_sessions:
            oldest = next(name for name in self.sessions if name != DEFAULT_SESSION)
            del self.sessions[oldest]
