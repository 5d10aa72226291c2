"""The stubs of a session, shared by every process serving it.

Matching runs here in Python (regexes, JSON schemas), so a take is optimistic: read the
stubs and scenario states in one transaction, pick the stub as the memory store would,
then claim it with a script that first checks that nothing the choice depended on has
changed (no stub added, replaced or removed; the `answered` of each matching stub with
`times` ranked at or above it; the state of each scenario those stubs require). The
claim counts the answer and moves the scenario in the same step; a claim that finds a
change reads again. Two processes never both take a stub's last use, and takes that
depend on nothing in common (stubs without `times` or scenarios) never conflict.

Keys: `stubs:defs` (id -> JSON, `answered` left out), `stubs:answered` (id -> count),
`stubs:listed` (id scored by first add: the listing order), `stubs:latest` (id -> last
add: the rank among equal priorities), `stubs:meta` (`seq`; `generation`, moved by every
add, replace and remove), and the scenario store's hash.

Each process notes the sessions Redis said have no stubs (stubless.py), so the add that
finds a session empty tells every process and answers once all acknowledged. Until then a
short-lived `stubs:telling` key (deleted once all heard, else it expires) makes any other
add of the session tell and wait too, so no add answers while a process may still answer
without its stub; other adds cost one round trip. If not every process confirms in time,
the stub is stored all the same: the 503 says so, with its id.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
from dataclasses import dataclass, field

from mockserver.contract.errors import catalogue_error
from mockserver.engines.matching import RequestView
from mockserver.engines.stubs import Stub
from mockserver.stores.redis.broadcast import ACK_DEADLINE
from mockserver.stores.redis.connection import (
    CALL_DEADLINE,
    UNREACHABLE,
    Client,
    StoreUnavailableError,
    bounded,
    guarded,
    store_unavailable,
    unavailable_as_503,
)
from mockserver.stores.redis.keys import SessionKeys
from mockserver.stores.redis.pipelined import HotScript
from mockserver.stores.redis.stubless import StublessSessions
from mockserver.stores.scenarios import STARTED

# A claim that lost a race reads again; this many in a row means Redis is swamped.
MAX_ATTEMPTS = 200

# KEYS: defs, answered, listed, latest, meta, scenarios, telling. ARGV: id, JSON, answered,
# starts ('1'/'0'), scenario, Started, tells ('1'/'0'), token, telling ms.
# Returns {seq, SET_TELLING if the session had no stub, TELLING if an add that found it
# empty may still be telling every process, else 0}: an add whose stub some process may
# not know of yet waits as the first add does.
ADD = """
local tells = redis.call('EXISTS', KEYS[1]) == 0 and 2 or 0
if ARGV[7] == '1' then
  if tells == 2 then redis.call('SET', KEYS[7], ARGV[8], 'PX', ARGV[9])
  elseif redis.call('EXISTS', KEYS[7]) == 1 then tells = 1 end
end
local seq = redis.call('HINCRBY', KEYS[5], 'seq', 1)
redis.call('HINCRBY', KEYS[5], 'generation', 1)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], 'NX', seq, ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], seq)
if ARGV[4] == '1' then redis.call('HSETNX', KEYS[6], ARGV[5], ARGV[6]) end
return {seq, tells}
"""
SET_TELLING = 2  # this add set the `telling` key: it deletes it once every process heard
# The `telling` key outlives the first add's tell (its deadline) by far, and goes by
# itself if that add's process dies before it deletes it.
TELLING_MS = 5000
# Publishing (a call), then waiting for the acknowledgements: the broadcast's own deadline
# ends the wait first (and logs who did not answer).
TELL_DEADLINE = CALL_DEADLINE + ACK_DEADLINE

# Deletes the `telling` key if it is still this add's (a later first add, after a clear,
# sets its own).
TOLD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""

REMOVE = """
local existed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
if existed == 1 then redis.call('HINCRBY', KEYS[5], 'generation', 1) end
return existed
"""

# ARGV: generation, id, moves ('1'/'0'), scenario, new state, Started, the number of
# answered checks, then (id, answered) pairs, then (scenario, state) pairs.
CLAIM = """
if (redis.call('HGET', KEYS[1], 'generation') or '0') ~= ARGV[1] then return false end
local i, checks = 8, tonumber(ARGV[7])
for _ = 1, checks do
  if (redis.call('HGET', KEYS[2], ARGV[i]) or '0') ~= ARGV[i + 1] then return false end
  i = i + 2
