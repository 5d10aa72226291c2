"""Each process knows which sessions have no stubs, and forgets it before an add answers
anywhere: no round trip for "any stubs?" while there are none, never a stub missed."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from mockserver import MockServer
from mockserver.engines.stubs import Stub
from mockserver.stores.redis import RedisBackend, StoreUnavailableError, connect
from tests.redis.conftest import started
from tests.redis.server import ValkeyProcess, running_valkey
from tests.redis.test_settings_store import eventually, subscribers
from tests.redis.test_two_servers import API_VERSION, CHAT, HELLO
from tests.support import rawhttp
from tests.support.cli import running
from tests.support.waiting import POLL_BOUND_SECONDS

STUB = Stub.model_validate({"answer": {"content": "x"}})


async def test_none_known_until_an_add_is_told(
    backends: tuple[RedisBackend, RedisBackend],
) -> None:
    first, second = backends
    assert not await second.stores("s").stubs.has_stubs()
    assert second.stubless.known_empty("s")
    await first.stores("s").stubs.add(STUB.model_copy())
    assert not second.stubless.known_empty("s")  # forgotten before the add answered
    assert await second.stores("s").stubs.has_stubs()
    await first.stores("s").stubs.add(Stub.model_validate({"answer": {"content": "y"}}))
    assert await second.stores("s").stubs.has_stubs()


async def test_a_silent_subscriber_makes_the_first_add_a_503(
    backends: tuple[RedisBackend, RedisBackend], redis_url: str
) -> None:
    first, _ = backends
    silent = connect(redis_url).pubsub()
    await silent.subscribe(first.stubless.added)
    try:
        with pytest.raises(StoreUnavailableError):
            await first.stores("t").stubs.add(STUB.model_copy())
    finally:
        await silent.aclose()
    assert await first.stores("t").stubs.has_stubs()  # stored all the same


@pytest.fixture
def valkey() -> Iterator[ValkeyProcess]:
    with running_valkey() as server:
        yield server


async def test_nothing_is_known_while_the_subscription_is_lost(valkey: ValkeyProcess) -> None:
    first, second = await started(valkey.url), await started(valkey.url)
    try:
        assert not await second.stores("s").stubs.has_stubs()
        valkey.kill()
        await eventually(lambda: not second.broadcast.following)
        assert not second.stubless.known_empty("s")
        valkey.start()
        channel = first.stubless.added
        await eventually(lambda: subscribers(valkey, channel) == 2)
        assert not await second.stores("s").stubs.has_stubs()
        await first.stores("s").stubs.add(STUB.model_copy())
        assert await second.stores("s").stubs.has_stubs()
    finally:
        await first.close()
        await second.close()


def ask(url: str) -> rawhttp.RawResponse:
    """A chat completion on a new connection (SO_REUSEPORT picks the worker)."""
    path = f"{CHAT}?api-version={API_VERSION}"
    return rawhttp.request(url + path, body=HELLO, headers={"api-key": "k"})


def test_workers_that_knew_of_no_stub_answer_with_the_one_just_added(redis_url: str) -> None:
    with running("--workers", "2", "--state", redis_url) as cli:
        try:
            workers: set[str] = set()
            deadline = time.monotonic() + POLL_BOUND_SECONDS  # a worker may start late
            while len(workers) < 2 and time.monotonic() < deadline:  # each knows of no stub
                workers.add(ask(cli.url).headers["azureml-model-session"])
            MockServer.attach(cli.url).stub(answer={"content": "just added"})
            answers = [ask(cli.url) for _ in range(20)]
        finally:
            stopped = cli.stop()
    assert stopped == 0 and len(workers) == 2
    assert len({answer.headers["azureml-model-session"] for answer in answers}) == 2
    contents = {answer.json()["choices"][0]["message"]["content"] for answer in answers}
    assert contents == {"just added"}
