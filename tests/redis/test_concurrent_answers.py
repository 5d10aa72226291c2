"""Many requests at once on Redis state, through the openai SDK: the quota steps and the
journal entries a process takes in one event-loop turn go to Redis in one call each
(stores/redis/batched.py), and each request still gets what it would have got alone."""

from __future__ import annotations

import asyncio

import openai

from mockserver import MockServer
from tests.support.clients import async_azure_client

QUOTA = {"o3-mini": {"requests_per_minute": 60, "enforce_quota": True}}  # 10 a 10 s window
REQUESTS = 30


async def ask(client: openai.AsyncAzureOpenAI) -> tuple[int, str | None]:
    """The status of one chat, and its x-ratelimit-remaining-requests when admitted."""
    try:
        answer = await client.chat.completions.with_raw_response.create(
            model="o3-mini", messages=[{"role": "user", "content": "hello"}]
        )
    except openai.RateLimitError as refused:
        return refused.status_code, None
    return answer.status_code, answer.headers["x-ratelimit-remaining-requests"]


def test_requests_at_once_are_admitted_counted_and_journaled_one_by_one(
    redis_url: str,
) -> None:
    with MockServer(state=redis_url, deployments=QUOTA) as server:

        async def all_at_once() -> list[tuple[int, str | None]]:
            async with async_azure_client(server, max_retries=0) as client:
                return await asyncio.gather(*(ask(client) for _ in range(REQUESTS)))

        outcomes = asyncio.run(all_at_once())
        admitted = [remaining for status, remaining in outcomes if status == 200]
        assert sorted(status for status, _ in outcomes) == [200] * 10 + [429] * 20
        # Each admitted answer's headers count the ones admitted before it: 59 down to 50.
        assert sorted(int(remaining or -1) for remaining in admitted) == list(range(50, 60))
        journal = server.requests
        assert sorted(entry.status for entry in journal) == [200] * 10 + [429] * 20
        assert len({entry.id for entry in journal}) == REQUESTS