end
while i <= #ARGV do
  if (redis.call('HGET', KEYS[3], ARGV[i]) or ARGV[6]) ~= ARGV[i + 1] then return false end
  i = i + 2
end
local answered = redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
if ARGV[3] == '1' then redis.call('HSET', KEYS[3], ARGV[4], ARGV[5]) end
return answered
"""


def stored_unconfirmed(stub_id: str) -> StoreUnavailableError:
    """The 503 of an add whose stub is stored but not confirmed known by every process:
    Azure's envelope, saying so, without the retry-after that invites adding it twice."""
    error = catalogue_error("stub_stored_unconfirmed", stub_id=stub_id)
    return StoreUnavailableError(error.status, error.body, error.content_type, name=error.name)


@functools.lru_cache(maxsize=4096)
def parsed(raw: str) -> Stub:
    """A stored stub's definition, parsed once per process (copied before it is handed out)."""
    return Stub.model_validate_json(raw)


def stored(raw: str, answered: int) -> Stub:
    return parsed(raw).model_copy(update={"answered": answered})


@dataclass
class Claim:
    """The stub chosen, and what the choice read: it stands only if these are unchanged."""

    stub: Stub
    answered: dict[str, int] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)


@dataclass
class Snapshot:
    """The stubs and scenario states as one transaction read them."""

    generation: str
    stubs: list[Stub]
    latest: dict[str, int]
    states: dict[str, str]

    def state(self, scenario: str) -> str:
        return self.states.get(scenario, STARTED)

    def ready(self, stub: Stub) -> bool:
        """Not used up, and its scenario (if any) in the state it requires."""
        if stub.exhausted():
            return False
        if stub.scenario is None or stub.required_state is None:
            return True
        return self.state(stub.scenario) == stub.required_state

    def choose(self, request: RequestView) -> Claim | None:
        """The stub the memory store would take, and what that choice depends on."""
        answered: dict[str, int] = {}
        states: dict[str, str] = {}
        for stub in sorted(self.stubs, key=lambda s: (s.priority, -self.latest.get(s.id, 0))):
            if not stub.match.matches(request):
                continue  # whatever its count or scenario, it could not have answered
            if stub.times is not None:
                answered[stub.id] = stub.answered
            if stub.scenario is not None and stub.required_state is not None:
                states[stub.scenario] = self.state(stub.scenario)
            if self.ready(stub):
                return Claim(stub, answered, states)
        return None


