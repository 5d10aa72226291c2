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
# Each + the deployment's name: the minute's tokens, and the arrivals of the minute and of
# the request window (lists). The sorted set of arrivals that earlier builds kept is named
# too, so that forgetting a session or resetting the quota deletes one they left.
USAGE, MINUTE_ARRIVALS = ("quota", "usage"), ("quota", "minute")
WINDOW_ARRIVALS, SORTED_ARRIVALS = ("quota", "window"), ("quota", "arrivals")
PER_DEPLOYMENT = (USAGE, MINUTE_ARRIVALS, WINDOW_ARRIVALS, SORTED_ARRIVALS)
DEPLOYMENTS = ("quota", "deployments")  # the set of deployments the quota has keys for

# Lua, the opening of a script whose KEYS[1] is the deployments set and whose ARGV from
# `first` on are the deployments its KEYS were named for: `complete` is false when the set
# holds one more (a request's first step for a deployment ran between the read and the
# script), so the caller reads again instead of leaving that deployment's keys behind.
KNOWN_DEPLOYMENTS = """
local function complete(first)
  local known = {}
  for i = first, #ARGV do known[ARGV[i]] = true end
  for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    if not known[name] then return false end
  end
  return true
end
"""


def session_keys(keys: SessionKeys, deployments: list[str]) -> list[str]:
    """Every key of the session, given the deployments its quota has used; the
    deployments set first (KEYS[1] of the scripts that open with KNOWN_DEPLOYMENTS)."""
    fixed = [keys.key(*DEPLOYMENTS)]
    fixed += [keys.key(*parts) for parts in SESSION_KEYS if parts != DEPLOYMENTS]
    return fixed + [keys.key(*parts, name) for name in deployments for parts in PER_DEPLOYMENT]
