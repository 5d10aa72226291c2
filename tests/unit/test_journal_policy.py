"""The journal's redaction policy is kept for the settings' redaction group: the same
settings give the same policy, and settings with other redaction lists (a new `Settings`,
as a change of the settings makes one) give theirs."""

from __future__ import annotations

from mockserver.config import Settings
from mockserver.redaction.masking import MASK
from mockserver.redaction.rules import journal_policy
from mockserver.stores.journal_entry import masked

HEADERS = {"api-key": "k", "x-tenant": "tenant-7"}


def test_each_settings_get_their_own_redaction() -> None:
    plain = Settings()
    teamed = plain.with_changes({"redact_headers": ["x-tenant"]})
    assert journal_policy(plain) is journal_policy(plain)
    assert masked(HEADERS, journal_policy(plain))["x-tenant"] == "tenant-7"
    assert masked(HEADERS, journal_policy(teamed))["x-tenant"] == MASK
    assert masked(HEADERS, journal_policy(plain))["x-tenant"] == "tenant-7"
    assert masked(HEADERS, journal_policy(plain))["api-key"] == MASK
