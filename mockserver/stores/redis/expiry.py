"""Idle sessions expire on Redis: a named session's keys go once nobody used it for
`state_session_ttl_seconds` (memory bounds sessions by count instead; the default
session never expires).

No request pays for it: the backend notes which sessions it handed out (a set add),
and every `interval` seconds one sweep renews the expiry of all their keys, in batches of
BATCH_SESSIONS sessions: two pipelines each (read the sessions' deployments, then a script
per session that PEXPIREs its keys), each batch under its own deadline, so a sweep of any
size makes progress. So a session's keys expire between `ttl` and `ttl + interval` after
its last use, together. A key written after the last sweep of a process that then died
keeps no expiry: the next use of the session by any process renews it. A deployment whose
first quota step falls between a batch's two pipelines is caught by the script (the
session is renewed again at the next sweep).

A batch Redis refused is kept for the next sweep; once Redis did not answer, so are the
batches not yet tried (each would only wait out its deadline). What is carried over is
capped (KEPT_SESSIONS): past it, sessions are dropped with a warning, and their keys keep
the expiry of their last renewal (none if they never had one).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging

from redis.exceptions import RedisError

from mockserver.stores.redis.connection import UNREACHABLE, Client, bounded, text
from mockserver.stores.redis.keys import (
    DEPLOYMENTS,
    KNOWN_DEPLOYMENTS,
    SessionKeys,
    session_keys,
)

log = logging.getLogger("mockserver.stores")

# KEYS: every key of one session, the deployments set first; ARGV: the ttl in ms, then
# the deployments. One command per session instead of one per key: a fifth of the CPU a
# sweep costs the server's event loop. Sent as EVAL (no NOSCRIPT to handle), which a
# cluster pipeline sends to the session's node as it is. 0 when a deployment's keys
# appeared since the read: the session is renewed again at the next sweep.
RENEW = KNOWN_DEPLOYMENTS + (
    "for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ARGV[1]) end"
    " if complete(2) then return 1 end return 0"
)

LONGEST_INTERVAL = 60.0  # seconds between sweeps, at most
# Sessions renewed by one pair of pipelines (~21 keys each), under one call deadline:
# well under 0.1 s on an idle loopback, so a loaded machine has room.
BATCH_SESSIONS = 500
# Sessions carried over to the next sweep at most (a long outage, ~150 new sessions a
# second): bounds the memory and the first sweep once Redis is back.
KEPT_SESSIONS = 50_000
STOP_DEADLINE = 5.0  # seconds a closing process spends renewing what it used last


class Batch(enum.Enum):
    RENEWED = "renewed"
    REFUSED = "refused"  # Redis answered with an error: this batch only
    UNANSWERED = "unanswered"  # Redis down or hung: the batches after it would be too


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
        last writes expire too), for STOP_DEADLINE at most."""
        if self.sweeper is None:
            return
        self.sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.sweeper  # a sweep cut short kept what it had not renewed
        self.sweeper = None
        try:
            async with asyncio.timeout(STOP_DEADLINE):
                await self.sweep()
        except TimeoutError:
            pass
        if self.used:
            log.warning("session expiry: %d sessions not renewed on closing", len(self.used))

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                kept = await self.sweep()
            except Exception:  # the sweeper must outlive a bug of one sweep
                log.exception("session expiry: the sweep failed")
                continue
            if kept:
                log.warning("session expiry: %d sessions not renewed; at the next sweep", kept)

    async def sweep(self) -> int:
        """Renew the expiry of every key of the sessions used since the last sweep, batch
        by batch; how many sessions were kept for the next sweep (not renewed)."""
        sessions, self.used = sorted(self.used), set()
        failed: list[str] = []
        done = 0
        try:
            while done < len(sessions):
                batch = sessions[done : done + BATCH_SESSIONS]
                outcome = await self.renew_batch(batch)
                done += len(batch)
                if outcome is not Batch.RENEWED:
                    failed += batch
                if outcome is Batch.UNANSWERED:
                    break
        finally:  # cancelled mid-way too: what was not renewed is renewed later
            kept = self.keep(failed + sessions[done:])
        return kept

    async def renew_batch(self, sessions: list[str]) -> Batch:
        try:
            async with bounded():
                await self.renew(sessions)
        except UNREACHABLE:
            return Batch.UNANSWERED
        except RedisError as error:
            log.warning("session expiry: Redis refused a batch: %s", error)
            return Batch.REFUSED
        return Batch.RENEWED

    def keep(self, sessions: list[str]) -> int:
        """Carry `sessions` over to the next sweep, KEPT_SESSIONS at most."""
        dropped = len(sessions) - KEPT_SESSIONS
        if dropped > 0:
            log.warning("session expiry: %d sessions dropped (renewed once used again)", dropped)
            sessions = sessions[:KEPT_SESSIONS]
        self.used.update(sessions)
        return len(sessions)

    async def renew(self, sessions: list[str]) -> None:
        keys = [SessionKeys(self.prefix, session) for session in sessions]
        async with self.client.pipeline(transaction=False) as pipe:
            for session in keys:
                pipe.smembers(session.key(*DEPLOYMENTS))
            deployments = await pipe.execute()
        async with self.client.pipeline(transaction=False) as pipe:
            for session, names in zip(keys, deployments, strict=True):
                known = sorted(map(text, names))
                renewed = session_keys(session, known)
                pipe.eval(RENEW, len(renewed), *renewed, self.ttl_ms, *known)
            complete = await pipe.execute()
        self.keep([name for name, whole in zip(sessions, complete, strict=True) if not whole])
