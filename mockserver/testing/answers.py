"""The admin API's answers as typed values: health, quota, and journal entries."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from pydantic import BaseModel, ConfigDict

from mockserver.stores.journal_entry import JournalEntry, ReplayMiss

# A newer server may say more than this client knows: extra fields are ignored, not errors.
ANSWER = ConfigDict(extra="ignore", frozen=True)


class Health(BaseModel):
    """GET /__admin/health: up, which version, and whether its tokenizer is loaded."""

    model_config = ANSWER

    status: str
    version: str
    warm: bool
    store: str = "up"  # "down" while a shared store does not answer


class DeploymentQuota(BaseModel):
    """One deployment's limits (GET /__admin/quota) and what it used in the current windows."""

    model_config = ANSWER

    tokens_per_minute: int
    requests_per_minute: int
    enforced: bool
    tokens_this_minute: int
    requests_last_minute: int


_ENTRY_FIELDS = frozenset(field.name for field in fields(JournalEntry))


def journal_entry(data: dict[str, Any]) -> JournalEntry:
    """A journal entry from its JSON (GET /__admin/requests), as the server keeps it."""
    known = {name: value for name, value in data.items() if name in _ENTRY_FIELDS}
    miss = known.get("replay_miss")
    known["replay_miss"] = ReplayMiss(**miss) if isinstance(miss, dict) else None
    return JournalEntry(**known)


def journal_entries(answer: dict[str, Any]) -> list[JournalEntry]:
    return [journal_entry(entry) for entry in answer["requests"]]
