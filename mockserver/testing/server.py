"""`MockServer`: the front door for tests in Python.

    from mockserver import MockServer

    with MockServer() as server:                      # or: async with MockServer() as server
        server.stub(answer={"content": "hello"})
        client = server.azure_openai_client()
        ...
        server.verify(last_user_message={"contains": "hi"}, count=1)

`MockServer(**settings)` starts the real server in this process, on 127.0.0.1 and a free
port; `MockServer.attach(url, admin_token=...)` drives one already running (`mockserver
serve`). Either way every typed call (mockserver.testing.admin_api) goes through the admin
API over HTTP; only the exceptions a bug raised inside an in-process server are read from
it directly (`take_failures`).
"""

from __future__ import annotations

import asyncio
import urllib.parse
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from mockserver.config import Settings, load_settings
from mockserver.stores.journal_entry import JournalEntry
from mockserver.testing import openai_clients
from mockserver.testing.admin_api import AdminApi
from mockserver.testing.admin_client import AdminClient
from mockserver.testing.admin_http import DEFAULT_TIMEOUT_SECONDS, SESSION_HEADER, AdminHttp
from mockserver.testing.embedded import START_TIMEOUT_SECONDS, EmbeddedServer
from mockserver.testing.errors import AdminError
from mockserver.testing.openai_clients import DEFAULT_API_VERSION

if TYPE_CHECKING:
    from openai import AsyncAzureOpenAI, AsyncOpenAI, AzureOpenAI, OpenAI

    from mockserver.state import AppState

__all__ = ["START_TIMEOUT_SECONDS", "MockServer"]


