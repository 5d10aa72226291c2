"""The aiohttp internals mockserver.http.connection relies on are still there.

`Connection` (the header deadline, the Azure 400 for malformed HTTP) reads and overrides
private parts of aiohttp. An aiohttp release that renames one could silently disable the
deadline; pyproject.toml pins the minor range these were checked on, and this test names
what went missing when that pin is moved.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

CONNECTION_ATTRIBUTES = ("_request_count", "_messages", "_request_in_progress", "_loop")
SERVER_ATTRIBUTES = ("_loop", "_kwargs")


async def _handler(request: web.BaseRequest) -> web.StreamResponse:
    return web.Response()


def _missing(obj: object, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if not hasattr(obj, name)]


def test_the_private_parts_connection_uses_are_still_in_aiohttp() -> None:
    async def inspect() -> tuple[list[str], list[str]]:
        server = web.Server(_handler)
        connection = server()
        assert isinstance(connection, RequestHandler)
        return _missing(connection, CONNECTION_ATTRIBUTES), _missing(server, SERVER_ATTRIBUTES)

    on_connection, on_server = asyncio.run(inspect())
    assert not on_connection, f"aiohttp's RequestHandler lost {on_connection}: see connection.py"
    assert not on_server, f"aiohttp's web.Server lost {on_server}: see connection.py"
    assert callable(getattr(web.AppRunner, "_make_server", None)), (
        "aiohttp's AppRunner lost _make_server: GuardedRunner no longer installs Connection"
    )
