"""One inference request as the journal and the metrics see it, whichever front read it.

Two fronts read inference requests (aiohttp's, and the lane of `http.lane`); both hand the
journal and the metrics this record, so neither step knows which front answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from aiohttp import web
from multidict import CIMultiDictProxy, MultiMapping

from mockserver.http.keys import DISCONNECTED, TRACE
from mockserver.pipeline import Trace


@dataclass(slots=True)
class Exchange:
    """What was asked, and what the front learnt while answering it."""

    method: str
    path: str
    query: MultiMapping[str]
    headers: CIMultiDictProxy[str]
    route: str  # the route's template, "unmatched" for a path that is none
    deployment_in_path: str  # "" when the route names none
    trace: Trace | None = None  # None when refused before the pipeline
    body: bytes | None = None  # None when it had not all arrived
    disconnected: bool = False  # the client left (or was dropped) before any answer


class Answered(NamedTuple):
    """How an exchange ended, for the metrics."""

    status: int
    sent: bool  # headers went out (a stream's, a relayed answer's) before the step ended
    error_name: str = ""  # the catalogue name of the error answered, if any


class Timing(NamedTuple):
    """When an exchange started, sent its first byte and ended (perf_counter seconds)."""

    started: float
    first_byte: float
    ended: float


def exchange_of(request: web.Request, body: bytes | None = None) -> Exchange:
    """What the journal and the metrics read of a request aiohttp's front answered."""
    resource = request.match_info.route.resource
    return Exchange(
        request.method,
        request.path,
        request.query,
        request.headers,
        resource.canonical if resource is not None else "unmatched",
        request.match_info.get("deployment", ""),
        request.get(TRACE),
        body,
        request.get(DISCONNECTED, False),
    )
