"""An answered request is freed when its answer is made, by reference counting: nothing of
it is left for the cyclic garbage collector, which otherwise walked every request's
objects again and again (a `_Request` and the engines' `Asked` referred to each other)."""

from __future__ import annotations

import gc

import pytest

from mockserver.testing.server import MockServer
from tests.http.helpers import BODY
from tests.support.rawhttp import post_chat

REQUESTS = 20


def pipeline_requests() -> int:
    """How many of the pipeline's per-request objects are alive now."""
    return sum(1 for kept in gc.get_objects() if type(kept).__qualname__ == "_Request")


@pytest.mark.parametrize("lane", [True, False], ids=["lane", "aiohttp's front"])
@pytest.mark.parametrize("body", [BODY, {**BODY, "stream": True}], ids=["whole", "stream"])
def test_answered_requests_leave_nothing_for_the_garbage_collector(
    lane: bool, body: dict[str, object]
) -> None:
    with MockServer(fast_lane=lane) as server:
        assert post_chat(server, body).status == 200  # warm: the memos, the tokenizer
        gc.collect()
        gc.disable()  # the server runs in this process: its requests too
        try:
            before = pipeline_requests()
            for _ in range(REQUESTS):
                assert post_chat(server, body).status == 200
            after = pipeline_requests()
        finally:
            gc.enable()
    assert after == before
