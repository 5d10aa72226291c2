"""One request the lane took, through the steps aiohttp's front runs for it
(`http.middlewares.every_request`), in the same order: metrics outermost, then the
envelope (errors as Azure's bodies), the journal, the gateway (api-version, then the
key), the session, the one pipeline, and the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import NamedTuple

from aiohttp.http_parser import RawRequestMessage
from multidict import CIMultiDict

from mockserver import pipeline
from mockserver.admin.metrics import ServerMetrics, observe
from mockserver.contract.errors import AzureError, catalogue_error
from mockserver.contract.headers import new_request_id
from mockserver.http.exchange import Answered, Exchange, Timing
from mockserver.http.gateway import gate
from mockserver.http.handler import session_for
from mockserver.http.journal import WholeAnswer, record
from mockserver.http.lane.outcome import Answering, carry_out
from mockserver.http.lane.routes import Taken
from mockserver.http.lane.wire import Asker, Ready, Sent, Status, Wire, ready_bytes
from mockserver.operations.base import Call
from mockserver.pipeline import Trace
from mockserver.redaction.rules import scrub_bytes
from mockserver.state import AppState

log = logging.getLogger("mockserver")


@dataclass(frozen=True)
class Served:
    """What every lane connection of one server answers with."""

    state: AppState
    metrics: ServerMetrics


class Request(NamedTuple):
    """A request the lane took: its head, its body, where it goes, and when its head was
    read (its time in the journal and the metrics counts from there, as on aiohttp's front,
    and it is in flight from there). No body: why (`NO_BODY`)."""

    message: RawRequestMessage
    body: bytes | None
    taken: Taken
    started: float
    in_flight: bool = False  # counted in flight already (its body was waited for)
    no_body: str = ""


# Why a request has no body: it came too late (Azure's 408); the client left while sending
# it (journaled as gone); the server's grace period ended first (aiohttp's front cancels
# its handler then: journaled as its 500, not counted).
LATE, CLIENT_LEFT, CUT_BY_SHUTDOWN = "late", "client left", "cut by shutdown"


async def answer(served: Served, wire: Wire, request: Request) -> None:
    """Answer one request, journaled and counted however it ends."""
    state, metrics = served.state, served.metrics
    started = request.started
    answering = _answering(state, wire, request)
    if not request.in_flight:
        metrics.started()
    try:
        written = await _in_envelope(state, answering, request, started)
    finally:
        metrics.ended()
    ended = time.perf_counter()
    sent = isinstance(written, Sent) and written.headers_sent
    first_byte = answering.first_byte if sent and answering.first_byte is not None else ended
    if isinstance(written, Ready):
        answered = Answered(written.status.code, False, written.status.error_name)
    else:
        answered = Answered(written.code, sent)
    held = isinstance(written, Ready)  # written by `write_soon` below
    observe(metrics, state, answering.seen, answered, Timing(started, first_byte, ended), held)
    if isinstance(written, Ready):
        with contextlib.suppress(ConnectionError):  # the client left: nobody to answer
            wire.write_soon(ready_bytes(written, answering.asker))


def _answering(state: AppState, wire: Wire, request: Request) -> Answering:
    message, taken = request.message, request.taken
    url = message.url
    seen = Exchange(
        message.method,
        url.path,
        url.query,
        message.headers,
        taken.lane_route.route.path,
        taken.path_params.get("deployment", ""),
        body=request.body,
    )
    keep_alive = not message.should_close
    asker = Asker(new_request_id(), message.headers, state.settings.server.region, keep_alive)
    return Answering(wire, asker, seen)


async def _in_envelope(
    state: AppState, answering: Answering, request: Request, started: float
) -> Ready | Sent:
    """What the request is answered with; what it raises answered as Azure does."""
    try:
        return await _journaled(state, answering, request, started)
    except AzureError as error:
        return error_ready(error)
    except Exception as error:
        # A bug of ours: answer as Azure's 500 does, say so in the log, keep it for the test.
        seen = answering.seen
        log.exception("unhandled error on %s %s", seen.method, seen.path)
        state.failures.append(error)
        request_id = answering.asker.request_id
        return error_ready(catalogue_error("server_error", request_id=request_id))


def error_ready(error: AzureError) -> Ready:
    """An error as Azure's body (as `http.middlewares.error_response` makes it)."""
    headers = CIMultiDict(error.headers)
    if error.content_type is not None:
        headers["Content-Type"] = error.content_type
    status = Status(error.status, error.reason, error.name, error.content_type is None)
    # A secret a client sent is never echoed back.
    return Ready(status, scrub_bytes(error.body), headers, chunked=error.chunked)


async def _journaled(
    state: AppState, answering: Answering, request: Request, started: float
) -> Ready | Sent:
    status, answer = 500, None
    seen = answering.seen
    try:
        written = await _gated(state, answering, request)
        if isinstance(written, Ready):
            status, answer = (
                written.status.code,
                WholeAnswer(written.body, written.written_by_orjson),
            )
        else:
            # A connection dropped before any answer (a reset, a client that gave up) is 0.
            status = written.code if written.headers_sent or not seen.disconnected else 0
        return written
    except AzureError as error:
        # Kept as the client gets it: a secret it sent, echoed by the error, masked.
        status, answer = error.status, WholeAnswer(scrub_bytes(error.body))
        raise
    finally:
        await record(seen, state, status, (time.perf_counter() - started) * 1000, answer)


def check_gateway(state: AppState, message: RawRequestMessage, taken: Taken) -> None:
    """Raise the gateway's error for a bad api-version or credential (`http.gateway`)."""
    gate(taken.lane_route.route.check_version, message.url.query, message.headers, state)


async def _gated(state: AppState, answering: Answering, request: Request) -> Ready | Sent:
    """The gateway's checks (`http.gateway`), then the route's handler (`http.handler`)."""
    message, taken = request.message, request.taken
    route, headers = taken.lane_route.route, message.headers
    check_gateway(state, message, taken)
    if request.no_body == CLIENT_LEFT:
        answering.seen.disconnected = True  # journaled as no answer (status 0)
        return Sent(200, headers_sent=False)
    if request.no_body == CUT_BY_SHUTDOWN:
        raise asyncio.CancelledError
    if request.body is None:
        log.warning("408: the body of %s %s came too late", message.method, answering.seen.path)
        raise catalogue_error("request_timeout")
    trace = answering.seen.trace = Trace()
    call = Call(
        surface=route.surface,
        method=message.method,
        path=answering.seen.path,
        path_qs=str(message.url),
        query=message.url.query,
        headers=headers,
        body=request.body,
        path_params=taken.path_params,
        request_id=answering.asker.request_id,
        session=session_for(headers),
    )
    outcome = await pipeline.run(state, taken.lane_route.operation, call, trace)
    return await carry_out(answering, outcome, route.surface, state.settings.faults.hang_seconds)
