"""What one process tells the others (the first stub of a session, a settings change)
reaches every process before the admin call answers: with hundreds of tells in flight,
and after a subscription was dropped without a word."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import aiohttp
import pytest

from mockserver import MockServer
from mockserver.stores.redis import broadcast, deadline, stubs
from tests.redis.server import redis_server
from tests.redis.silent_proxy import SilentProxy
from tests.redis.test_two_servers import chat

__all__ = ["redis_server"]

STUB = {"answer": {"content": "FROM THE STUB"}}
BURST = 600  # first adds at once, each in a session of its own; more than any fixed window
RECOVERY_SECONDS = 30.0
SLOW_MACHINE_ACK_SECONDS = 30.0  # a bound on waiting for the silent process to notice, not a target


async def first_adds(servers: tuple[MockServer, MockServer], count: int) -> Counter[int]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def add(index: int) -> int:
            url = servers[index % 2].url + "/__admin/stubs"
            headers = {"x-mock-session": f"burst-{index}"}
            async with client.post(url, json=STUB, headers=headers) as answer:
                return answer.status

        return Counter(await asyncio.gather(*(add(index) for index in range(count))))


def test_hundreds_of_first_adds_at_once_all_answer_201(
    servers: tuple[MockServer, MockServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An acknowledgement lost is never made up for, whatever the wait; a slow machine (the
    # suite's load) only needs longer than the 1.5 s a hung process is given. The same for
    # the store call of each add: 600 at once through the client's pool, on two loaded
    # cores, took longer than 1.5 s for a few of them in one CI run (their 503 is the
    # deadline working, not a lost tell, which is what this test is about).
    monkeypatch.setattr(deadline, "CALL_DEADLINE", SLOW_MACHINE_ACK_SECONDS)
    monkeypatch.setattr(broadcast, "ACK_DEADLINE", SLOW_MACHINE_ACK_SECONDS)
    monkeypatch.setattr(stubs, "TELL_DEADLINE", SLOW_MACHINE_ACK_SECONDS + 1.0)
    assert asyncio.run(first_adds(servers, BURST)) == Counter({201: BURST})
    for index in (0, 1, BURST - 1):  # and each is seen by the other process at once
        other = servers[(index + 1) % 2]
        assert content(other, f"burst-{index}") == "FROM THE STUB"


def content(server: MockServer, session: str) -> str:
    answer = chat(server, "hello", **{"x-mock-session": session})
    text: str = answer.json()["choices"][0]["message"]["content"]
    return text


def test_a_silently_dropped_subscription_is_noticed_and_renewed(redis_url: str) -> None:
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    with (
        SilentProxy(port).running() as proxy,
        MockServer(state=f"redis://127.0.0.1:{proxy.port}/0") as behind,
        MockServer(state=redis_url) as direct,
    ):
        assert content(behind, "s1") != "FROM THE STUB"  # noted: no stubs in s1
        assert proxy.cut_subscriptions() == 1
        direct.session("s1").stub(STUB)  # answered 201: Redis counts `behind` no more
        direct.configure(seed=77)
        deadline = time.monotonic() + RECOVERY_SECONDS
        while time.monotonic() < deadline and not caught_up(behind):
            time.sleep(0.2)
        assert content(behind, "s1") == "FROM THE STUB"
        assert behind.current_settings()["seed"] == 77  # reloaded on subscribing again


def caught_up(server: MockServer) -> bool:
    """The stub and the settings told while `server` was not listening are known to it."""
    stubbed = content(server, "s1") == "FROM THE STUB"
    return stubbed and server.current_settings()["seed"] == 77
