"""The quota of a session, shared and exact: one script does each turn's steps, on Redis's
clock.

Per deployment: `quota:usage:<name>` (a hash: the minute's start and tokens) and two lists
of arrival times, oldest first: `quota:minute:<name>` (the last minute's) and
`quota:window:<name>` (the last request window's); `quota:deployments` lists the names.
Times are whole microseconds from `redis.call('TIME')`, so every process shares one
clock; a test may pass a clock of its own instead. The rules are the memory ledger's
(mockserver/stores/memory/quota.py), down to its order: each window drops arrivals from
its oldest on while they are at or before the window's start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, NamedTuple

from mockserver.config import Deployment
from mockserver.stores.quota import MINUTE, QuotaSnapshot, Refusal, window_allowance
from mockserver.stores.redis.batched import BatchedScript, grouped
from mockserver.stores.redis.connection import (
    STORE_ERRORS,
    Client,
    guarded,
    raise_as_503,
    text,
    unavailable_as_503,
)
from mockserver.stores.redis.keys import (
    DEPLOYMENTS,
    MINUTE_ARRIVALS,
    PER_DEPLOYMENT,
    USAGE,
    WINDOW_ARRIVALS,
    SessionKeys,
)
from mockserver.stores.redis.pipelined import Arg, HotScript

MICROS = 1_000_000

# KEYS: usage, the minute's arrivals, the window's, deployments. ARGV: deployment, now (µs,
# or '' for TIME), minute (µs), window (µs), then five for each step: 'admit' or
# 'snapshot', tokens per minute, allowance, estimate, enforce ('1'/'0'). The steps of one
# event-loop turn for one deployment come in one call (RedisQuotaLedger.step): each call a
# script makes costs Redis ~1 us over the command, and the reads, drops and pushes are
# made once for all. Integers sent back as text are written with %d: Lua's tostring gives
# 1.7e+15 for a microsecond time. Each step's reply is four values: its refusal (kind and
# wait in µs, '' and '0' when admitted) and the snapshot it leaves, as integers (Redis's
# integer replies: Lua's numbers are doubles, exact for these below 2^53): tokens this
# minute and requests in the last.
# Lists, not a sorted set: a push and a pop are O(1) where the set's insert and removal
# walk a skip list; 700,000 arrivals take 8 MB where the set took 46 (bench/README.md).
STEP = """
local usage, minute_log, window_log, names = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = tonumber(ARGV[2])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local minute, window = tonumber(ARGV[3]), tonumber(ARGV[4])
local function int(x) return string.format('%d', x) end

redis.call('SADD', names, ARGV[1])
local held = redis.call('HMGET', usage, 'start', 'tokens', 'newest', 'disordered')
local start, tokens, newest = tonumber(held[1]), tonumber(held[2] or '0'), tonumber(held[3])
local disordered = held[4] == '1'
if not start or now - start >= minute then
  start, tokens = now, 0
  redis.call('HSET', usage, 'start', int(start), 'tokens', '0')
end

-- In order (every push at or after `newest`: always on Redis's clock), the first arrival
-- after the cut is found by probing indexes 3, 7, 15... past `low` (known at or before it),
-- then halving: a step after 30 s idle on 600,000 arrivals reads about 40, where reading
-- them all took ~150 ms of Redis's one thread. Returns its index (the length when there is
-- none) and its time.
local function first_after(log, cut, low)
  local step, high, at = 1, nil, nil
  while not high do
    local probe = low + step
    local seen = redis.call('LINDEX', log, probe)
    if not seen then
      high = redis.call('LLEN', log)
    elseif tonumber(seen) > cut then
      high, at = probe, tonumber(seen)
    else
      low, step = probe, step * 2
    end
  end
  while high - low > 1 do
    local middle = math.floor((low + high) / 2)
    local seen = tonumber(redis.call('LINDEX', log, middle))
    if seen > cut then high, at = middle, seen else low = middle end
  end
  return high, at
end

-- Out of order (a test clock set back): from the oldest on while at or before the cut,
-- as the memory ledger drops, reading 1, 2, 4... (up to 4,096) at a time.
local function first_after_in_turn(log, cut)
  local dropped, size = 0, 1
  while true do
    local seen = redis.call('LRANGE', log, dropped, dropped + size - 1)
    for i = 1, #seen do
      local at = tonumber(seen[i])
      if at > cut then return dropped, at end
      dropped = dropped + 1
    end
    if #seen < size then return dropped, nil end
    size = math.min(size * 2, 4096)
  end
end

