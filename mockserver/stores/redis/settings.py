"""Settings changed through PATCH /__admin/settings, shared by every process on one Redis
and key prefix, with read-your-writes and no round trip on the request path.

The changes made so far live in one hash (flat key -> JSON value) beside a version.
A change is stored, its version incremented and published on the prefix's channel in
one script; PUBLISH says how many processes were subscribed. Each process's follower
reads the changes, applies them, and publishes the version back on the `applied`
channel. The PATCH answers once that many processes said so: from then on, every
process answers with the change. A process that starts later, or whose subscription
comes back after an outage, subscribes first and then loads what is stored, so it
misses nothing.

Keys use the tag `{<prefix>}`: no session's tag (`{<prefix>:<session>}`) can equal it,
so resetting a session never touches the settings, and on a cluster they live in one
slot, whose node the followers subscribe on (PUBLISH counts the subscribers of the node
it runs on).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import orjson
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterPubSub, RedisCluster

from mockserver.stores.redis.connection import UNREACHABLE, Client, guarded, store_unavailable, text
from mockserver.stores.redis.keys import ROOT

log = logging.getLogger("mockserver.stores")

# How long a PATCH waits for every process to apply it before answering 503 ("not known
# to be done everywhere": the change is stored; repeating it is harmless).
APPLY_DEADLINE = 1.5
LISTEN_SECONDS = 5.0  # one wait for a message; a lost connection ends it at once
RESUBSCRIBE_PAUSES = (0.05, 0.1, 0.2, 0.5, 1.0)  # after a lost subscription, then 1 s
KEPT_ACKS = 256  # versions whose acknowledgements are counted

# KEYS: changes, version. ARGV: channel, then key, JSON value pairs.
# Returns {version, how many processes heard it}.
CHANGE = """
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
local version = redis.call('INCR', KEYS[2])
return {version, redis.call('PUBLISH', ARGV[1], version)}
"""

Apply = Callable[[dict[str, Any]], None]


class SettingsKeys:
    """The names of the settings' keys and channels under one prefix."""

    def __init__(self, prefix: str) -> None:
        base = f"{ROOT}:{{{quote(prefix, safe='')}}}:settings"
        self.changes = f"{base}:changes"
        self.version = f"{base}:version"
        self.changed = f"{base}:changed"  # channel: a version was stored
        self.applied = f"{base}:applied"  # channel: a process applied a version


class SharedSettings:
    """This process's side of the shared settings: it stores and publishes changes, and
    follows the ones other processes make."""

    def __init__(self, client: Client, prefix: str) -> None:
        self.client = client
        self.keys = SettingsKeys(prefix)
        self.script = client.register_script(CHANGE)
        self.acks: dict[int, int] = {}
        self.acked = asyncio.Event()
        self.follower: asyncio.Task[None] | None = None

    async def follow(self, apply: Apply) -> None:
        """Apply what is stored now, then every change as it comes (until `stop`)."""
        pubsub = await self.subscribe(apply)
        self.follower = asyncio.create_task(self.run(pubsub, apply), name="shared-settings")

    async def stop(self) -> None:
        if self.follower is not None:
            self.follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.follower
            self.follower = None

    @guarded
    async def share(self, changes: Mapping[str, Any]) -> None:
        """Store the changes; return once every process following them applied them."""
        pairs = [part for key, value in changes.items() for part in (key, orjson.dumps(value))]
        keys = [self.keys.changes, self.keys.version]
        version, heard = await self.script(keys=keys, args=[self.keys.changed, *pairs])
        await self.applied_by(int(version), int(heard))

    async def applied_by(self, version: int, processes: int) -> None:
        try:
            async with asyncio.timeout(APPLY_DEADLINE):
                while self.acks.get(version, 0) < processes:
                    await self.acked.wait()
        except TimeoutError:
            done = self.acks.get(version, 0)
            log.warning(
                "settings version %d applied by %d of %d processes", version, done, processes
            )
            raise store_unavailable() from None

    async def stored(self) -> dict[str, Any]:
        values = await self.client.hgetall(self.keys.changes)
        return {text(key): orjson.loads(value) for key, value in values.items()}

    async def subscribe(self, apply: Apply) -> PubSub | ClusterPubSub:
        """Subscribed first, then the stored changes applied: nothing published between
        the two is missed (a change may be applied twice, which changes nothing)."""
        pubsub = await self.pubsub()
        try:
            await pubsub.subscribe(self.keys.changed, self.keys.applied)
            stored = await self.stored()
        except BaseException:
            await pubsub.aclose()
            raise
        if stored:
            apply_logged(apply, stored)
        return pubsub

    async def pubsub(self) -> PubSub | ClusterPubSub:
        """A subscription; on a cluster, on the node of the keys' slot, where the CHANGE
        script publishes and counts (found again at each subscription: it may move)."""
        if isinstance(self.client, RedisCluster):
            await self.client.initialize()  # the slots known (once per client)
            node = self.client.get_node_from_key(self.keys.changes)
            return self.client.pubsub(node=node, ignore_subscribe_messages=True)
        return self.client.pubsub(ignore_subscribe_messages=True)

    async def run(self, pubsub: PubSub | ClusterPubSub, apply: Apply) -> None:
        """Follow the channels; after a lost connection, subscribe again (and reload)."""
        failures = 0
        while True:
            try:
                await self.listen(pubsub, apply)
            except Exception as error:  # the follower must outlive anything but a cancel
                if not isinstance(error, UNREACHABLE):
                    log.exception("shared settings: follower failed; subscribing again")
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                pubsub = await self.resubscribe(apply, failures)
                failures = 0

    async def resubscribe(self, apply: Apply, failures: int) -> PubSub | ClusterPubSub:
        while True:
            await asyncio.sleep(RESUBSCRIBE_PAUSES[min(failures, len(RESUBSCRIBE_PAUSES) - 1)])
            try:
                return await self.subscribe(apply)
            except UNREACHABLE:
                failures += 1

    async def listen(self, pubsub: PubSub | ClusterPubSub, apply: Apply) -> None:
        while True:
            message = await pubsub.get_message(timeout=LISTEN_SECONDS)
            if message is None or not str(message["data"]).isdigit():
                continue
            version = int(message["data"])
            if text(message["channel"]) == self.keys.changed:
                apply_logged(apply, await self.stored())
                await self.client.publish(self.keys.applied, version)
            else:
                self.count_ack(version)

    def count_ack(self, version: int) -> None:
        self.acks[version] = self.acks.get(version, 0) + 1
        while len(self.acks) > KEPT_ACKS:
            del self.acks[next(iter(self.acks))]
        self.acked.set()  # wakes every waiter; each checks its own count
        self.acked = asyncio.Event()


def apply_logged(apply: Apply, changes: dict[str, Any]) -> None:
    """Apply changes another process validated; one this process refuses is logged (its
    configuration differs), not raised into the follower."""
    try:
        apply(changes)
    except ValueError as error:  # pydantic's ValidationError included
        log.warning("shared settings not applied here: %s", str(error).splitlines()[0])
