"""Fixtures for the Redis stores: a real valkey-server (tests/redis/server.py), two
independent clients on it, as two server processes would have, and two servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from redis.asyncio import Redis

from mockserver import MockServer
from mockserver.config import Settings
from mockserver.stores.redis import RedisBackend, connect, redis_stores
from mockserver.stores.stores import Stores
from tests.redis.server import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[tuple[Redis, Redis]]:
    """Two clients with pools of their own: two processes of one mock."""
    first, second = connect(redis_url), connect(redis_url)
    yield first, second
    await first.aclose()
    await second.aclose()


@pytest.fixture
def two_processes(clients: tuple[Redis, Redis]) -> tuple[Stores, Stores]:
    """The default session's stores as two processes see them."""
    first, second = clients
    return redis_stores(first, Settings()), redis_stores(second, Settings())


@contextmanager
def two_servers(url: str, **settings: Any) -> Iterator[tuple[MockServer, MockServer]]:
    """Two servers sharing the store at `url`: two machines of one mock."""
    with (
        MockServer(state=url, **settings) as first,
        MockServer(state=url, **settings) as second,
    ):
        yield first, second


@pytest.fixture
def servers(redis_url: str) -> Iterator[tuple[MockServer, MockServer]]:
    with two_servers(redis_url) as pair:
        yield pair


@pytest.fixture
async def backends(redis_url: str) -> AsyncIterator[tuple[RedisBackend, RedisBackend]]:
    """Two started backends on one Redis: two processes' shared state, followers running."""
    first, second = await started(redis_url), await started(redis_url)
    yield first, second
    await first.close()
    await second.close()


async def started(url: str) -> RedisBackend:
    backend = RedisBackend(connect(url), Settings())
    await backend.start(no_settings)
    return backend


def no_settings(changes: dict[str, Any]) -> None:
    pass