-- Drops the log's arrivals at or before `cut` from its oldest on; the oldest left, or nil.
-- `newest` (the latest arrival pushed) at or before the cut: the whole log goes at once
-- (the first step after an idle minute). Each call a script makes costs Redis ~1 us over
-- the command's own work, so a step under load (one or none to drop) reads the two oldest
-- in one call and cuts in one more.
local function drop_through(log, cut)
  if newest and newest <= cut then
    redis.call('DEL', log)
    return nil
  end
  local two = redis.call('LRANGE', log, 0, 1)
  local first, second = tonumber(two[1]), tonumber(two[2])  -- nil: not there
  if not first or first > cut then return first end
  local dropped, at = 1, second
  if second and second <= cut then
    if disordered then
      dropped, at = first_after_in_turn(log, cut)
    else
      dropped, at = first_after(log, cut, 1)
    end
  end
  if at then redis.call('LTRIM', log, dropped, -1) else redis.call('DEL', log) end
  return at
end
local minute_oldest = drop_through(minute_log, now - minute)
local oldest = drop_through(window_log, now - window)
if disordered and not minute_oldest and not oldest then  -- both empty: in order again
  disordered = false
  redis.call('HDEL', usage, 'disordered')
end

-- The steps, in the order they came, at one `now`: each sees the ones before it, as if
-- each were a script of its own; the pushes and `usage`'s write are made once after.
local in_minute, in_window = redis.call('LLEN', minute_log), nil  -- before this call's
local pushed, was_newest = 0, newest
local replies = {}
for at = 5, #ARGV, 5 do
  local kind, wait = '', '0'
  if ARGV[at] == 'admit' then
    local tpm, allowance, estimate = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]),
      tonumber(ARGV[at + 3])
    local enforce = ARGV[at + 4] == '1'
    if enforce and tokens + estimate <= tpm then
      in_window = in_window or redis.call('LLEN', window_log)
    end
    if enforce and tokens + estimate > tpm then
      kind, wait = 'tokens', int(start + minute - now)
    elseif enforce and in_window + pushed >= allowance then
      -- the window holds an arrival: allowance >= 1 (window_allowance)
      kind, wait = 'requests', int(oldest + window - now)
    else
      tokens, pushed, oldest = tokens + estimate, pushed + 1, oldest or now
    end
  end
  for _, value in ipairs({kind, wait, tokens, in_minute + pushed}) do
    replies[#replies + 1] = value
  end
end
if pushed > 0 then
  -- `newest` may only be too late (the arrivals after it dropped): never too early.
  if was_newest and now < was_newest and not disordered then
    redis.call('HSET', usage, 'disordered', '1')
  end
  newest = math.max(was_newest or now, now)
  redis.call('HSET', usage, 'tokens', int(tokens), 'newest', int(newest))
  local times = {}
  for i = 1, pushed do times[i] = int(now) end
  redis.call('RPUSH', minute_log, unpack(times))
  redis.call('RPUSH', window_log, unpack(times))
end
return replies
"""


def step_reply(replies: list[Any], index: int) -> list[Any]:
    """The `index`-th step's four values of a batch's reply."""
    return replies[4 * index : 4 * index + 4]


def micros(seconds: float) -> int:
    return round(seconds * MICROS)


def seconds(micro: str | int) -> float:
    return int(micro) / MICROS


# The snapshot the last admit of this request (this task's context) left, so the
# x-ratelimit-* headers that follow need no round trip of their own: one less per answer.
LEFT: ContextVar[Left | None] = ContextVar("quota_left", default=None)
FRESH_SECONDS = 0.05  # older than this (a stub's delay), the headers read Redis again


class Left(NamedTuple):
    """Made for every step: a tuple, a third of a frozen dataclass's cost to make."""

    ledger: RedisQuotaLedger
    deployment: str
    at: float  # time.monotonic() when read
    clock: float | None  # the test clock's time then, if a test gives one
    # Tokens this minute, then requests in the last.
    values: list[int]


class RedisQuotaLedger:
    def __init__(
        self,
        client: Client,
        keys: SessionKeys,
        request_window_seconds: float,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.client = client
        self.keys = keys
        self.names = keys.key(*DEPLOYMENTS)
        self.request_window = request_window_seconds
        self.clock = clock  # None: Redis's own clock, the one every process shares
        # Every request's, on the pipelined line; the steps of one turn in one call.
        self.script = BatchedScript(HotScript(client, STEP), step_reply)
        self.groups: dict[str, tuple[Arg, ...]] = {}  # per deployment: they are few
        self.allowances: dict[str, tuple[Deployment, int]] = {}

    async def admit(
        self, deployment: str, limits: Deployment, estimate: int, enforce: bool = True
    ) -> Refusal | None:
        allowance = self.allowance(deployment, limits)
        step: list[Arg] = ["admit", limits.tokens_per_minute, allowance, estimate]
        step.append("1" if enforce else "0")
        clock = None if self.clock is None else self.clock()
        try:  # its one call is a HotScript's, bounded by it
            reply = await self.script(self.group(deployment, clock), step)
        except STORE_ERRORS as error:
            raise_as_503(error)
        kind, wait = self.kept(reply, deployment, clock)
        return Refusal(kind, seconds(wait)) if kind else None

    def allowance(self, deployment: str, limits: Deployment) -> int:
        """`window_allowance`, kept while the deployment's limits are the same object."""
        known = self.allowances.get(deployment)
        if known is not None and known[0] is limits:
            return known[1]
        allowance = window_allowance(limits, self.request_window)
        self.allowances[deployment] = (limits, allowance)
        return allowance

    async def snapshot(self, deployment: str, limits: Deployment) -> QuotaSnapshot:
        left = self.left(deployment) or await self.read_snapshot(deployment)
        LEFT.set(None)  # used once: a later snapshot of this request reads again
        tokens, requests = left.values
        rpm, tpm = limits.effective_requests_per_minute, limits.tokens_per_minute
        return QuotaSnapshot(rpm, tpm, max(0, rpm - requests), max(0, tpm - tokens))

    @unavailable_as_503  # its one call is a HotScript's, bounded by it
    async def read_snapshot(self, deployment: str) -> Left:
        """A step that changes nothing, for the snapshot it leaves (the headers of an
        answer whose admit was long ago, or of none: a stub's delay, a refusal's)."""
        clock = None if self.clock is None else self.clock()
        reply = await self.script(self.group(deployment, clock), ["snapshot", 0, 0, 0, "0"])
        self.kept(reply, deployment, clock)
        left = self.left(deployment)
        assert left is not None, "a step leaves its snapshot"
        return left

    def left(self, deployment: str) -> Left | None:
        """The snapshot this request's last step left, if of this deployment and fresh."""
        left = LEFT.get()
        if left is None or left.ledger is not self or left.deployment != deployment:
            return None
        if time.monotonic() - left.at > FRESH_SECONDS:
            return None
        if self.clock is not None and self.clock() != left.clock:
            return None
        return left

    @guarded
    async def usage(self) -> dict[str, dict[str, int]]:
        names = sorted(map(text, await self.client.smembers(self.names)))
        async with self.client.pipeline(transaction=True) as pipe:
            for name in names:
                pipe.hget(self.key(USAGE, name), "tokens")
                pipe.llen(self.key(MINUTE_ARRIVALS, name))
            counts = await pipe.execute()
        return {
            name: {"tokens_this_minute": int(tokens or 0), "requests_last_minute": int(requests)}
            for name, tokens, requests in zip(names, counts[::2], counts[1::2], strict=True)
        }

    @guarded
    async def reset(self) -> None:
        names = [text(name) for name in await self.client.smembers(self.names)]
        if not names:
            return
        keys = [self.key(parts, name) for name in names for parts in PER_DEPLOYMENT]
        async with self.client.pipeline(transaction=True) as pipe:
            # Only the names read: a deployment first used meanwhile stays listed.
            pipe.delete(*keys)
            pipe.srem(self.names, *names)
            await pipe.execute()

    def kept(self, reply: list[Any], deployment: str, clock: float | None) -> list[Any]:
        """Keep the snapshot a step left (for this request); return its refusal."""
        LEFT.set(Left(self, deployment, time.monotonic(), clock, reply[2:]))
        return reply[:2]

    def group(self, deployment: str, clock: float | None) -> tuple[Arg, ...]:
        """A step's keys and head; on Redis's clock the same for every step of the
        deployment, so made once."""
        known = self.groups.get(deployment) if clock is None else None
        if known is not None:
            return known
        keys = [self.key(parts, deployment) for parts in (USAGE, MINUTE_ARRIVALS, WINDOW_ARRIVALS)]
        keys.append(self.names)
        now = "" if clock is None else micros(clock)
        group = grouped(keys, [deployment, now, micros(MINUTE), micros(self.request_window)])
        if clock is None:
            self.groups[deployment] = group
        return group

    def key(self, parts: tuple[str, ...], deployment: str) -> str:
        return self.keys.key(*parts, deployment)