class RedisStubStore:
    def __init__(
        self, client: Client, keys: SessionKeys, stubless: StublessSessions | None = None
    ) -> None:
        self.client = client
        self.session = keys.session
        # Sessions this process knows have no stubs (none: Redis is asked each time).
        self.stubless = stubless
        self.defs = keys.key("stubs", "defs")
        self.answered = keys.key("stubs", "answered")
        self.listed = keys.key("stubs", "listed")
        self.latest = keys.key("stubs", "latest")
        self.meta = keys.key("stubs", "meta")
        self.scenarios = keys.key("scenarios")
        self.telling = keys.key("stubs", "telling")  # an add that found no stub is telling
        self.add_script = client.register_script(ADD)
        self.told_script = client.register_script(TOLD)
        self.remove_script = client.register_script(REMOVE)
        self.claim_script = HotScript(client, CLAIM)  # each answer of a stub

    async def add(self, stub: Stub) -> Stub:
        """Store the stub; if some process may hold a "no stubs" note for the session,
        answer once every process forgot it (a 503 saying the stub is stored otherwise)."""
        token = secrets.token_hex(8)
        tells = await self.store(stub, token)
        if tells and self.stubless is not None:
            await self.tell_added(self.stubless, stub.id)
            if tells == SET_TELLING:
                await self.done_telling(token)
        return stub

    @guarded
    async def store(self, stub: Stub, token: str) -> int:
        raw = stub.model_dump_json(exclude={"answered"})
        starts = "0" if stub.scenario is None else "1"
        tells = "0" if self.stubless is None else "1"
        keys = [self.defs, self.answered, self.listed, self.latest, self.meta, self.scenarios]
        args: list[str | int] = [stub.id, raw, stub.answered, starts, stub.scenario or "", STARTED]
        args += [tells, token, TELLING_MS]
        _, told = await self.add_script(keys=[*keys, self.telling], args=args)
        return int(told)

    async def tell_added(self, stubless: StublessSessions, stub_id: str) -> None:
        try:
            await self.tell_every_process(stubless)
        except StoreUnavailableError as error:
            raise stored_unconfirmed(stub_id) from error

    @unavailable_as_503
    async def tell_every_process(self, stubless: StublessSessions) -> None:
        async with asyncio.timeout(TELL_DEADLINE):
            await stubless.tell_added(self.session)  # every process asks again

    async def done_telling(self, token: str) -> None:
        """Later adds need not tell; if Redis does not answer, the key expires by itself."""
        with contextlib.suppress(*UNREACHABLE):
            async with bounded():
                await self.told_script(keys=[self.telling], args=[token])

    @guarded
    async def get(self, stub_id: str) -> Stub | None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hget(self.defs, stub_id)
            pipe.hget(self.answered, stub_id)
            raw, answered = await pipe.execute()
        return None if raw is None else stored(raw, int(answered or 0))

    @guarded
    async def remove(self, stub_id: str) -> bool:
        keys = [self.defs, self.answered, self.listed, self.latest, self.meta]
        return bool(await self.remove_script(keys=keys, args=[stub_id]))

    @guarded
    async def all(self) -> list[Stub]:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.zrange(self.listed, 0, -1)
            pipe.hgetall(self.defs)
            pipe.hgetall(self.answered)
            order, defs, answered = await pipe.execute()
        return [stored(defs[i], int(answered.get(i, 0))) for i in order if i in defs]

    async def has_stubs(self) -> bool:
        stubless = self.stubless
        if stubless is not None and stubless.known_empty(self.session):
            return False  # no round trip (and no deadline): an add would have been told first
        return await self.asked_has_stubs(stubless)

    @guarded
    async def asked_has_stubs(self, stubless: StublessSessions | None) -> bool:
        if stubless is None:
            return bool(await self.client.exists(self.defs))
        epoch = stubless.epoch
        found = bool(await self.client.exists(self.defs))
        if not found:
            stubless.note_empty(self.session, epoch)
        return found

    @guarded
    async def take(self, request: RequestView) -> Stub | None:
        for _ in range(MAX_ATTEMPTS):
            snapshot = await self.snapshot()
            claim = snapshot.choose(request)
            if claim is None:
                return None  # as of the snapshot: no stub answers
            taken = await self.claim(snapshot.generation, claim)
            if taken is not None:
                return taken
        raise store_unavailable()

    @guarded
    async def take_by_id(self, stub_id: str) -> Stub | None:
        for _ in range(MAX_ATTEMPTS):
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hget(self.meta, "generation")
                pipe.hget(self.defs, stub_id)
                pipe.hget(self.answered, stub_id)
                generation, raw, answered = await pipe.execute()
            if raw is None:
                return None
            claim = Claim(stored(raw, int(answered or 0)))
            taken = await self.claim(generation or "0", claim)
            if taken is not None:
                return taken
        raise store_unavailable()

    @guarded
    async def would_answer(self, request: RequestView) -> bool:
        snapshot = await self.snapshot()
        return any(snapshot.ready(s) and s.match.matches(request) for s in snapshot.stubs)

    @guarded
    async def clear(self) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(self.defs, self.answered, self.listed, self.latest)
            pipe.hincrby(self.meta, "generation", 1)
            await pipe.execute()

    async def snapshot(self) -> Snapshot:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hget(self.meta, "generation")
            for key in (self.defs, self.answered, self.latest, self.scenarios):
                pipe.hgetall(key)
            generation, defs, answered, latest, states = await pipe.execute()
        stubs = [stored(raw, int(answered.get(i, 0))) for i, raw in defs.items()]
        order = {stub_id: int(seq) for stub_id, seq in latest.items()}
        return Snapshot(generation or "0", stubs, order, states)

    async def claim(self, generation: str, claim: Claim) -> Stub | None:
        """Count the answer and move the scenario, if what the choice read still holds."""
        stub = claim.stub
        moves = stub.scenario is not None and stub.new_state is not None
        args: list[str | int] = [generation, stub.id, "1" if moves else "0"]
        args += [stub.scenario or "", stub.new_state or "", STARTED, len(claim.answered)]
        for stub_id, count in claim.answered.items():
            args += [stub_id, count]
        for scenario, state in claim.states.items():
            args += [scenario, state]
        keys = [self.meta, self.answered, self.scenarios, self.defs]
        answered = await self.claim_script(keys=keys, args=args)
        return None if answered is None else stub.model_copy(update={"answered": int(answered)})
