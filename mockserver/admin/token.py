"""The admin token: who may read and change the server's state through /__admin.

With `admin_token` set (`--admin-token`, `MOCKSERVER_ADMIN_TOKEN`, or `admin_token` in the
TOML file), every admin route but two needs it, as `Authorization: Bearer <token>` or as
`x-mock-admin-token: <token>`; it is compared in constant time. Open without it:

- `GET /__admin/health`: a liveness probe (container orchestrators send no credentials),
  which tells only that the server is up, its version, and whether it finished warming up;
- `GET /__admin/openapi.json`: the same static document for every server, which says how
  to send the token.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Mapping

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver.admin.ui_routes import UI_ROUTES
from mockserver.config import Settings
from mockserver.contract.auth import same_secret
from mockserver.contract.errors import AzureError
from mockserver.http.keys import STATE

TOKEN_HEADER = "x-mock-admin-token"
# The dashboard's static files hold no state; the data they fetch needs the token.
OPEN_ROUTES = frozenset({("GET", "/__admin/health"), ("GET", "/__admin/openapi.json")}) | UI_ROUTES
_BEARER = "bearer "
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="mockserver-admin"'}


@web.middleware
async def require_admin_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The admin sub-app's gate: a 401 in the admin API's error shape without the token."""
    if (request.method, request.path) not in OPEN_ROUTES:
        check_admin_token(request)
    return await handler(request)


def check_admin_token(request: web.Request) -> None:
    """Raise the admin API's 401 unless the request carries the admin token (if one is set)."""
    token = request.config_dict[STATE].settings.auth.admin_token
    if token is None:
        return
    given = presented_token(request.headers)
    if given is None:
        raise _unauthorized(
            "this admin API needs its token: send `Authorization: Bearer <token>` or "
            f"`{TOKEN_HEADER}: <token>`"
        )
    if not same_secret(given, token.get_secret_value()):
        raise _unauthorized("the admin token was not accepted")


def presented_token(headers: Mapping[str, str]) -> str | None:
    """The token the request offers: the x-mock-admin-token header, else a bearer token."""
    header = headers.get(TOKEN_HEADER)
    if header is not None:
        return header.strip()
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith(_BEARER):
        return authorization[len(_BEARER) :].strip()
    return None


def _unauthorized(message: str) -> AzureError:
    body = orjson.dumps({"error": {"code": "Unauthorized", "message": message}})
    return AzureError(401, body, headers=dict(_CHALLENGE), name="Unauthorized")


def warn_if_exposed(settings: Settings) -> None:
    """One line on stderr when the admin API is open beyond this machine."""
    warning = exposure_warning(settings.server.host, settings.auth.admin_token is not None)
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)


def exposure_warning(host: str, has_token: bool) -> str | None:
    """The start-up warning for an admin API reachable beyond this machine, or None."""
    if has_token or is_loopback(host):
        return None
    return (
        f"mockserver: WARNING: listening on {host}, beyond loopback, with no admin token: "
        "anyone who can reach this port can read the journal and change stubs and settings "
        "through /__admin; set --admin-token or MOCKSERVER_ADMIN_TOKEN"
    )


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything
