"""What one process tells every process sharing the Redis and prefix, and how it knows
they all heard it: one pub/sub subscription per process.

A process tells something on a channel; PUBLISH answers how many processes were
subscribed. Each process's follower handles the message, then acknowledges it on the
`acknowledged` channel with the message's token; the teller waits until that many
acknowledged (or answers 503 after ACK_DEADLINE: "not known to be done everywhere").
This is what lets a process keep knowledge locally (the settings, which sessions have no
stubs) and still give read-your-writes without a round trip per request.

Channels and the anchor key use the tag `{<prefix>}`, which no session's tag
(`{<prefix>:<session>}`) can equal. On a cluster, PUBLISH counts the subscribers of the
node it runs on: every follower subscribes on the node of the anchor's slot, and every
message is published there, by a script given the anchor as its key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterPubSub, RedisCluster

from mockserver.stores.redis.connection import (
    UNREACHABLE,
    Client,
    bounded,
    store_unavailable,
    text,
)
from mockserver.stores.redis.keys import ROOT

log = logging.getLogger("mockserver.stores")

ACK_DEADLINE = 1.5  # seconds a teller waits for every process
LISTEN_SECONDS = 5.0  # one wait for a message; a lost connection ends it at once
RESUBSCRIBE_PAUSES = (0.05, 0.1, 0.2, 0.5, 1.0)  # after a lost subscription, then 1 s
KEPT_ACKS = 256  # tokens whose acknowledgements are counted

# KEYS: the anchor (its slot is where followers listen). ARGV: channel, message.
PUBLISH = "return redis.call('PUBLISH', ARGV[1], ARGV[2])"

Handler = Callable[[str], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]
Subscription = PubSub | ClusterPubSub


class Broadcast:
    """This process's subscription for one prefix: handlers per channel, hooks run once
    subscribed (again after a lost connection) and when the subscription is lost."""

    def __init__(self, client: Client, prefix: str) -> None:
        self.client = client
        self.base = f"{ROOT}:{{{quote(prefix, safe='')}}}"
        self.anchor = f"{self.base}:broadcast"  # a key name, never written
        self.acknowledged = self.channel("acknowledged")
        self.publish_script = client.register_script(PUBLISH)
        self.handlers: dict[str, Handler] = {}
        self.on_subscribed: list[Hook] = []
        self.on_lost: list[Callable[[], None]] = []
        self.acks: dict[str, int] = {}
        self.acked = asyncio.Event()
        self.follower: asyncio.Task[None] | None = None
        self.following = False  # subscribed now: what others tell reaches this process

    def channel(self, name: str) -> str:
        return f"{self.base}:{name}"

    async def start(self) -> None:
        """Subscribe (the hooks run), then follow until `stop`."""
        subscription = await self.subscribe()
        self.follower = asyncio.create_task(self.run(subscription), name="broadcast")

    async def stop(self) -> None:
        if self.follower is not None:
            self.follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.follower
            self.follower = None
        self.lost()

    async def tell(self, channel: str, message: str) -> int:
        """Publish; how many processes heard it."""
        heard = await self.publish_script(keys=[self.anchor], args=[channel, message])
        return int(heard)

    async def heard_by(self, token: str, processes: int) -> None:
        """Return once `processes` acknowledged `token`; 503 after ACK_DEADLINE."""
        try:
            async with asyncio.timeout(ACK_DEADLINE):
                while self.acks.get(token, 0) < processes:
                    await self.acked.wait()
        except TimeoutError:
            done = self.acks.get(token, 0)
            log.warning("%s acknowledged by %d of %d processes", token, done, processes)
            raise store_unavailable() from None

    async def acknowledge(self, token: str) -> None:
        await self.client.publish(self.acknowledged, token)

    async def subscribe(self) -> Subscription:
        """Subscribed first, then the hooks (which load what is stored): nothing told
        between the two is missed. TimeoutError if Redis does not answer in time."""
        async with bounded():
            return await self.subscribed()

    async def subscribed(self) -> Subscription:
        subscription = await self.subscription()
        try:
            await subscription.subscribe(self.acknowledged, *self.handlers)
            self.following = True
            for hook in self.on_subscribed:
                await hook()
        except BaseException:
            self.lost()
            await subscription.aclose()
            raise
        return subscription

    async def subscription(self) -> Subscription:
        if isinstance(self.client, RedisCluster):
            await self.client.initialize()  # the slots known (once per client)
            node = self.client.get_node_from_key(self.anchor)  # found again each time
            return self.client.pubsub(node=node, ignore_subscribe_messages=True)
        return self.client.pubsub(ignore_subscribe_messages=True)

    def lost(self) -> None:
        self.following = False
        for hook in self.on_lost:
            hook()

    async def run(self, subscription: Subscription) -> None:
        """Follow the channels; after a lost connection, subscribe again."""
        while True:
            try:
                await self.listen(subscription)
            except Exception as error:  # the follower must outlive anything but a cancel
                if not isinstance(error, UNREACHABLE):
                    log.exception("broadcast: follower failed; subscribing again")
                self.lost()
                with contextlib.suppress(Exception):
                    await subscription.aclose()
                subscription = await self.resubscribe()

    async def resubscribe(self) -> Subscription:
        failures = 0
        while True:
            await asyncio.sleep(RESUBSCRIBE_PAUSES[min(failures, len(RESUBSCRIBE_PAUSES) - 1)])
            with contextlib.suppress(*UNREACHABLE):
                return await self.subscribe()
            failures += 1

    async def listen(self, subscription: Subscription) -> None:
        while True:
            message = await subscription.get_message(timeout=LISTEN_SECONDS)
            if message is None:
                continue
            channel, data = text(message["channel"]), text(message["data"])
            if channel == self.acknowledged:
                self.count_ack(data)
            elif channel in self.handlers:
                async with bounded():  # a hung Redis: the follower subscribes again
                    await self.handlers[channel](data)

    def count_ack(self, token: str) -> None:
        self.acks[token] = self.acks.get(token, 0) + 1
        while len(self.acks) > KEPT_ACKS:
            del self.acks[next(iter(self.acks))]
        self.acked.set()  # wakes every waiter; each checks its own count
        self.acked = asyncio.Event()
