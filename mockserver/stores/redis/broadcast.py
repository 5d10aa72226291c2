"""What one process tells every process sharing the Redis and prefix, and how it knows
they all heard it: one pub/sub subscription per process.

A process tells something on a channel, in a message carrying a fresh token; PUBLISH
answers how many processes were subscribed. Each process's follower handles the message,
then acknowledges it on the `acknowledged` channel with the token; the teller waits until
that many acknowledged (or answers 503 after ACK_DEADLINE: "not known to be done
everywhere"). The teller registers its token before publishing and counts only the
acknowledgements of tokens someone waits for, so any number of tells can be in flight.
This is what lets a process keep knowledge locally (the settings, which sessions have no
stubs) and still give read-your-writes without a round trip per request.

A subscription that goes silent (a NAT or load balancer dropping an idle connection
without a word) would leave a process on stale knowledge while Redis no longer counts it
among the listeners: the follower pings after PING_AFTER seconds of silence and, with no
pong within PONG_DEADLINE, takes the subscription as lost (its knowledge is forgotten) and
subscribes again.

Channels and the anchor key use the tag `{<prefix>}`, which no session's tag
(`{<prefix>:<session>}`) can equal. On a cluster, PUBLISH counts the subscribers of the
node it runs on: every follower subscribes on the node of the anchor's slot, and every
message is published there, by a script given the anchor as its key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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
PING_AFTER = 1.0  # seconds of silence on the subscription before asking for a pong
PONG_DEADLINE = 2.0  # seconds a ping may go unanswered before the subscription is lost
CLOSE_DEADLINE = 1.0  # seconds to close a lost subscription's connection
RESUBSCRIBE_PAUSES = (0.05, 0.1, 0.2, 0.5, 1.0)  # after a lost subscription, then 1 s

# KEYS: the anchor (its slot is where followers listen). ARGV: channel, message.
PUBLISH = "return redis.call('PUBLISH', ARGV[1], ARGV[2])"

Handler = Callable[[str], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]
Send = Callable[[str], Awaitable[int]]  # publishes a message with this token; how many heard
Subscription = PubSub | ClusterPubSub


class SilentSubscriptionError(ConnectionError):
    """The subscription answered no ping within PONG_DEADLINE."""


@dataclass
class Waiter:
    """A teller's count of the acknowledgements of its token."""

    done: asyncio.Future[None]
    acknowledged: int = 0
    needed: int | None = None  # known once PUBLISH answered

    def count(self, more: int = 0, needed: int | None = None) -> None:
        self.acknowledged += more
        self.needed = self.needed if needed is None else needed
        if self.needed is not None and self.acknowledged >= self.needed and not self.done.done():
            self.done.set_result(None)


@dataclass
class Liveness:
    """When the subscription last proved alive, and the ping that asks it to."""

    pinged_at: float | None = None
    clock: Callable[[], float] = field(default_factory=lambda: asyncio.get_running_loop().time)

    def heard(self) -> None:
        self.pinged_at = None

    async def silence(self, subscription: Subscription) -> None:
        """Nothing came for PING_AFTER: ping, or give up if the last ping went unanswered."""
        now = self.clock()
        if self.pinged_at is None:
            self.pinged_at = now
            await subscription.ping()
        elif now - self.pinged_at > PONG_DEADLINE:
            raise SilentSubscriptionError(f"no pong in {PONG_DEADLINE} s")


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
        self.waiting: dict[str, Waiter] = {}
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

    async def tell(self, channel: str, message: str) -> None:
        """Publish `message` on `channel`; return once every process handled it."""

        async def send(token: str) -> int:
            args = [channel, f"{token} {message}"]
            return int(await self.publish_script(keys=[self.anchor], args=args))

        await self.told(send)

    async def told(self, send: Send) -> None:
        """Tell through `send`, which publishes `<token> <message>` (perhaps storing
        something in the same script) and answers how many processes heard it; return
        once each of them handled it and acknowledged. 503 after ACK_DEADLINE."""
        token = secrets.token_hex(8)
        waiter = self.waiting[token] = Waiter(asyncio.get_running_loop().create_future())
        try:
            waiter.count(needed=await send(token))
            await self.acknowledged_in_time(token, waiter)
        finally:
            del self.waiting[token]

    async def acknowledged_in_time(self, token: str, waiter: Waiter) -> None:
        try:
            async with asyncio.timeout(ACK_DEADLINE):
                await waiter.done
        except TimeoutError:
            done, needed = waiter.acknowledged, waiter.needed
            log.warning("%s acknowledged by %d of %s processes", token, done, needed)
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
                await self.listen(subscription, Liveness())
            except Exception as error:  # the follower must outlive anything but a cancel
                self.complain(error)
                self.lost()
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(CLOSE_DEADLINE):  # a silent peer: no FIN
                        await subscription.aclose()
                subscription = await self.resubscribe()

    @staticmethod
    def complain(error: Exception) -> None:
        if isinstance(error, SilentSubscriptionError):
            log.warning("broadcast: the subscription went silent (%s); subscribing again", error)
        elif not isinstance(error, UNREACHABLE):
            log.exception("broadcast: follower failed; subscribing again")

    async def resubscribe(self) -> Subscription:
        failures = 0
        while True:
            await asyncio.sleep(RESUBSCRIBE_PAUSES[min(failures, len(RESUBSCRIBE_PAUSES) - 1)])
            with contextlib.suppress(*UNREACHABLE):
                return await self.subscribe()
            failures += 1

    async def listen(self, subscription: Subscription, liveness: Liveness) -> None:
        while True:
            message = await subscription.get_message(timeout=PING_AFTER)
            if message is None:
                await liveness.silence(subscription)
                continue
            liveness.heard()  # any message, a pong included, proves the connection alive
            if message["type"] == "pong":
                continue
            channel, data = text(message["channel"]), text(message["data"])
            if channel == self.acknowledged:
                self.count_ack(data)
            elif channel in self.handlers:
                token, _, told = data.partition(" ")
                async with bounded():  # a hung Redis: the follower subscribes again
                    await self.handlers[channel](told)
                    await self.acknowledge(token)

    def count_ack(self, token: str) -> None:
        """Acknowledgements of tokens nobody here waits for (other processes') are not kept."""
        waiter = self.waiting.get(token)
        if waiter is not None:
            waiter.count(more=1)
