"""Key names: every key of one session shares one hash tag, so one Redis Cluster slot.

    mock:{<prefix>:<session>}:<store>:<part>

Scripts get every key they touch through KEYS, and all of a session's keys hash alike,
so each script and transaction stays on one node of a cluster. The prefix lets several
mocks share one Redis. Both names are %-escaped (all but letters, digits and `_.-~`), so no
two (prefix, session) pairs name the same keys, and no glob character reaches a pattern.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

ROOT = "mock"


@dataclass(frozen=True)
class SessionKeys:
    prefix: str
    session: str

    @property
    def tag(self) -> str:
        """The hash tag: what Redis Cluster hashes, the same for all the session's keys."""
        return "{" + quote(self.prefix, safe="") + ":" + quote(self.session, safe="") + "}"

    def key(self, store: str, *parts: str) -> str:
        return ":".join((ROOT, self.tag, store, *parts))

    def pattern(self) -> str:
        """A SCAN pattern for every key of the session."""
        return f"{ROOT}:{self.tag}:*"
