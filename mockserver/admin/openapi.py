"""The OpenAPI document of the admin API, built from the models that check its input.

Request bodies are the pydantic models the routes validate with (validation schemas);
responses are the shapes the routes send, with the models' serialization schemas where a
model is sent back (a stub, the settings, journal entries). Every error is
`{"error": {"code", "message", "details"?}}`.

Security: a server started with an admin token wants it on every operation but health and
this document (a bearer token, or the x-mock-admin-token header); one started without it
wants none, hence the empty requirement beside the two schemes.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from mockserver.admin.inputs import ResetRequest, ScenarioState, SettingsPatch, VerifyRequest
from mockserver.admin.token import OPEN_ROUTES, TOKEN_HEADER
from mockserver.admin.ui_routes import ui_openapi_paths
from mockserver.config import FlatSettings
from mockserver.engines.matching import RequestMatch
from mockserver.engines.stubs import Stub
from mockserver.redaction.masking import MASK
from mockserver.stores.journal import JournalEntry
from mockserver.version import __version__

_REF = "#/components/schemas/{model}"
Json = dict[str, Any]


def _ref(model: str) -> Json:
    return {"$ref": _REF.format(model=model)}


def _body(model: str, required: bool = True) -> Json:
    return {"required": required, "content": {"application/json": {"schema": _ref(model)}}}


def _reply(description: str, schema: Json) -> Json:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _object(properties: Json, required: list[str] | None = None) -> Json:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


_STRING: Json = {"type": "string"}
_INTEGER: Json = {"type": "integer"}
_BOOLEAN: Json = {"type": "boolean"}
_ERROR = _reply("an error: {error: {code, message, details}}", _ref("AdminError"))
_ERRORS = {"400": _ERROR}
_NOT_FOUND = {"404": _ERROR}
_ID = [{"name": "id", "in": "path", "required": True, "schema": _STRING}]
_NAME = [{"name": "name", "in": "path", "required": True, "schema": _STRING}]
_JOURNAL_FILTERS = [
    {"name": name, "in": "query", "required": False, "schema": schema}
    for name, schema in (
        ("status", _INTEGER),
        ("source", _STRING),
        ("deployment", _STRING),
        ("surface", _STRING),
        ("limit", _INTEGER),
        ("since", _INTEGER),  # only entries with a larger id: the dashboard's cursor
    )
]


def _shared_shapes() -> Json:
    """Shapes several operations send back."""
    scenarios = {"type": "object", "additionalProperties": _STRING}
    return {
        "stub": _reply("the stub", _ref("StubOut")),
        "deleted": _reply("what was deleted", _object({"deleted": _STRING})),
        "journal": _reply(
            "journal entries, oldest first",
            _object(
                {"requests": {"type": "array", "items": _ref("JournalEntry")}, "count": _INTEGER}
            ),
        ),
        "scenarios": _reply("scenario states", _object({"scenarios": scenarios})),
        "settings": _reply("settings, secrets masked", _ref("SettingsOut")),
    }


def _stub_paths(shapes: Json) -> Json:
    stubs = _object({"stubs": {"type": "array", "items": _ref("StubOut")}})
    return {
        "/__admin/stubs": {
            "get": {"responses": {"200": _reply("all stubs", stubs)}},
            "post": {
                "requestBody": _body("Stub"),
                "responses": {"201": shapes["stub"], **_ERRORS},
            },
            "delete": {"responses": {"200": shapes["deleted"]}},
        },
        "/__admin/stubs/{id}": {
            "parameters": _ID,
            "get": {"responses": {"200": shapes["stub"], **_NOT_FOUND}},
            "put": {
                "requestBody": _body("Stub"),
                "responses": {"200": shapes["stub"], **_ERRORS, **_NOT_FOUND},
            },
            "delete": {"responses": {"200": shapes["deleted"], **_NOT_FOUND}},
        },
    }


def _journal_paths(shapes: Json) -> Json:
    match = _body("RequestMatch", required=False)
    verify_ok = _reply("how many requests matched", _object({"matched": _INTEGER}))
    return {
        "/__admin/requests": {
            "get": {
                "parameters": _JOURNAL_FILTERS,
                "responses": {"200": shapes["journal"], **_ERRORS},
            },
            "delete": {"responses": {"200": shapes["deleted"]}},
        },
        "/__admin/requests/find": {
            "post": {"requestBody": match, "responses": {"200": shapes["journal"], **_ERRORS}}
        },
        "/__admin/requests/count": {
            "post": {
                "requestBody": match,
                "responses": {"200": _reply("{count}", _object({"count": _INTEGER})), **_ERRORS},
            }
        },
        "/__admin/requests/verify": {
            "post": {
                "requestBody": _body("VerifyRequest"),
                "responses": {"200": verify_ok, "409": _ERROR, **_ERRORS},
            }
        },
    }


def _scenario_paths(shapes: Json) -> Json:
    state = _object({"scenario": _STRING, "state": _STRING})
    return {
        "/__admin/scenarios": {"get": {"responses": {"200": shapes["scenarios"]}}},
        "/__admin/scenarios/{name}": {
            "parameters": _NAME,
            "put": {
                "requestBody": _body("ScenarioState"),
                "responses": {"200": _reply("the state set", state), **_ERRORS},
            },
        },
        "/__admin/scenarios/reset": {"post": {"responses": {"200": shapes["scenarios"]}}},
    }


def _server_paths(shapes: Json) -> Json:
    store = {"type": "string", "enum": ["up", "down"]}
    health = _object({"status": _STRING, "version": _STRING, "warm": _BOOLEAN, "store": store})
    reset = _object({"reset": {"type": "array", "items": _STRING}})
    return {
        "/__admin/health": {
            "get": {
                "responses": {
                    "200": _reply("ready", health),
                    "503": _reply("the shared store does not answer", health),
                }
            }
        },
        "/__admin/reset": {
            "post": {
                "requestBody": _body("ResetRequest", required=False),
                "responses": {"200": _reply("what was reset", reset), **_ERRORS},
            }
        },
        "/__admin/settings": {
            "get": {"responses": {"200": shapes["settings"]}},
            "patch": {
                "requestBody": _body("SettingsPatch"),
                "responses": {"200": shapes["settings"], **_ERRORS},
            },
            "delete": {
                "description": "Every change made through PATCH dropped: back to the "
                "settings the server started with (on every process sharing a store).",
                "responses": {"200": shapes["settings"], **_ERRORS},
            },
        },
        "/__admin/quota": {
            "get": {"responses": {"200": _reply("limits and use per deployment", _quota())}}
        },
        "/__admin/openapi.json": {
            "get": {"responses": {"200": _reply("this document", {"type": "object"})}}
        },
        **ui_openapi_paths(),
    }


def _quota() -> Json:
    deployment = _object(
        {
            "tokens_per_minute": _INTEGER,
            "requests_per_minute": _INTEGER,
            "enforced": _BOOLEAN,
            "tokens_this_minute": _INTEGER,
            "requests_last_minute": _INTEGER,
        }
    )
    return _object({"deployments": {"type": "object", "additionalProperties": deployment}})


def _paths() -> Json:
    shapes = _shared_shapes()
    return _secured(
        {
            **_server_paths(shapes),
            **_stub_paths(shapes),
            **_journal_paths(shapes),
            **_scenario_paths(shapes),
        }
    )


def _secured(paths: Json) -> Json:
    """The open operations say so; every other one may answer the token's 401."""
    unauthorized = _reply("the admin token is missing or wrong", _ref("AdminError"))
    for path, item in paths.items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            if (method.upper(), path) in OPEN_ROUTES:
                operation["security"] = []
            else:
                operation["responses"]["401"] = unauthorized
    return paths


