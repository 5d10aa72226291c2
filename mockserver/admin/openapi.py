"""The OpenAPI document of the admin API, built from the models that check its input."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from mockserver import __version__
from mockserver.matching import RequestMatch
from mockserver.stubs import Stub

_REF = "#/components/schemas/{model}"


def _body(model: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=model)}}},
    }


def _ok(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }


_ERRORS = {"400": _ok("invalid input: {error: {code, message, details}}")}
_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
_NAME = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]


def _paths() -> dict[str, Any]:
    stub_ok, match = _ok("the stub"), _body("RequestMatch")
    return {
        "/__admin/health": {"get": {"responses": {"200": _ok("ready")}}},
        "/__admin/reset": {"post": {"responses": {"200": _ok("what was reset"), **_ERRORS}}},
        "/__admin/stubs": {
            "get": {"responses": {"200": _ok("all stubs")}},
            "post": {"requestBody": _body("Stub"), "responses": {"201": stub_ok, **_ERRORS}},
            "delete": {"responses": {"200": _ok("all stubs deleted")}},
        },
        "/__admin/stubs/{id}": {
            "parameters": _ID,
            "get": {"responses": {"200": stub_ok, "404": _ok("no such stub")}},
            "put": {"requestBody": _body("Stub"), "responses": {"200": stub_ok, **_ERRORS}},
            "delete": {"responses": {"200": _ok("deleted"), "404": _ok("no such stub")}},
        },
        "/__admin/requests": {
            "get": {"responses": {"200": _ok("the journal")}},
            "delete": {"responses": {"200": _ok("journal cleared")}},
        },
        "/__admin/requests/find": {
            "post": {
                "requestBody": match,
                "responses": {"200": _ok("matching requests"), **_ERRORS},
            }
        },
        "/__admin/requests/count": {
            "post": {"requestBody": match, "responses": {"200": _ok("{count}"), **_ERRORS}}
        },
        "/__admin/requests/verify": {
            "post": {
                "responses": {
                    "200": _ok("{matched}"),
                    "409": _ok("verification failed, with the nearest requests"),
                    **_ERRORS,
                }
            }
        },
        "/__admin/scenarios": {"get": {"responses": {"200": _ok("scenario states")}}},
        "/__admin/scenarios/{name}": {
            "parameters": _NAME,
            "put": {"responses": {"200": _ok("state set"), **_ERRORS}},
        },
        "/__admin/scenarios/reset": {"post": {"responses": {"200": _ok("all scenarios Started")}}},
        "/__admin/settings": {
            "get": {"responses": {"200": _ok("settings, secrets masked")}},
            "patch": {"responses": {"200": _ok("settings after the change"), **_ERRORS}},
        },
        "/__admin/quota": {"get": {"responses": {"200": _ok("limits and use per deployment")}}},
        "/__admin/openapi.json": {"get": {"responses": {"200": _ok("this document")}}},
    }


@cache
def admin_openapi() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [(Stub, "validation"), (RequestMatch, "validation")],
        ref_template="#/components/schemas/{model}",
    )
    return {
        "openapi": "3.1.0",
        "info": {"title": "mockserver admin API", "version": __version__},
        "paths": _paths(),
        "components": {"schemas": schemas.get("$defs", {})},
    }
