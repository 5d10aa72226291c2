"""The gateway's first step on every inference route: the api-version, then the credential.

It runs once per request, before anything can answer it: stubs, fixtures (replay), the
upstream (record), the generator, and the faults asked for with `x-mock-fault`. So a wrong
key is a 401 in every mode, and an unauthenticated request changes nothing (no recording,
no fault counted, no quota spent).

Order, as Azure's gateway does it:
- a path that is no route: 404 "Resource not found" whatever the key. A real Azure resource
  answered an unknown path (`POST /chat/completions`, sent with the invalid key "test") with
  that 404, and the right path with the same key with the 401 (dd-trace-js recordings of
  2025-08-20, one second apart), so routing comes before the key;
- a missing api-version is the same routing 404, an unknown one a 400; then the key.

Each inference route declares its api-version check when it is added (`add_gated`); a
matched route outside the admin API that declares none is still authenticated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver.contract.auth import authenticate
from mockserver.state import AppState

API_VERSION = "api-version"
VersionCheck = Callable[[str | None], Any]  # raises the gateway's error for a bad version
GATES = web.AppKey("gates", dict[web.AbstractRoute, VersionCheck])


def add_gated(
    app: web.Application, method: str, path: str, handler: Handler, check: VersionCheck
) -> None:
    """Add an inference route, with the api-version check the gateway runs before the key."""
    route = app.router.add_route(method, path, handler)
    app.setdefault(GATES, {})[route] = check


def check_gateway(request: web.Request, state: AppState) -> None:
    """Raise the gateway's error for a bad api-version or credential. A path that is no
    route is let through (Azure's 404 comes first); the mock's own APIs are not asked."""
    match = request.match_info
    if match.http_exception is not None:
        return
    check = request.app.get(GATES, {}).get(match.route)  # the app the routes were added to
    gate(check, request.query, request.headers, state)


def gate(
    check: VersionCheck | None,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    state: AppState,
) -> None:
    """The gateway's order, on either front: the route's api-version check, then the key."""
    if check is not None:
        check(query.get(API_VERSION))
    authenticate(headers, state.settings)
