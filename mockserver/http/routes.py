"""The route table, read off the operation registry: each route gated by its api-version."""

from __future__ import annotations

from aiohttp import web

from mockserver.http import handler
from mockserver.http.gateway import add_gated
from mockserver.operations.registry import OPERATIONS, RESOURCES


def add_routes(app: web.Application) -> None:
    """Every route is gated: its api-version, then the key, before its handler runs."""
    for operation in OPERATIONS:
        for route in operation.routes:
            answer = handler.inference(operation, route.surface)
            add_gated(app, route.method, route.path, answer, route.check_version)
    for served in RESOURCES:
        route = served.route
        add_gated(app, route.method, route.path, handler.resource(served), route.check_version)
