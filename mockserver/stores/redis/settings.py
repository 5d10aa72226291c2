"""Settings changed through PATCH /__admin/settings, shared by every process on one Redis
and key prefix, with read-your-writes and no round trip on the request path.

The changes made so far live in one hash (flat key -> JSON value). A change is stored
and published in one script, which answers how many processes heard it (broadcast.py).
Each process's follower reads the whole hash and applies it on top of the settings the
process started with, then acknowledges; the PATCH answers once every process that heard
it did (503 otherwise). Because each process applies the hash as read after the last
message, not the message's own changes, concurrent PATCHes on several processes leave
them all on the same settings. A process that starts later, or whose subscription comes
back after an outage, applies what is stored once subscribed, so it misses nothing; at
start it logs which stored changes override its own configuration. DELETE
/__admin/settings empties the hash: every process goes back to its configuration. The
keys use the tag `{<prefix>}`, so a session reset never touches them, and on a cluster
they share the broadcast's slot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from redis.commands.core import AsyncScript

from mockserver.stores.redis.broadcast import Broadcast
from mockserver.stores.redis.connection import Client, guarded, store_unavailable, text

log = logging.getLogger("mockserver.stores")

# KEYS: the changes. ARGV: channel, message, then key, JSON value pairs.
# Returns how many processes heard the message.
CHANGE = """
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return redis.call('PUBLISH', ARGV[1], ARGV[2])
"""
# KEYS: the changes. ARGV: channel, message.
CLEAR = """
redis.call('DEL', KEYS[1])
return redis.call('PUBLISH', ARGV[1], ARGV[2])
"""

Apply = Callable[[dict[str, Any]], None]


class SharedSettings:
    """This process's side of the shared settings: it stores and tells changes, and
    applies the ones any process makes."""

    def __init__(self, client: Client, broadcast: Broadcast) -> None:
        self.client = client
        self.broadcast = broadcast
        self.changes = f"{broadcast.base}:settings:changes"
        self.changed = broadcast.channel("settings-changed")
        self.change_script = client.register_script(CHANGE)
        self.clear_script = client.register_script(CLEAR)
        self.apply: Apply | None = None
        self.started = False  # the first load, at start, says what overrides the flags

    def follow(self, apply: Apply) -> None:
        """Apply what is stored on each subscription, then again at every change."""
        self.apply = apply
        self.broadcast.handlers[self.changed] = self.on_change
        self.broadcast.on_subscribed.append(self.load)

    @guarded
    async def share(self, changes: Mapping[str, Any]) -> None:
        """Store the changes; return once every process following them applied them."""
        pairs = [part for key, value in changes.items() for part in (key, orjson.dumps(value))]
        await self.tell(self.change_script, pairs)

    @guarded
    async def clear(self) -> None:
        """Forget every change; return once every process is back to its configuration."""
        await self.tell(self.clear_script, [])

    async def tell(self, script: AsyncScript, pairs: list[str | bytes]) -> None:
        async def send(token: str) -> int:
            args = [self.changed, token, *pairs]
            return int(await script(keys=[self.changes], args=args))

        await self.broadcast.told(send)
        if not self.broadcast.following:  # this process did not hear it: not applied here
            raise store_unavailable()

    async def stored(self) -> dict[str, Any]:
        values = await self.client.hgetall(self.changes)
        return {text(key): orjson.loads(value) for key, value in values.items()}

    async def load(self) -> None:
        stored = await self.stored()
        if not self.started and stored:
            log.warning(
                "settings changed through /__admin/settings and stored in Redis apply over "
                "this process's configuration: %s (DELETE /__admin/settings restores it)",
                ", ".join(f"{key}={value!r}" for key, value in sorted(stored.items())),
            )
        self.started = True
        self.applied(stored)

    async def on_change(self, _: str) -> None:
        self.applied(await self.stored())

    def applied(self, changes: dict[str, Any]) -> None:
        """Apply changes another process validated; one this process refuses is logged
        (its configuration differs), not raised into the follower."""
        assert self.apply is not None, "applied only once followed"
        try:
            self.apply(changes)
        except ValueError as error:  # pydantic's ValidationError included
            log.warning("shared settings not applied here: %s", str(error).splitlines()[0])
