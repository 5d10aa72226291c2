"""What the admin API accepts: the request bodies its routes parse and its OpenAPI
document describes (both read them from here)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mockserver.engines.matching import RequestMatch
from mockserver.stores.stores import RESETTABLE

# Admin input is JSON from a test or a script: a value of the wrong JSON type (0.0 for a
# boolean, "7" or 7.5 for an integer) is a mistake to report, not to coerce.
ADMIN_INPUT = ConfigDict(extra="forbid", strict=True)


class ResetRequest(BaseModel):
    model_config = ADMIN_INPUT

    parts: list[str] = Field(default_factory=lambda: sorted(RESETTABLE))


class VerifyRequest(BaseModel):
    model_config = ADMIN_INPUT

    match: RequestMatch = Field(default_factory=RequestMatch)
    count: int | None = Field(default=None, ge=0)


class ScenarioState(BaseModel):
    model_config = ADMIN_INPUT

    state: str


class SettingsPatch(BaseModel):
    """The settings that can change while the server runs."""

    model_config = ADMIN_INPUT

    seed: int | None = None
    deterministic_ids: bool | None = None
    region: str | None = None
    stream_chunking: str | None = None
    stream_obfuscation: bool | None = None
