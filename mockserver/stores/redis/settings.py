"""Settings changed through PATCH /__admin/settings, shared by every process on one Redis
and key prefix, with read-your-writes and no round trip on the request path.

The changes made so far live in one hash (flat key -> JSON value) beside a version. A
change is stored, its version incremented and published in one script, which answers
how many processes heard it (broadcast.py). Each process's follower reads the changes,
applies them and acknowledges the version; the PATCH answers once every process that
heard it did (503 otherwise): from then on, every process answers with the change. A
process that starts later, or whose subscription comes back after an outage, loads what
is stored once subscribed, so it misses nothing. The keys use the tag `{<prefix>}`, so a
session reset never touches them, and on a cluster they share the broadcast's slot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from mockserver.stores.redis.broadcast import Broadcast
from mockserver.stores.redis.connection import Client, guarded, text

log = logging.getLogger("mockserver.stores")

# KEYS: changes, version. ARGV: channel, then key, JSON value pairs.
# Returns {version, how many processes heard it}.
CHANGE = """
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
local version = redis.call('INCR', KEYS[2])
return {version, redis.call('PUBLISH', ARGV[1], version)}
"""

Apply = Callable[[dict[str, Any]], None]


class SharedSettings:
    """This process's side of the shared settings: it stores and tells changes, and
    applies the ones any process makes."""

    def __init__(self, client: Client, broadcast: Broadcast) -> None:
        self.client = client
        self.broadcast = broadcast
        self.changes = f"{broadcast.base}:settings:changes"
        self.version = f"{broadcast.base}:settings:version"
        self.changed = broadcast.channel("settings-changed")
        self.script = client.register_script(CHANGE)
        self.apply: Apply | None = None

    def follow(self, apply: Apply) -> None:
        """Apply what is stored on each subscription, then every change as it comes."""
        self.apply = apply
        self.broadcast.handlers[self.changed] = self.on_change
        self.broadcast.on_subscribed.append(self.load)

    @guarded
    async def share(self, changes: Mapping[str, Any]) -> None:
        """Store the changes; return once every process following them applied them."""
        pairs = [part for key, value in changes.items() for part in (key, orjson.dumps(value))]
        keys = [self.changes, self.version]
        version, heard = await self.script(keys=keys, args=[self.changed, *pairs])
        await self.broadcast.heard_by(token(int(version)), int(heard))

    async def stored(self) -> dict[str, Any]:
        values = await self.client.hgetall(self.changes)
        return {text(key): orjson.loads(value) for key, value in values.items()}

    async def load(self) -> None:
        stored = await self.stored()
        if stored:
            self.applied(stored)

    async def on_change(self, version: str) -> None:
        self.applied(await self.stored())
        await self.broadcast.acknowledge(token(int(version)))

    def applied(self, changes: dict[str, Any]) -> None:
        """Apply changes another process validated; one this process refuses is logged
        (its configuration differs), not raised into the follower."""
        assert self.apply is not None, "applied only once followed"
        try:
            self.apply(changes)
        except ValueError as error:  # pydantic's ValidationError included
            log.warning("shared settings not applied here: %s", str(error).splitlines()[0])


def token(version: int) -> str:
    return f"settings:{version}"
