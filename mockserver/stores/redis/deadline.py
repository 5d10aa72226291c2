"""How long a call to Redis may take: past it, the store is down (Azure's 503)."""

from __future__ import annotations

import asyncio

CONNECT_TIMEOUT = 0.5  # seconds; loopback or a LAN answers in far less
# A store call, one retry on a fresh connection included, ends within this: a request
# gets its 503 within 2 s of Redis going away.
CALL_DEADLINE = 1.5


def bounded() -> asyncio.Timeout:
    """The deadline of one Redis call: TimeoutError past it."""
    return asyncio.timeout(CALL_DEADLINE)