def _security_schemes() -> Json:
    return {
        "adminBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "the server's admin token (--admin-token, MOCKSERVER_ADMIN_TOKEN)",
        },
        "adminHeader": {"type": "apiKey", "in": "header", "name": TOKEN_HEADER},
    }


def _error_schema() -> Json:
    details = {"type": "array", "items": {"type": "object"}}
    error = _object({"code": _STRING, "message": _STRING, "details": details}, ["code", "message"])
    return _object({"error": error})


def _component_schemas() -> Json:
    models: dict[str, tuple[type[BaseModel], JsonSchemaMode]] = {
        "Stub": (Stub, "validation"),
        "RequestMatch": (RequestMatch, "validation"),
        "ResetRequest": (ResetRequest, "validation"),
        "VerifyRequest": (VerifyRequest, "validation"),
        "ScenarioState": (ScenarioState, "validation"),
        "SettingsPatch": (SettingsPatch, "validation"),
        "StubOut": (Stub, "serialization"),
        "SettingsOut": (FlatSettings, "serialization"),
    }
    refs, schemas = models_json_schema(list(models.values()), ref_template=_REF)
    defs: Json = schemas.get("$defs", {})
    for alias, key in models.items():  # the names the paths use, where pydantic chose others
        if refs[key]["$ref"] != _REF.format(model=alias):
            defs[alias] = dict(refs[key])
    journal = TypeAdapter(JournalEntry).json_schema(mode="serialization", ref_template=_REF)
    defs.update(journal.pop("$defs", {}))  # ReplayMiss, which an entry holds
    defs["JournalEntry"] = journal
    defs["AdminError"] = _error_schema()
    _mask_secrets(defs[refs[models["SettingsOut"]]["$ref"].rsplit("/", 1)[1]])
    return defs


def _mask_secrets(settings: Json) -> None:
    """The settings are sent with their secrets masked: the token is "***" or null."""
    masked = {"anyOf": [{"const": MASK}, {"type": "null"}], "description": "masked when set"}
    settings["properties"]["admin_token"] = masked


@cache
def admin_openapi() -> Json:
    return {
        "openapi": "3.1.0",
        "info": {"title": "mockserver admin API", "version": __version__},
        "paths": _paths(),
        "components": {"schemas": _component_schemas(), "securitySchemes": _security_schemes()},
        "security": [{"adminBearer": []}, {"adminHeader": []}, {}],
    }
