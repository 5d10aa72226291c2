"""A session's stores on Redis, and the backend that hands them out.

`redis_stores` binds the six stores to one session's keys: no round trip, so it may be
called for every request. `RedisBackend` is what the server keeps: the client, the key
prefix, and the stores of each session it has seen (bounded, as they are cheap to make
again).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from mockserver.config import Settings
from mockserver.stores.redis.broadcast import Broadcast
from mockserver.stores.redis.connection import (
    Client,
    close,
    guarded,
    healthy,
    store_unavailable,
    text,
)
from mockserver.stores.redis.expiry import SessionExpiry
from mockserver.stores.redis.faults import RedisFaultLedger
from mockserver.stores.redis.journal import RedisJournal
from mockserver.stores.redis.keys import (
    DEPLOYMENTS,
    KNOWN_DEPLOYMENTS,
    SessionKeys,
    session_keys,
)
from mockserver.stores.redis.quota import RedisQuotaLedger
from mockserver.stores.redis.replays import RedisReplayLedger
from mockserver.stores.redis.responses import RedisResponseStore
from mockserver.stores.redis.scenarios import RedisScenarioStore
from mockserver.stores.redis.settings import SharedSettings
from mockserver.stores.redis.stubless import StublessSessions
from mockserver.stores.redis.stubs import RedisStubStore
from mockserver.stores.sessions import DEFAULT_SESSION
from mockserver.stores.stores import Stores

DEFAULT_PREFIX = "mockserver"
# KEYS: every key of the session, the deployments set first; ARGV: the deployments.
FORGET = (
    KNOWN_DEPLOYMENTS
    + "if not complete(1) then return 0 end redis.call('DEL', unpack(KEYS)) return 1"
)
# Reads of the deployments a forget makes at most (each new deployment costs one more).
FORGET_TRIES = 8
KEPT_SESSIONS = 1024  # stores objects kept per process; the state itself is all in Redis


def redis_stores(
    client: Client,
    settings: Settings,
    prefix: str = DEFAULT_PREFIX,
    session: str = "default",
    clock: Callable[[], float] | None = None,
    stubless: StublessSessions | None = None,
) -> Stores:
    """The session's stores, bounded as `settings` say. `clock` is for tests: by default
    the quota windows run on Redis's clock, which every process shares. `stubless`: the
    process's knowledge of sessions without stubs (none: Redis is asked each request)."""
    keys = SessionKeys(prefix, session)
    journal = settings.journal
    return Stores(
        stubs=RedisStubStore(client, keys, stubless),
        scenarios=RedisScenarioStore(client, keys),
        journal=RedisJournal(client, keys, journal.capacity, journal.max_bytes),
        quota=RedisQuotaLedger(client, keys, settings.quota.request_window_seconds, clock),
        responses=RedisResponseStore(client, keys),
        faults=RedisFaultLedger(client, keys),
        replays=RedisReplayLedger(client, keys),
    )


class RedisBackend:
    """Every session's stores on one Redis, under one key prefix."""

    def __init__(self, client: Client, settings: Settings, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = client
        self.settings = settings
        self.prefix = prefix
        self.sessions: OrderedDict[str, Stores] = OrderedDict()
        self.broadcast = Broadcast(client, prefix)
        self.shared_settings = SharedSettings(client, self.broadcast)
        self.stubless = StublessSessions(self.broadcast)
        self.expiry = SessionExpiry(client, prefix, settings.store.session_ttl_seconds)

    def stores(self, session: str) -> Stores:
        stores = self.sessions.get(session)
        if stores is None:
            stores = self.sessions[session] = redis_stores(
                self.client, self.settings, self.prefix, session, stubless=self.stubless
            )
            while len(self.sessions) > KEPT_SESSIONS:
                self.sessions.popitem(last=False)
        self.sessions.move_to_end(session)
        if session != DEFAULT_SESSION:  # the default session never expires
            self.expiry.used.add(session)
        return stores

    @guarded
    async def forget(self, session: str) -> None:
        """Delete every key of the session, counters included: the keys are known (no
        SCAN of the whole keyspace, which a run with a session per test would repeat).
        Read again if a deployment's keys appeared since they were read."""
        keys = SessionKeys(self.prefix, session)
        for _ in range(FORGET_TRIES):
            deployments = sorted(map(text, await self.client.smembers(keys.key(*DEPLOYMENTS))))
            named = session_keys(keys, deployments)
            if await self.client.eval(FORGET, len(named), *named, *deployments):
                self.expiry.used.discard(session)
                return
        raise store_unavailable()  # deployments added faster than it can read: a 503, retried

    async def healthy(self) -> bool:
        return await healthy(self.client)

    async def start(self, apply_settings: Callable[[dict[str, Any]], None]) -> None:
        self.shared_settings.follow(apply_settings)
        await self.broadcast.start()
        self.expiry.start()

    async def share_settings(self, changes: Mapping[str, Any]) -> bool:
        await self.shared_settings.share(changes)
        return True

    async def clear_settings(self) -> bool:
        await self.shared_settings.clear()
        return True

    async def close(self) -> None:
        await self.broadcast.stop()
        await self.expiry.stop()
        self.sessions.clear()
        await close(self.client)
