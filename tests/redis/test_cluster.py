"""Two mock servers on a three-node Redis Cluster are one mock, as on one Redis: the URL
of any node is enough (the server finds it is a cluster node and uses a cluster client)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis.asyncio.cluster import RedisCluster

from mockserver import MockServer
from mockserver.config import Settings
from mockserver.stores.redis import RedisBackend, StoreUnavailableError, open_client
from mockserver.stores.redis.keys import SessionKeys
from tests.redis.cluster import cluster_url, redis_cluster
from tests.redis.conftest import two_servers
from tests.redis.test_settings_store import Follower, losses_over_a_quiet_spell
from tests.redis.test_shared_settings import content
from tests.redis.test_two_servers import QUOTA, chat

__all__ = ["cluster_url", "redis_cluster"]


@pytest.fixture
def servers(cluster_url: str) -> Iterator[tuple[MockServer, MockServer]]:
    with two_servers(cluster_url, deployments=QUOTA) as pair:
        yield pair


async def test_a_node_url_gives_a_cluster_client(cluster_url: str) -> None:
    client = await open_client(cluster_url)
    try:
        assert isinstance(client, RedisCluster)
        slots = {client.keyslot(SessionKeys("p", f"s{n}").key("stubs", "defs")) for n in range(50)}
        assert len(slots) > 10  # sessions spread over the nodes
    finally:
        await client.aclose()


def test_stubs_sessions_and_quota_cross_on_a_cluster(
    servers: tuple[MockServer, MockServer],
) -> None:
    first, second = servers
    for session in ("alpha", "beta", "gamma"):  # most likely on different nodes
        first.session(session).stub(answer={"content": session}, times=1)
    for session in ("alpha", "beta", "gamma"):
        reply = chat(second, **{"x-mock-session": session}).json()
        assert reply["choices"][0]["message"]["content"] == session
        assert len(first.session(session).requests) == 1
    statuses = [chat(server).status_code for server in (first, second, first)]
    assert statuses == [200, 200, 429]
    first.session("alpha").reset()
    assert second.session("alpha").requests == []


def test_settings_patched_on_one_answer_on_the_other_on_a_cluster(
    servers: tuple[MockServer, MockServer],
) -> None:
    first, second = servers
    for seed in (3, 4):
        first.configure(seed=seed)
        assert second.current_settings()["seed"] == seed


async def test_idle_sessions_expire_on_a_cluster(cluster_url: str) -> None:
    client = await open_client(cluster_url)
    backend = RedisBackend(client, Settings(state_session_ttl_seconds=100))
    try:
        for session in ("alpha", "beta", "gamma"):
            await backend.stores(session).scenarios.set("s", "x")
        await backend.expiry.sweep()
        for session in ("alpha", "beta", "gamma"):
            key = SessionKeys("mockserver", session).key("scenarios")
            assert 0 < await client.pttl(key) <= 100_000
    finally:
        await backend.close()


def test_seeded_replies_agree_across_a_cluster(servers: tuple[MockServer, MockServer]) -> None:
    first, second = servers
    first.configure(seed=42)
    assert content(first, "same words") == content(second, "same words")


async def test_settings_are_applied_by_every_follower_on_a_cluster(cluster_url: str) -> None:
    followers = [Follower(cluster_url, cluster=True) for _ in range(3)]
    for follower in followers:
        await follower.start()
    try:
        for seed in range(10):
            await followers[seed % 3].shared.share({"seed": seed})
            assert [f.current.get("seed") for f in followers] == [seed] * 3
        # The count PUBLISH gives is the node's: a silent subscriber there is waited for.
        cluster = followers[0].client
        assert isinstance(cluster, RedisCluster)
        node = cluster.get_node_from_key(followers[0].broadcast.anchor)
        silent = cluster.pubsub(node=node)
        await silent.subscribe(followers[0].shared.changed)
        with pytest.raises(StoreUnavailableError):
            await followers[0].shared.share({"seed": 99})
        await silent.aclose()
    finally:
        for follower in followers:
            await follower.close()


async def test_an_idle_subscription_keeps_on_a_cluster(cluster_url: str) -> None:
    follower = Follower(cluster_url, cluster=True)
    await follower.start()
    try:
        assert await losses_over_a_quiet_spell(follower) == 0
    finally:
        await follower.close()
