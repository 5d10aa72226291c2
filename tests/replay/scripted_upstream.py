"""An upstream the test scripts: a real aiohttp server on 127.0.0.1, in its own thread.

Every request it receives is answered by the handler the test gives it: silence, bytes
that are not UTF-8, a gzip bomb, an answer larger than allowed, a body broken off. A
handler that waits does so on `released`, which is set when the server stops, so no
test leaves a request hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import web

Handler = Callable[["ScriptedUpstream", web.Request], Awaitable[web.StreamResponse]]
START_TIMEOUT_SECONDS = 30.0
# The longest a handler waits for its release: far past any recorder timeout in tests.
LONGEST_SILENCE_SECONDS = 60.0


class ScriptedUpstream:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.received: list[web.Request] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._released = asyncio.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scripted-upstream", daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def silence(self) -> None:
        """Say nothing until the test ends (or LONGEST_SILENCE_SECONDS pass)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._released.wait(), LONGEST_SILENCE_SECONDS)

    def __enter__(self) -> ScriptedUpstream:
        self._thread.start()
        assert self._ready.wait(START_TIMEOUT_SECONDS), "the scripted upstream did not start"
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(START_TIMEOUT_SECONDS)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(START_TIMEOUT_SECONDS)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        self.received.append(request)
        return await self.handler(self, request)

    async def _stop(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
