"""Key names: every key of one session shares one hash tag, so one Redis Cluster slot.

    mock:{<prefix>:<session>}:<store>:<part>

Scripts get every key they touch through KEYS, and all of a session's keys hash alike,
so each script and transaction stays on one node of a cluster. The prefix lets several
mocks share one Redis. Both names are %-escaped (all but letters, digits and `_.-~`), so no
two (prefix, session) pairs name the same keys, and no glob character reaches a pattern.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from urllib.parse import quote

ROOT = "mock"


@dataclass(frozen=True)
class SessionKeys:
    prefix: str
    session: str

    @cached_property  # quoted once: keys are named on every store call
    def tag(self) -> str:
        """The hash tag: what Redis Cluster hashes, the same for all the session's keys."""
        return "{" + quote(self.prefix, safe="") + ":" + quote(self.session, safe="") + "}"

    def key(self, store: str, *parts: str) -> str:
        return ":".join((ROOT, self.tag, store, *parts))

    def pattern(self) -> str:
        """A SCAN pattern for every key of the session."""
        return f"{ROOT}:{self.tag}:*"


# Every key a session may hold, but the ones per deployment: what expiry renews and
# forget deletes (a test checks that a session that used every store holds no other).
SESSION_KEYS = (
    ("stubs", "defs"),
    ("stubs", "answered"),
    ("stubs", "listed"),
    ("stubs", "latest"),
    ("stubs", "meta"),
    ("scenarios",),
    ("journal", "entries"),
    ("journal", "sizes"),
    ("journal", "meta"),
    ("quota", "deployments"),
    ("responses", "entries"),
    ("responses", "order"),
    ("responses", "holders"),
    ("responses", "index"),
    ("responses", "meta"),
    ("faults", "served"),
    ("faults", "seeds"),
    ("faults", "draws"),
    ("replays", "used"),
)
PER_DEPLOYMENT = (("quota", "usage"), ("quota", "arrivals"))


def session_keys(keys: SessionKeys, deployments: list[str]) -> list[str]:
    """Every key of the session, given the deployments its quota has used."""
    fixed = [keys.key(*parts) for parts in SESSION_KEYS]
    return fixed + [keys.key(*parts, name) for name in deployments for parts in PER_DEPLOYMENT]
