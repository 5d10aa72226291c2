"""The api-version table: which versions exist, their schema family, what each one knows."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from mockserver.contract.data import load_json
from mockserver.contract.errors import catalogue_error
from mockserver.support.values import value

_DATED = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


@value
class ApiVersion:
    """A resolved api-version: its name, schema family, and the date it orders by."""

    name: str
    family: str
    is_v1: bool = False

    @property
    def date(self) -> str:
        # v1 postdates every dated version.
        return "9999-12-31" if self.is_v1 else self.name[:10]

    def knows(self, parameter: str) -> bool:
        introduced = _table()["parameters_introduced"].get(parameter)
        return introduced is None or self.date >= introduced[:10]


def resolve_dated(raw: str | None) -> ApiVersion:
    """The api-version of a dated route: missing -> 404, unknown -> 400 (Azure's gateway)."""
    if raw is None:
        raise catalogue_error("ResourceNotFound")
    family = _dated_families().get(raw)
    if family is None:
        raise catalogue_error("ApiVersionNotSupported")
    return ApiVersion(raw, family)


def resolve_v1(raw: str | None) -> ApiVersion:
    """The api-version of a /openai/v1 route: optional, `v1` or `preview`; dated -> 400."""
    v1 = _table()["v1"]
    name = raw or "v1"
    if name not in v1["accepted"]:
        raise catalogue_error("ApiVersionNotSupported")
    return ApiVersion(name, v1["family"], is_v1=True)


def is_dated_format(raw: str) -> bool:
    return bool(_DATED.match(raw))


@cache
def undocumented_parameters() -> dict[str, dict[str, Any]]:
    """Parameters the service takes beyond its documents, each with its JSON Schema."""
    table = dict(_table()["undocumented_parameters"])
    table.pop("$comment", None)
    return table


def known_dated_versions() -> list[str]:
    return list(_dated_families())


@cache
def _dated_families() -> dict[str, str]:
    return {entry["version"]: entry["family"] for entry in _table()["dated"]}


def _table() -> dict[str, Any]:
    table: dict[str, Any] = load_json("api_versions.json")
    return table
