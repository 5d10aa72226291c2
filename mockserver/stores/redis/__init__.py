"""The stores on Redis (or Valkey): state shared by every process and machine using the
same server and key prefix (#18). Imported only for `--state redis://...`."""

from mockserver.stores.redis.connection import (
    StoreConnectError,
    StoreUnavailableError,
    close,
    connect,
    healthy,
    open_client,
    redacted,
)
from mockserver.stores.redis.session import DEFAULT_PREFIX, RedisBackend, redis_stores

__all__ = [
    "DEFAULT_PREFIX",
    "RedisBackend",
    "StoreConnectError",
    "StoreUnavailableError",
    "close",
    "connect",
    "healthy",
    "open_client",
    "redacted",
    "redis_stores",
]
