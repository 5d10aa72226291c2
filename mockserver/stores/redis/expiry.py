"""Idle sessions expire on Redis: a named session's keys go once nobody used it for
`state_session_ttl_seconds` (memory bounds sessions by count instead; the default
session never expires).

No request pays for it: the backend notes which sessions it handed out (a set add),
and every `interval` seconds one sweep renews the expiry of all their keys in two
pipelines (read each session's deployments, then PEXPIRE every key). So a session's
keys expire between `ttl` and `ttl + interval` after its last use, together. A key
written after the last sweep of a process that then died keeps no expiry: the next
use of the session by any process renews it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from mockserver.stores.redis.connection import UNREACHABLE, Client, bounded, text
from mockserver.stores.redis.keys import SessionKeys, session_keys

log = logging.getLogger("mockserver.stores")

LONGEST_INTERVAL = 60.0  # seconds between sweeps, at most


def sweep_interval(ttl_seconds: int) -> float:
    return min(LONGEST_INTERVAL, ttl_seconds / 4)


class SessionExpiry:
    """The sessions used since the last sweep, and the sweeps that keep them alive."""

    def __init__(self, client: Client, prefix: str, ttl_seconds: int) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl_ms = ttl_seconds * 1000
        self.interval = sweep_interval(ttl_seconds)
        self.used: set[str] = set()
        self.sweeper: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.ttl_ms > 0:
            self.sweeper = asyncio.create_task(self.run(), name="session-expiry")

    async def stop(self) -> None:
        """Stop sweeping; renew what was used since the last sweep (a closing process's
        last writes expire too)."""
        if self.sweeper is None:
            return
        self.sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.sweeper
        self.sweeper = None
        with contextlib.suppress(*UNREACHABLE):
            async with bounded():
                await self.sweep()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                async with bounded():
                    await self.sweep()
            except UNREACHABLE:
                log.warning("session expiry: Redis did not answer; renewing at the next sweep")

    async def sweep(self) -> None:
        """Renew the expiry of every key of the sessions used since the last sweep."""
        sessions, self.used = self.used, set()
        if not sessions:
            return
        try:
            await self.renew(sorted(sessions))
        except BaseException:
            self.used |= sessions  # not renewed: the next sweep tries them again
            raise

    async def renew(self, sessions: list[str]) -> None:
        keys = [SessionKeys(self.prefix, session) for session in sessions]
        async with self.client.pipeline(transaction=False) as pipe:
            for session in keys:
                pipe.smembers(session.key("quota", "deployments"))
            deployments = await pipe.execute()
        async with self.client.pipeline(transaction=False) as pipe:
            for session, names in zip(keys, deployments, strict=True):
                for key in session_keys(session, sorted(map(text, names))):
                    pipe.pexpire(key, self.ttl_ms)
            await pipe.execute()
