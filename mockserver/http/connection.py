"""The HTTP connection: aiohttp's, with a deadline for slow headers and Azure's 400 for bad HTTP.

aiohttp answers bytes it cannot parse itself, before any middleware: a plain-text 400
that echoes the offending bytes, and an ERROR traceback in the log for each. A client
that sends half a request line and then nothing holds its connection until the
keep-alive timer (an hour by default). `Connection` answers the first with a short
Azure-shaped JSON 400 and one log line, and closes the second once its headers are
late. The runner built by `runner_for` makes every connection one of these.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.http_parser import RawRequestMessage
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from mockserver.admin.metrics import METRICS
from mockserver.config import Settings
from mockserver.contract.errors import catalogue_error
from mockserver.contract.headers import gateway_headers, new_request_id
from mockserver.http.keys import STATE
from mockserver.http.lane.answer import Served
from mockserver.http.lane.connection import Lane, LaneConnection
from mockserver.http.lane.routes import lane_routes
from mockserver.operations.registry import OPERATIONS

log = logging.getLogger("mockserver")


class Connection(RequestHandler):
    """One client connection; a request's headers must arrive within the header timeout."""

    __slots__ = ("_body", "_header_timer", "_message", "_settings")

    def __init__(self, manager: GuardedServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._settings = manager.settings
        self._header_timer: asyncio.TimerHandle | None = None
        self._body: Any = None  # the payload of the last request parsed, while it arrives
        self._message: Any = None  # that request's head

    def data_received(self, data: bytes) -> None:
        parsed_before = self._request_count
        received_before = self._body.total_bytes if self._body is not None else 0
        super().data_received(data)
        if self._request_count != parsed_before:
            self._headers_complete()
            partial = self._ends_past_new_request(data)
        else:
            partial = self._ends_past_body(data, received_before)
        if partial:  # (re)started: pipelined bytes after a request begin the next one
            self._start_header_timer()

    def _ends_past_new_request(self, data: bytes) -> bool:
        """Whether `data`, which completed a request's headers, ends past that request."""
        if self._body is not None and not self._body.is_eof():
            return False  # its body is still arriving: the body timeout watches that
        length = self._content_length(self._messages[-1][0]) if self._messages else None
        if length is None or length == 0:  # ends with its head, or its last chunk
            return not data.endswith(b"\r\n\r\n")
        head_end = len(data) - length  # its whole body is in `data`: the head ended here
        return head_end > 4 and data[head_end - 4 : head_end] != b"\r\n\r\n"

    def _ends_past_body(self, data: bytes, received_before: int) -> bool:
        """Whether `data`, which completed no headers, holds the start of a request."""
        if not data:
            return False
        if self._body is None:
            return True  # no request on this connection yet: these bytes begin one
        if not self._body.is_eof():
            return False
        if self._message is None or self._content_length(self._message) is None:
            return not data.endswith(b"\r\n\r\n")  # a chunked body ends with that
        # Decoded size (a compressed body's differs: then this errs towards the timer).
        return bool(len(data) != self._body.total_bytes - received_before)

    @staticmethod
    def _content_length(message: Any) -> int | None:
        if not isinstance(message, RawRequestMessage):
            return 0  # aiohttp's record of a request it could not parse: answered, closed
        if message.chunked:
            return None
        value = message.headers.get("Content-Length")
        return int(value) if value is not None and value.isdigit() else 0

    def connection_lost(self, exc: BaseException | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def _headers_complete(self) -> None:
        self._stop_header_timer()
        last = self._messages[-1] if self._messages else None
        self._message, self._body = (last[0], last[1]) if last is not None else (None, None)

    def _start_header_timer(self) -> None:
        if self._header_timer is None:
            delay = self._settings.server.request_header_timeout_seconds
            self._header_timer = self._loop.call_later(delay, self._headers_late)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self._request_in_progress or self._messages:
            # Earlier requests (pipelined) are still being answered: the late headers get
            # one more period from now, so the connection closes soon after those answers
            # rather than when the keep-alive timer ends (the first answers may wait for
            # the warm-up, longer than a short header timeout).
            self._start_header_timer()
            return
        log.warning("closed a connection whose request headers did not arrive in time")
        self.force_close()

    def log_exception(self, *args: Any, **kw: Any) -> None:
        # A body that could not be decoded was answered (a 400, logged once) by
        # api.body; aiohttp then fails to drain the rest of it. Nothing more to say.
        if isinstance(kw.get("exc_info"), web.RequestPayloadError):
            return
        super().log_exception(*args, **kw)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        # One line, and no bytes of the request: they may hold a key.
        log.warning("400 for malformed HTTP from %s: %s", request.remote, type(exc).__name__)
        return self._malformed_answer(exc)

    def _malformed_answer(self, exc: HttpProcessingError) -> web.Response:
        error = catalogue_error("MalformedRequest")
        status = exc.code if 400 <= exc.code < 500 else error.status
        response = _BareResponse(status=status, body=error.body, content_type="application/json")
        headers = gateway_headers(new_request_id(), {}, self._settings.server.region)
        response.headers.update(headers)
        response.force_close()  # the stream can no longer be trusted to frame requests
        return response


class _BareResponse(web.Response):
    """A response sent without aiohttp's `Server` header: Azure sends none, and the app's
    own answers lose it in `header_finisher`, which this one (answered before any app
    sees the request) never passes."""

    async def _prepare_headers(self) -> None:
        await super()._prepare_headers()  # adds Server (setdefault) among the rest
        self.headers.popall(hdrs.SERVER, None)


class GuardedServer(web.Server):
    """aiohttp's low-level server, making `Connection`s, or lane connections that hand
    themselves to a `Connection` for what the lane does not take (`http.lane`)."""

    def __init__(self, settings: Settings, server: web.Server, app: web.Application) -> None:
        super().__init__(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            **server._kwargs,
        )
        self.settings = settings
        self.lane = Lane(
            server._loop,
            Served(app[STATE], app[METRICS]),
            lane_routes(OPERATIONS),
            self.aiohttp_connection,
        )

    def __call__(self) -> asyncio.Protocol:  # type: ignore[override]
        if self.lane.served.state.settings.server.fast_lane:  # PATCHable: read per connection
            return LaneConnection(self.lane)
        return self.aiohttp_connection()

    def aiohttp_connection(self) -> RequestHandler:
        return Connection(self, loop=self._loop, **self._kwargs)

    def pre_shutdown(self) -> None:
        super().pre_shutdown()
        for connection in list(self.lane.connections):
            connection.close()

    async def shutdown(self, timeout: float | None = None) -> None:
        lanes = [connection.shutdown(timeout) for connection in list(self.lane.connections)]
        await asyncio.gather(super().shutdown(timeout), *lanes)


class GuardedRunner(web.AppRunner):
    """`web.AppRunner` whose server makes `Connection`s."""

    def __init__(self, app: web.Application, settings: Settings) -> None:
        super().__init__(
            app,
            access_log=None,
            auto_decompress=False,  # bodies are decoded off the loop, bounded (`http.body`)
            keepalive_timeout=settings.server.idle_timeout_seconds,
            shutdown_timeout=settings.server.shutdown_grace_seconds,
        )
        self._settings = settings

    async def _make_server(self) -> web.Server:
        return GuardedServer(self._settings, await super()._make_server(), self.app)


def runner_for(app: web.Application, settings: Settings) -> web.AppRunner:
    """The runner to serve `app` with: deadlines, idle and shutdown limits from `settings`."""
    return GuardedRunner(app, settings)
