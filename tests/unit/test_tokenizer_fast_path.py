"""Once the tokenizer is built, the event loop's thread encodes first (counting.
claim_fast_path), before any request waiting for it: no thread of the CPU pool becomes
the one tiktoken's regex engine favours, so the pool's threads stay equal."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mockserver import MockServer
from mockserver.tokens import counting


def test_the_loop_thread_encodes_first_once_the_tokenizer_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    claimed: list[tuple[str, bool]] = []
    claim = counting.claim_fast_path

    def spied() -> None:
        try:
            asyncio.get_running_loop()
            on_a_loop = True
        except RuntimeError:
            on_a_loop = False
        claimed.append((threading.current_thread().name, on_a_loop))
        claim()

    monkeypatch.setattr(counting, "claim_fast_path", spied)
    with MockServer() as server, server.azure_openai_client() as client:
        answer = client.chat.completions.create(
            model="o3-mini", messages=[{"role": "user", "content": "Count me."}]
        )
    assert answer.usage is not None and answer.usage.prompt_tokens > 0
    assert len(claimed) == 1
    thread, on_a_loop = claimed[0]
    assert on_a_loop and not thread.startswith(("mockserver-cpu", "asyncio_"))
