"""`MockServer`: the real server on 127.0.0.1 and a free port, in a background thread.

    with MockServer() as server:
        client = AzureOpenAI(
            azure_endpoint=server.url, api_key="any", api_version="2025-04-01-preview"
        )

The thread runs its own event loop, so synchronous clients (the `openai` SDK's
`AzureOpenAI`) and asynchronous ones can both talk to it.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Any

from aiohttp import web

from mockserver.config import Settings, load_settings
from mockserver.engines.matching import RequestMatch
from mockserver.engines.stubs import Stub
from mockserver.http.app import create_app
from mockserver.http.connection import runner_for
from mockserver.http.keys import STATE
from mockserver.state import RESETTABLE, AppState
from mockserver.stores.journal import JournalEntry, verify
from mockserver.testing.admin_client import AdminClient

START_TIMEOUT_SECONDS = 30.0


class MockServer:
    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        self.settings = settings or load_settings(environ={}, overrides=overrides)
        self.settings = self.settings.model_copy(update={"host": "127.0.0.1", "port": 0})
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The `azure_endpoint` for `AzureOpenAI`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def v1_base_url(self) -> str:
        """The `base_url` for `OpenAI` on the v1 API."""
        return f"{self.url}/openai/v1/"

    @property
    def state(self) -> AppState:
        assert self._runner is not None, "the server is not running"
        return self._runner.app[STATE]

    # --- the test-double API ---------------------------------------------------------

    def stub(self, stub: Stub | dict[str, Any] | None = None, /, **fields: Any) -> Stub:
        """Add a stub rule: a `Stub`, its JSON as a dict, or its fields as keywords.

        server.stub(match={"last_user_message": {"contains": "weather"}},
                    answer={"tool_calls": [{"name": "get_weather"}]}, times=1)
        """
        model = stub if isinstance(stub, Stub) else Stub.model_validate(stub or fields)
        return self.state.stubs.add(model)

    @property
    def requests(self) -> list[JournalEntry]:
        """The journal: every inference request received, oldest first."""
        return self.state.journal.entries()

    def find(
        self, match: RequestMatch | dict[str, Any] | None = None, **fields: Any
    ) -> list[JournalEntry]:
        return self.state.journal.find(_match(match, fields))

    def verify(
        self,
        match: RequestMatch | dict[str, Any] | None = None,
        count: int | None = None,
        **fields: Any,
    ) -> list[JournalEntry]:
        """Assert matching requests were received (`count` of them); the error shows the
        nearest requests and what differed."""
        __tracebackhide__ = True
        return verify(self.state.journal, _match(match, fields), count)

    def reset(self, parts: frozenset[str] = RESETTABLE) -> None:
        """Forget stubs, scenario states, the journal and quota usage (or only `parts`)."""
        self.state.reset(parts)

    def configure(self, **changes: Any) -> None:
        """Change settings while running, e.g. `configure(seed=7, deterministic_ids=True)`."""
        self.state.update_settings(changes)

    def scenario_state(self, name: str) -> str | None:
        return self.state.stubs.scenarios.get(name)

    def admin_client(self) -> AdminClient:
        """A client of this server's admin API over HTTP, sending its admin token if set."""
        token = self.state.settings.admin_token
        return AdminClient(self.url, token=token.get_secret_value() if token else "")

    def take_failures(self) -> list[BaseException]:
        """Exceptions raised inside the server since the last call (bugs answered as 500)."""
        failures, self.state.failures[:] = list(self.state.failures), []
        return failures

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> MockServer:
        self._thread = threading.Thread(target=self._run, name="mockserver", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_SECONDS):
            raise TimeoutError("mockserver did not start in time")
        if self._failure is not None:
            raise RuntimeError("mockserver failed to start") from self._failure
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop, self._thread = None, None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as error:  # reported to the starting thread
            self._failure = error
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        loop.run_forever()
        loop.close()

    async def _startup(self) -> None:
        # The served runner: Azure's 400 for bad HTTP, header/idle timeouts, shutdown grace.
        self._runner = runner_for(create_app(self.settings), self.settings)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        address = self._runner.addresses[0]
        self.port = int(address[1])

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def _match(match: RequestMatch | dict[str, Any] | None, fields: dict[str, Any]) -> RequestMatch:
    if isinstance(match, RequestMatch):
        return match
    return RequestMatch.model_validate(match or fields)
