"""A second process for the quota tests: `python -m tests.redis.admit_many URL N RPM`
sends N concurrent admits to the default session and prints how many were admitted."""

from __future__ import annotations

import asyncio
import sys

from mockserver.config import Deployment, Settings
from mockserver.stores.redis import connect, redis_stores


async def admitted(url: str, count: int, rpm: int) -> int:
    client = connect(url)
    try:
        quota = redis_stores(client, Settings()).quota
        limits = Deployment(tokens_per_minute=10**9, requests_per_minute=rpm)
        refusals = await asyncio.gather(*(quota.admit("o3-mini", limits, 1) for _ in range(count)))
    finally:
        await client.aclose()
    return sum(refusal is None for refusal in refusals)


if __name__ == "__main__":
    url, count, rpm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(asyncio.run(admitted(url, count, rpm)))
