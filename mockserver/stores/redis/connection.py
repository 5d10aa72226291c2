"""The connection to Redis: one client per server process, with deadlines, and the
replies that mean "the store is down" turned into Azure's 503.

Every store call is `guarded`: it answers, or fails within CALL_DEADLINE with
StoreUnavailableError (an AzureError, so the middleware sends it as it is). That one
deadline is the only timer of a call: redis-py's own per-command timeouts (a task for
each send, a timer for each read and for each wait on the pool) are left off, as they
cost more CPU than the rest of a request's store call; a call outside `guarded` (the
pub/sub follower, the expiry sweeper) is bounded with `bounded`. The client reconnects by
itself once Redis is back, and reloads a script Redis forgot on a restart (redis-py's
Script does, on NOSCRIPT). The calls every request makes go on a pipelined line beside
the client's pool instead (pipelined.py), which keeps the same deadline on its own.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn, ParamSpec, TypeAlias, TypeVar
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import (
    ClusterError,
    ReadOnlyError,
    RedisClusterUnreachableError,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from mockserver.contract.errors import AzureError, catalogue_error
from mockserver.stores.redis.deadline import CALL_DEADLINE as CALL_DEADLINE
from mockserver.stores.redis.deadline import CONNECT_TIMEOUT as CONNECT_TIMEOUT
from mockserver.stores.redis.deadline import bounded as bounded
from mockserver.stores.redis.pipelined import with_line
from mockserver.stores.sessions import StoreConnectError as StoreConnectError

P = ParamSpec("P")
T = TypeVar("T")
# One server (or a proxy in front of many), or a Redis Cluster: found out on connecting.
Client: TypeAlias = Redis | RedisCluster

MAX_CONNECTIONS = 128  # per process; Redis serves 10,000 clients by default
# Errors Redis sends while it cannot serve (loading its data, a replica after failover,
# a disk it cannot write): the store is down, not our command wrong.
UNAVAILABLE_REPLIES = (
    "LOADING",
    "MISCONF",
    "READONLY",
    "MASTERDOWN",
    "CLUSTERDOWN",
    "TRYAGAIN",
    "NOREPLICAS",
)
UNREACHABLE = (
    RedisConnectionError,
    RedisTimeoutError,
    TimeoutError,
    OSError,
    # A cluster with no node for a slot, or none it can reach: down for now too.
    ClusterError,
    SlotNotCoveredError,
    RedisClusterUnreachableError,
    # READONLY and TRYAGAIN replies as redis-py raises them: their code cut from the
    # message, so UNAVAILABLE_REPLIES cannot match them.
    ReadOnlyError,
    TryAgainError,
)


class StoreUnavailableError(AzureError):
    """The shared store did not answer in time: Azure's 503, retried by clients as theirs."""


def store_unavailable() -> StoreUnavailableError:
    error = catalogue_error("service_unavailable")
    headers = {"retry-after": "1", "retry-after-ms": "1000"}
    return StoreUnavailableError(error.status, error.body, error.content_type, headers, error.name)


def guarded(method: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """The store call within CALL_DEADLINE; Redis unreachable or not serving → 503."""

    async def within(*args: P.args, **kwargs: P.kwargs) -> T:
        async with bounded():
            return await method(*args, **kwargs)

    return unavailable_as_503(functools.wraps(method)(within))


def unavailable_as_503(method: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Redis unreachable or not serving → 503. Alone, for calls that keep the deadline
    themselves (HotScript's): no timer of its own."""

    @functools.wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except STORE_ERRORS as error:
            raise_as_503(error)

    return call


# What a store call can raise that `raise_as_503` reads.
STORE_ERRORS = (*UNREACHABLE, ResponseError)


def raise_as_503(error: BaseException) -> NoReturn:
    """`unavailable_as_503`'s rule, for the calls every request makes, which catch
    STORE_ERRORS themselves (no coroutine layer of the decorator's on every request's
    path): 503 for a store down, any other error as it is (a command of ours Redis
    refused: a bug, answered as a 500 and logged)."""
    if isinstance(error, UNREACHABLE):
        raise store_unavailable() from error
    if isinstance(error, ResponseError) and str(error).startswith(UNAVAILABLE_REPLIES):
        raise store_unavailable() from error
    raise error


def text(reply: str | bytes) -> str:
    """A reply as str: the client decodes replies (decode_responses), which its types
    cannot know."""
    return reply if isinstance(reply, str) else reply.decode()


def connection_options() -> dict[str, Any]:
    return {
        "decode_responses": True,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        # No timeout per command: the call's deadline (guarded, bounded) ends it, and
        # redis-py drops a connection whose command was cancelled mid-way.
        "socket_timeout": None,
        # The OS probes idle connections too (the subscription pings on its own, see
        # broadcast.py): a peer gone without a word is found rather than waited on.
        "socket_keepalive": True,
        # One retry on a fresh connection: a pooled connection Redis closed (a restart)
        # is replaced without failing the call.
        "retry": Retry(ExponentialWithJitterBackoff(cap=0.2, base=0.02), 1),
        "client_name": "mockserver",
    }


def connect(url: str) -> Redis:
    """A client for `url` (redis://, rediss://, unix://); it connects on first use."""
    options = connection_options()
    if urlsplit(url).scheme == "unix":  # keepalive is TCP's: a Unix socket's refuses it
        del options["socket_keepalive"]
    pool = BlockingConnectionPool.from_url(
        url,
        # Requests beyond the pool wait for a connection (within the call's deadline,
        # no timer of the pool's own) rather than fail at once, as redis-py's default
        # pool does past 100.
        max_connections=MAX_CONNECTIONS,
        timeout=None,
        **options,
    )
    return with_line(pool)


def connect_cluster(url: str) -> RedisCluster:
    """A Redis Cluster client for `url`, one node of it: it finds the others and which
    node holds which slot (each session's keys share one slot, see keys.py)."""
    return RedisCluster.from_url(url, max_connections=MAX_CONNECTIONS, **connection_options())


async def open_client(url: str) -> Client:
    """A client that has answered PING, for a cluster if the server is a node of one;
    StoreConnectError naming the URL otherwise."""
    client = connect(url)
    if not await healthy(client):
        await client.aclose()
        raise StoreConnectError(f"cannot reach Redis at {redacted(url)}")
    clustered = await in_cluster(client)
    if not clustered:
        return client
    await client.aclose()
    cluster = connect_cluster(url)
    if not await healthy(cluster):
        await cluster.aclose()
        raise StoreConnectError(f"cannot reach the Redis Cluster at {redacted(url)}")
    return cluster


async def in_cluster(client: Redis) -> bool:
    """Whether the server is a node of a Redis Cluster (`cluster_enabled:1`)."""
    try:
        async with bounded():
            info = await client.info("cluster")
    except ResponseError:  # a server or proxy without the section
        return False
    return bool(int(info.get("cluster_enabled", 0)))


async def healthy(client: Client) -> bool:
    """Whether Redis answers PING within the call deadline (for /__admin/health)."""
    try:
        async with bounded():
            return bool(await client.ping())
    except (*UNREACHABLE, ResponseError):
        return False


async def close(client: Client) -> None:
    await client.aclose()


def redacted(url: str) -> str:
    """The URL as it may be printed: a password replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
