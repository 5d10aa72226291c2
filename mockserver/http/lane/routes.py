"""Which requests the lane takes: an inference operation's route, in plain HTTP/1.1.

Anything else goes to aiohttp, which answers every case: HTTP/1.0, chunked or compressed
bodies, `Expect: 100-continue`, upgrades, absolute-form targets (`POST http://host/...`),
percent-encoded paths, the mock's own APIs, the
resources, unknown paths; and bodies over the limit (its 413).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from aiohttp import HttpVersion11
from aiohttp.http_parser import RawRequestMessage

from mockserver.operations.base import Operation, Route

# An aiohttp route template's `{name}`: one path segment (aiohttp's own default pattern).
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Headers whose presence asks for what only aiohttp's front does.
_AIOHTTP_ONLY = ("Expect", "Transfer-Encoding", "Content-Encoding", "Upgrade")


@dataclass(frozen=True)
class LaneRoute:
    """An inference route, matched as aiohttp's router matches its template."""

    operation: Operation
    route: Route
    pattern: re.Pattern[str]


class Taken(NamedTuple):
    """A request the lane answers: its route, the path's parameters, its body's length."""

    lane_route: LaneRoute
    path_params: Mapping[str, str]
    body_length: int


def lane_routes(operations: Iterable[Operation]) -> tuple[LaneRoute, ...]:
    return tuple(
        LaneRoute(operation, route, _pattern(route.path))
        for operation in operations
        for route in operation.routes
    )


def _pattern(template: str) -> re.Pattern[str]:
    regex = ""
    # literal, name, literal, name, ..., literal
    for index, piece in enumerate(_PLACEHOLDER.split(template)):
        regex += f"(?P<{piece}>[^{{}}/]+)" if index % 2 else re.escape(piece)
    return re.compile(regex)


def taken(message: RawRequestMessage, routes: tuple[LaneRoute, ...]) -> Taken | None:
    """What the lane needs to answer `message`; None when aiohttp's front should (and when
    its body is over the limit: see `Lane.read_head`)."""
    if message.version != HttpVersion11 or message.chunked or message.upgrade:
        return None
    headers = message.headers
    if any(name in headers for name in _AIOHTTP_ONLY):
        return None
    length = _body_length(headers.getall("Content-Length", ()))
    if length is None:
        return None
    url = message.url
    path = url.path
    if url.absolute or url.raw_path != path:  # absolute-form; percent-encoded
        return None
    method = message.method
    for lane_route in routes:
        if lane_route.route.method != method:
            continue
        matched = lane_route.pattern.fullmatch(path)
        if matched is not None:
            return Taken(lane_route, matched.groupdict(), length)
    return None


def _body_length(values: list[str] | tuple[()]) -> int | None:
    """The body's length: one plain Content-Length, or none (no body)."""
    if not values:
        return 0
    if len(values) > 1 or not (values[0].isascii() and values[0].isdigit()):
        return None
    return int(values[0])
