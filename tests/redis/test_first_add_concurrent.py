"""Adds racing the first add of an empty session wait as it does: none answers before
every process forgot that the session had no stubs."""

from __future__ import annotations

import asyncio

import pytest

from mockserver.engines.stubs import Stub
from mockserver.stores.redis import RedisBackend, StoreUnavailableError, connect
from mockserver.stores.redis import stubs as stubs_module
from mockserver.stores.redis.keys import SessionKeys


class Handling:
    """A process's handling of "a first stub was added": each message recorded, then
    handled (and acknowledged); while `held`, not before `release`, so the process keeps
    its note that the session has no stubs and its follower reads no further message."""

    def __init__(self, backend: RedisBackend, held: bool = False) -> None:
        channel = backend.stubless.added
        self.handle = backend.broadcast.handlers[channel]
        backend.broadcast.handlers[channel] = self.handled_later
        self.messages: list[str] = []
        self.released = asyncio.Event()
        if not held:
            self.released.set()

    async def handled_later(self, message: str) -> None:
        self.messages.append(message)
        await self.released.wait()
        await self.handle(message)

    async def heard(self, count: int) -> None:
        while len(self.messages) < count:
            await asyncio.sleep(0.005)


def stub(content: str) -> Stub:
    return Stub.model_validate({"answer": {"content": content}})


async def test_an_add_racing_the_first_waits_for_every_process(
    backends: tuple[RedisBackend, RedisBackend],
) -> None:
    teller, other = backends
    assert not await other.stores("s").stubs.has_stubs()
    assert other.stubless.known_empty("s")
    told = Handling(teller)  # the teller hears its own tells: each add that told
    held = Handling(other, held=True)
    forgotten: list[bool] = []  # at each add's answer: had the other process forgotten?

    def answered(_: object) -> None:
        forgotten.append(not other.stubless.known_empty("s"))

    first = asyncio.create_task(teller.stores("s").stubs.add(stub("first")))
    first.add_done_callback(answered)
    await told.heard(1)  # the first add stored its stub and told
    second = asyncio.create_task(teller.stores("s").stubs.add(stub("second")))
    second.add_done_callback(answered)
    told_again = asyncio.create_task(told.heard(2))
    await asyncio.wait({second, told_again}, return_when=asyncio.FIRST_COMPLETED)
    assert told_again.done() and not second.done()  # it told too, and waits
    assert other.stubless.known_empty("s")
    held.released.set()
    await asyncio.gather(first, second)
    assert forgotten == [True, True]


async def test_once_every_process_heard_the_first_add_later_adds_tell_nothing(
    backends: tuple[RedisBackend, RedisBackend],
) -> None:
    teller, other = backends
    assert not await other.stores("s").stubs.has_stubs()
    handling = Handling(other)
    await teller.stores("s").stubs.add(stub("first"))
    telling = SessionKeys("mockserver", "s").key("stubs", "telling")
    assert not await teller.client.exists(telling)  # deleted once every process heard
    await teller.stores("s").stubs.add(stub("second"))
    await teller.stores("s").stubs.add(stub("third"))
    assert len(handling.messages) == 1  # an add that told would have waited for it


async def test_after_an_unconfirmed_first_add_the_next_adds_tell_too(
    backends: tuple[RedisBackend, RedisBackend], redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stubs_module, "TELLING_MS", 600_000)  # outlives the slowest test run
    teller, _ = backends
    told = Handling(teller)
    client = connect(redis_url)
    silent = client.pubsub()  # a process that never acknowledges
    await silent.subscribe(teller.stubless.added)
    try:
        with pytest.raises(StoreUnavailableError, match="was stored"):
            await teller.stores("s").stubs.add(stub("first"))
    finally:
        await silent.aclose()
        await client.aclose()
    await teller.stores("s").stubs.add(stub("second"))  # some process may not know yet
    assert len(told.messages) == 2