class MockServer(AdminApi):
    """A mock server for a test: started here (`MockServer(...)`), or attached (`attach`)."""

    _settings: Settings | None
    _embedded: EmbeddedServer | None

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        """Settings as a `Settings`, or as its fields (`MockServer(seed=7)`); environment
        variables are not read, so a test runs the same everywhere. It always binds
        127.0.0.1 and a free port, whatever `host` and `port` say."""
        if settings is not None and overrides:
            raise TypeError("MockServer takes a Settings or its fields as keywords, not both")
        self._settings = settings or load_settings(environ={}, overrides=overrides)
        self._embedded = EmbeddedServer(self._settings)
        self._url: str | None = None
        self._token: SecretStr | None = self._settings.auth.admin_token
        self._timeout = DEFAULT_TIMEOUT_SECONDS
        self._final_journal: list[JournalEntry] | Exception = []
        self._session: str | None = None
        self._owner: MockServer | None = None  # the server a session handle belongs to

    @classmethod
    def attach(
        cls,
        url: str,
        admin_token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> MockServer:
        """The server running at `url` (e.g. http://127.0.0.1:8089), checked to answer
        GET /__admin/health; start/stop and `with` leave it running."""
        server = cls.__new__(cls)
        server._adopt(url, admin_token, timeout)
        try:
            server.health()  # fails now, with the reason, if nothing answers there
        except OSError as error:
            raise ConnectionError(f"no mock server answers at {server.url}: {error}") from error
        return server

    def _adopt(
        self, url: str, admin_token: str | None, timeout: float, session: str | None = None
    ) -> None:
        self._settings = None
        self._embedded = None
        self._url = url.rstrip("/")
        self._timeout = timeout
        self._token = SecretStr(admin_token) if admin_token else None
        self._final_journal = []
        self._session = session
        self._owner = None
        self.admin_http = AdminHttp(self._url, admin_token, timeout, session)

    def session(self, name: str) -> MockServer:
        """A handle on this server that sees only the session `name` (`x-mock-session`):
        its own stubs, scenarios, journal, quota and stored responses. Its clients send
        the header; a request of yours should too (`session_headers`). Settings are the
        server's, shared by every session."""
        handle = MockServer.__new__(MockServer)
        handle._adopt(self.url, _secret(self._token), self._timeout, name)
        handle._owner = self
        return handle

    @property
    def session_name(self) -> str | None:
        """The session this handle sees; None for the default one."""
        return self._session

    @property
    def session_headers(self) -> dict[str, str]:
        """The headers that put a request of yours in this handle's session."""
        return {} if self._session is None else {SESSION_HEADER: self._session}

    def __repr__(self) -> str:  # never the admin token
        where = "attached" if self.attached else "in-process"
        session = f", session={self._session!r}" if self._session else ""
        return f"MockServer({self._url or 'not started'!r}, {where}{session})"

    # --- where it is ---------------------------------------------------------------------

    @property
    def attached(self) -> bool:
        return self._embedded is None

    @property
    def url(self) -> str:
        """The server's root: the `azure_endpoint` for `AzureOpenAI`."""
        if self._url is None:
            raise RuntimeError("the mock server is not running: start() it, or use `with`")
        return self._url

    @property
    def v1_base_url(self) -> str:
        """The `base_url` for `OpenAI` on the v1 API."""
        return f"{self.url}/openai/v1/"

    @property
    def port(self) -> int:
        parts = urllib.parse.urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def settings(self) -> Settings:
        """The settings an in-process server started with (`current_settings()` says what
        it runs with now, for any server)."""
        if self._settings is None:
            raise AttributeError("an attached server's settings: use current_settings()")
        return self._settings

    # --- the openai SDK's clients, ready for this server ---------------------------------

    def openai_client(self, **options: Any) -> OpenAI:
        """`openai.OpenAI` on the v1 API; `options` go to the SDK (api_key, max_retries=0…)."""
        return openai_clients.openai_client(self.v1_base_url, **self._in_session(options))

    def async_openai_client(self, **options: Any) -> AsyncOpenAI:
        return openai_clients.async_openai_client(self.v1_base_url, **self._in_session(options))

    def azure_openai_client(
        self, api_version: str = DEFAULT_API_VERSION, **options: Any
    ) -> AzureOpenAI:
        """`openai.AzureOpenAI` on the dated API at `api_version`."""
        options = self._in_session(options)
        return openai_clients.azure_openai_client(self.url, api_version, **options)

    def async_azure_openai_client(
        self, api_version: str = DEFAULT_API_VERSION, **options: Any
    ) -> AsyncAzureOpenAI:
        options = self._in_session(options)
        return openai_clients.async_azure_openai_client(self.url, api_version, **options)

    def _in_session(self, options: dict[str, Any]) -> dict[str, Any]:
        """The SDK options with this handle's session header among its default headers."""
        if self._session is None:
            return options
        headers = {**self.session_headers, **(options.get("default_headers") or {})}
        return {**options, "default_headers": headers}

    def admin_client(self) -> AdminClient:
        """An `AdminClient` of this server (of this handle's session), with its admin token."""
        token = _secret(self._token)
        return AdminClient(self.url, timeout=self._timeout, token=token, session=self._session)

    # --- an in-process server's insides --------------------------------------------------

    def take_failures(self) -> list[BaseException]:
        """Exceptions raised inside an in-process server since the last call (its bugs,
        answered as 500), to fail the test that caused them; [] for an attached one."""
        if self._owner is not None:
            return self._owner.take_failures()
        return [] if self._embedded is None else self._embedded.take_failures()

    @property
    def state(self) -> AppState:
        """The in-process server's state. Not part of the front door (the typed calls
        above are): for the project's own tests, which look at what the API does not show."""
        if self._owner is not None:
            return self._owner.state
        if self._embedded is None:
            raise AttributeError("an attached server's state is in its own process")
        return self._embedded.state

    @property
    def _loop(self) -> asyncio.AbstractEventLoop | None:
        # tests/stream/test_disconnect.py counts the tasks on the server's loop through this
        # name, which the server had before the front door; not for anything else.
        return None if self._embedded is None else self._embedded.loop

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> MockServer:
        """Serve (an in-process server), within START_TIMEOUT_SECONDS."""
        if self._embedded is not None and not self._embedded.running:
            port = self._embedded.start()
            self._url = f"http://127.0.0.1:{port}"
            self.admin_http = AdminHttp(self._url, _secret(self._token), self._timeout)
        return self

    def stop(self) -> None:
        """Stop an in-process server; an attached one keeps running."""
        if self._embedded is None or not self._embedded.running:
            return
        try:  # kept for asserting after the `with` block
            self._final_journal = self.journal()
        except (AdminError, OSError) as error:  # said when read, not by stopping
            self._final_journal = error
        self._embedded.stop()

    @property
    def requests(self) -> list[JournalEntry]:
        """The journal: every request received, oldest first (once an in-process server
        has stopped, as it was when it stopped)."""
        if self._embedded is None or self._embedded.running:
            return self.journal()
        if isinstance(self._final_journal, Exception):
            raise RuntimeError("the journal could not be read as the server stopped") from (
                self._final_journal
            )
        return list(self._final_journal)

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> MockServer:
        # Starting waits for the server's thread: off the event loop, which goes on.
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)


def _secret(token: SecretStr | None) -> str | None:
    return None if token is None else token.get_secret_value()
