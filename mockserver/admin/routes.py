"""The admin API under /__admin/ (WireMock's conventions): JSON in, JSON out.

GET    /__admin/health
POST   /__admin/reset                  {"parts": ["stubs", "scenarios", "journal", "quota"]}
GET    /__admin/stubs                  POST /__admin/stubs (a stub)   DELETE /__admin/stubs
GET    /__admin/stubs/{id}             PUT (replace)                  DELETE
GET    /__admin/requests               ?status=&source=&deployment=&limit=    DELETE
POST   /__admin/requests/find          a request match -> {"requests": [...]}
POST   /__admin/requests/count         a request match -> {"count": N}
POST   /__admin/requests/verify        {"match": {...}, "count": N} -> 200, or 409 saying why
GET    /__admin/scenarios              PUT /__admin/scenarios/{name} {"state": ...}
POST   /__admin/scenarios/reset
GET    /__admin/settings               PATCH /__admin/settings {"seed": 7, ...}
DELETE /__admin/settings               (back to the settings the server started with)
GET    /__admin/openapi.json

With an admin token configured, every route but health and openapi.json needs it
(mockserver.admin.token).
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from mockserver.admin.inputs import ResetRequest, ScenarioState, SettingsPatch, VerifyRequest
from mockserver.admin.openapi import admin_openapi
from mockserver.admin.token import require_admin_token
from mockserver.admin.ui_routes import add_ui_routes
from mockserver.contract.errors import AzureError
from mockserver.engines.matching import RequestMatch
from mockserver.engines.stubs import Stub
from mockserver.http.keys import BODY, STATE
from mockserver.redaction.masking import MASK, mask_url
from mockserver.state import AppState
from mockserver.stores.journal import JournalEntry, VerificationError, verify
from mockserver.stores.sessions import SessionError, session_of
from mockserver.stores.stores import RESETTABLE, Stores
from mockserver.version import __version__

M = TypeVar("M", bound=BaseModel)


def create_admin_app() -> web.Application:
    admin = web.Application(middlewares=[require_admin_token])
    router = admin.router
    router.add_get("/health", health)
    router.add_post("/reset", reset)
    router.add_get("/stubs", list_stubs)
    router.add_post("/stubs", create_stub)
    router.add_delete("/stubs", delete_stubs)
    router.add_get("/stubs/{id}", get_stub)
    router.add_put("/stubs/{id}", replace_stub)
    router.add_delete("/stubs/{id}", delete_stub)
    router.add_get("/requests", list_requests)
    router.add_delete("/requests", clear_requests)
    router.add_post("/requests/find", find_requests)
    router.add_post("/requests/count", count_requests)
    router.add_post("/requests/verify", verify_requests)
    router.add_get("/scenarios", list_scenarios)
    router.add_put("/scenarios/{name}", set_scenario)
    router.add_post("/scenarios/reset", reset_scenarios)
    router.add_get("/settings", get_settings)
    router.add_patch("/settings", patch_settings)
    router.add_delete("/settings", restore_settings)
    router.add_get("/quota", get_quota)
    router.add_get("/openapi.json", openapi)
    add_ui_routes(router)
    return admin


# --- helpers ------------------------------------------------------------------------------


def _state(request: web.Request) -> AppState:
    return request.config_dict[STATE]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def admin_error(status: int, code: str, message: str, details: Any = None) -> AzureError:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return AzureError(status, orjson.dumps({"error": error}), name=code)


async def _parse(request: web.Request, model: type[M], empty_ok: bool = False) -> M:
    raw = request.get(BODY)  # read (and decoded) by the body step
    if raw is None:
        raw = await request.read()
    if not raw.strip() and empty_ok:
        return model()
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        details = [
            {"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]} for e in error.errors()
        ]
        first = details[0]
        message = f"invalid {model.__name__}: {first['loc'] or 'body'}: {first['msg']}"
        raise admin_error(400, "InvalidRequest", message, details) from None


def _session(request: web.Request) -> str:
    """The session an admin call is about: `x-mock-session`, or `?session=`, or the default."""
    try:
        return session_of(request.headers, request.query)
    except SessionError as error:
        raise admin_error(400, "InvalidRequest", str(error)) from None


def _stores(request: web.Request) -> Stores:
    return _state(request).stores(_session(request))


async def _stub_or_404(stores: Stores, stub_id: str) -> Stub:
    stub = await stores.stubs.get(stub_id)
    if stub is None:
        raise admin_error(404, "NotFound", f"no stub with id {stub_id!r}")
    return stub


def _entries(entries: list[JournalEntry]) -> dict[str, Any]:
    return {"requests": [entry.to_json() for entry in entries], "count": len(entries)}


# --- handlers -----------------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    # `warm`: the tokenizer and word lists are loaded (a request before then waits for them).
    # `store`: a shared store that does not answer makes the server unready (503).
    state = _state(request)
    up = await state.backend.healthy()
    body = {"status": "ok" if up else "store down", "version": __version__, "warm": state.warm}
    return _json({**body, "store": "up" if up else "down"}, status=200 if up else 503)


async def reset(request: web.Request) -> web.Response:
    wanted = await _parse(request, ResetRequest, empty_ok=True)
    unknown = set(wanted.parts) - RESETTABLE
    if unknown:
        message = f"unknown parts {sorted(unknown)}; known: {sorted(RESETTABLE)}"
        raise admin_error(400, "InvalidRequest", message)
    session = _session(request)
    if frozenset(wanted.parts) == RESETTABLE:
        await _state(request).backend.forget(session)  # a whole session: nothing of it left
    else:
        await _state(request).stores(session).reset(wanted.parts)
    return _json({"reset": sorted(wanted.parts)})


async def list_stubs(request: web.Request) -> web.Response:
    stubs = await _stores(request).stubs.all()
    return _json({"stubs": [stub.model_dump() for stub in stubs]})


async def create_stub(request: web.Request) -> web.Response:
    stub = await _parse(request, Stub)
    return _json((await _stores(request).stubs.add(stub)).model_dump(), status=201)


async def delete_stubs(request: web.Request) -> web.Response:
    await _stores(request).reset({"stubs"})
    return _json({"deleted": "all"})


async def get_stub(request: web.Request) -> web.Response:
    stub = await _stub_or_404(_stores(request), request.match_info["id"])
    return _json(stub.model_dump())


async def replace_stub(request: web.Request) -> web.Response:
    stores, stub_id = _stores(request), request.match_info["id"]
    await _stub_or_404(stores, stub_id)
    stub = await _parse(request, Stub)
    stub.id = stub_id
    return _json((await stores.stubs.add(stub)).model_dump())


async def delete_stub(request: web.Request) -> web.Response:
    stores, stub_id = _stores(request), request.match_info["id"]
    await _stub_or_404(stores, stub_id)
    await stores.stubs.remove(stub_id)
    return _json({"deleted": stub_id})


async def list_requests(request: web.Request) -> web.Response:
    filters: dict[str, Any] = {}
    for name in ("source", "deployment", "surface"):
        if name in request.query:
            filters[name] = request.query[name]
    try:
        if "status" in request.query:
            filters["status"] = int(request.query["status"])
        limit = int(request.query.get("limit", "0"))
        since = int(request.query.get("since", "0"))
    except ValueError:
        message = "status, limit and since must be integers"
        raise admin_error(400, "InvalidRequest", message) from None
    entries = await _stores(request).journal.find(None, **filters)
    entries = [entry for entry in entries if entry.id > since]  # the dashboard's cursor
    return _json(_entries(entries[-limit:] if limit > 0 else entries))


async def clear_requests(request: web.Request) -> web.Response:
    await _stores(request).journal.clear()
    return _json({"deleted": "all"})


async def find_requests(request: web.Request) -> web.Response:
    match = await _parse(request, RequestMatch, empty_ok=True)
    return _json(_entries(await _stores(request).journal.find(match)))


async def count_requests(request: web.Request) -> web.Response:
    match = await _parse(request, RequestMatch, empty_ok=True)
    return _json({"count": await _stores(request).journal.count(match)})


async def verify_requests(request: web.Request) -> web.Response:
    wanted = await _parse(request, VerifyRequest)
    try:
        found = await verify(_stores(request).journal, wanted.match, wanted.count)
    except VerificationError as error:
        raise admin_error(409, "VerificationFailed", str(error)) from None
    return _json({"matched": len(found)})


async def list_scenarios(request: web.Request) -> web.Response:
    return _json({"scenarios": await _stores(request).scenarios.all()})


async def set_scenario(request: web.Request) -> web.Response:
    wanted = await _parse(request, ScenarioState)
    name = request.match_info["name"]
    await _stores(request).scenarios.set(name, wanted.state)
    return _json({"scenario": name, "state": wanted.state})


async def reset_scenarios(request: web.Request) -> web.Response:
    scenarios = _stores(request).scenarios
    await scenarios.reset()
    return _json({"scenarios": await scenarios.all()})


async def get_settings(request: web.Request) -> web.Response:
    return _json(_public_settings(_state(request)))


async def patch_settings(request: web.Request) -> web.Response:
    patch = await _parse(request, SettingsPatch)
    state = _state(request)
    try:
        await state.change_settings(patch.model_dump(exclude_none=True))
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "settings"
        raise admin_error(400, "InvalidRequest", f"{field}: {first['msg']}") from None
    return _json(_public_settings(state))


async def restore_settings(request: web.Request) -> web.Response:
    state = _state(request)
    await state.restore_settings()
    return _json(_public_settings(state))


def _public_settings(state: AppState) -> dict[str, Any]:
    """The settings with every secret masked: keys, tokens, the upstream's credentials."""
    settings = state.settings.flat(mode="json")
    settings["api_keys"] = [MASK for _ in settings["api_keys"]]
    settings["entra_tokens"] = [MASK for _ in settings["entra_tokens"]]
    settings["admin_token"] = None if settings["admin_token"] is None else MASK
    if settings["upstream"] is not None:
        settings["upstream"] = mask_url(settings["upstream"])
    settings["state"] = mask_url(settings["state"])  # a Redis password stays on the server
    return settings


async def get_quota(request: web.Request) -> web.Response:
    """Each deployment's limits and what it used in the current windows."""
    state = _state(request)
    used = await _stores(request).quota.usage()
    deployments = {
        name: {
            "tokens_per_minute": d.tokens_per_minute,
            "requests_per_minute": d.effective_requests_per_minute,
            "enforced": state.settings.quota.enforce
            if d.enforce_quota is None
            else d.enforce_quota,
            **used.get(name, {"tokens_this_minute": 0, "requests_last_minute": 0}),
        }
        for name, d in state.settings.deployments.items()
    }
    return _json({"deployments": deployments})


async def openapi(request: web.Request) -> web.Response:
    return _json(admin_openapi())
