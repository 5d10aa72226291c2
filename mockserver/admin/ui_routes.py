"""The dashboard: one static page under /__admin/ui that reads the admin API.

The page, its script and its style sheet are the same files for every server and hold no
state, so they load without the admin token (a browser cannot attach a header to the page
it navigates to); everything the page shows comes from admin API calls that carry the
token, which the page takes from the `#token=` fragment (never sent to the server) or a
field, and keeps in sessionStorage only.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from aiohttp import web

UI_FILES = {
    "/ui": ("index.html", "text/html"),
    "/ui/app.js": ("app.js", "text/javascript"),
    "/ui/app.css": ("app.css", "text/css"),
}
UI_ROUTES = frozenset(("GET", "/__admin" + path) for path in UI_FILES)
# Only the page's own files: no inline script or style, no other origin, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def add_ui_routes(router: web.UrlDispatcher) -> None:
    for path in UI_FILES:
        router.add_get(path, serve_ui_file)


async def serve_ui_file(request: web.Request) -> web.Response:
    name, content_type = UI_FILES[request.path.removeprefix("/__admin")]
    body = resources.files("mockserver.admin.ui").joinpath(name).read_bytes()
    return web.Response(
        body=body,
        content_type=content_type,
        charset="utf-8",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


def ui_openapi_paths() -> dict[str, Any]:
    """The dashboard's files in the admin API's OpenAPI document (open: no token needed)."""
    return {
        "/__admin" + path: {
            "get": {
                "responses": {
                    "200": {
                        "description": f"the dashboard's {name}",
                        "content": {content_type: {"schema": {"type": "string"}}},
                    }
                }
            }
        }
        for path, (name, content_type) in UI_FILES.items()
    }
