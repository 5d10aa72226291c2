"""The real server on 127.0.0.1 and a free port, in a background thread with its own loop.

Its own loop lets synchronous clients (the `openai` SDK's `AzureOpenAI`) and asynchronous
ones talk to it from the test's thread, and lets the test call the admin API with blocking
HTTP even from inside an async test: the server never waits on the test's loop.
"""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from mockserver.config import Settings
from mockserver.http.app import create_app
from mockserver.http.connection import runner_for
from mockserver.http.keys import STATE
from mockserver.state import AppState

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 30.0
LOOPBACK = "127.0.0.1"


class EmbeddedServer:
    """One server in this process: start() binds it and returns its port; stop() ends it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self.port = 0

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop serving, while it runs."""
        return self._loop

    @property
    def state(self) -> AppState:
        assert self._runner is not None, "the server is not running"
        return self._runner.app[STATE]

    def start(self) -> int:
        """Serve, within START_TIMEOUT_SECONDS; the port bound."""
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="mockserver", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_SECONDS):
            raise TimeoutError(f"mockserver did not start in {START_TIMEOUT_SECONDS:g} s")
        if self._failure is not None:
            self._thread = None
            raise RuntimeError("mockserver failed to start") from self._failure
        return self.port

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        shutdown = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        shutdown.result(timeout=STOP_TIMEOUT_SECONDS)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=STOP_TIMEOUT_SECONDS)
        self._loop, self._thread = None, None

    def take_failures(self) -> list[BaseException]:
        """Exceptions raised inside the server since the last call (bugs answered as 500).

        The one place the front door reads the server's state directly: exceptions are
        Python objects, with tracebacks, that no HTTP answer could carry."""
        if self._runner is None:
            return []
        failures = self.state.failures
        taken, failures[:] = list(failures), []
        return taken

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as error:  # reported to the starting thread
            self._failure = error
            self._loop = None
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
        site = web.TCPSite(self._runner, LOOPBACK, 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
