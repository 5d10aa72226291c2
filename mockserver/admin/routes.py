"""Admin routes: health now; stubs, journal and settings come with their issues."""

from __future__ import annotations

from aiohttp import web

from mockserver import __version__


def create_admin_app() -> web.Application:
    admin = web.Application()
    admin.router.add_get("/health", health)
    return admin


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "version": __version__})
