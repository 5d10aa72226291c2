"""A request sent again is answered from what the server kept (its checks, its completion,
the journal's scrubbed body): through the real SDK, the answers and the journal are what a
fresh server gives, and a settings change applies at once."""

from __future__ import annotations

import re
from typing import Any

import orjson

from mockserver.testing.server import MockServer
from tests.support.rawhttp import post_chat

# Kept the second time a body is seen, read from the third on.
SENDS = 4
SECRET = "sk-proj-" + "a1B2c3D4" * 6
ASK = [{"role": "user", "content": "Answer with only yes or no: is the sky blue?"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
STUB = {"match": {"last_user_message": {"contains": "stubbed"}}, "answer": {"content": "A " * 80}}


def what_varies_not(answer: Any) -> dict[str, Any]:
    """An answer without what Azure makes per call (the id, `created`, tool-call ids)."""
    dumped: dict[str, Any] = answer.model_dump()
    for choice in dumped["choices"]:
        for call in choice["message"].get("tool_calls") or []:
            call["id"] = "call"
    return {key: value for key, value in dumped.items() if key not in ("id", "created")}


def answers(server: MockServer, **params: Any) -> list[dict[str, Any]]:
    client = server.openai_client(max_retries=0)
    try:
        made = [client.chat.completions.create(model="o3-mini", **params) for _ in range(SENDS)]
        return [what_varies_not(answer) for answer in made]
    finally:
        client.close()


def streamed(server: MockServer, content: str) -> list[tuple[str, Any]]:
    client = server.openai_client(max_retries=0)
    try:
        texts = []
        for _ in range(SENDS):
            stream = client.chat.completions.create(
                model="o3-mini",
                messages=[{"role": "user", "content": content}],
                stream=True,
                stream_options={"include_usage": True},
            )
            chunks = list(stream)
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            texts.append((text, chunks[-1].usage))
        return texts
    finally:
        client.close()


def test_a_request_sent_again_is_answered_as_a_fresh_server_answers_it() -> None:
    requests: list[dict[str, Any]] = [
        {"messages": ASK},
        {"messages": ASK, "n": 2, "reasoning_effort": "high"},
        {"messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": TOOLS},
    ]
    with MockServer() as repeated:
        sent = [answers(repeated, **params) for params in requests]
    for params, got in zip(requests, sent, strict=True):
        with MockServer() as fresh:
            first = answers(fresh, **params)[0]
        assert got == [first] * SENDS


def test_a_stub_streamed_again_is_streamed_as_the_first_time() -> None:
    with MockServer() as server:
        server.stub(STUB)
        sent = streamed(server, "stubbed, please")
    assert sent == [sent[0]] * SENDS
    assert sent[0][0] == "A " * 80 and sent[0][1].completion_tokens > 80


def test_a_settings_change_applies_to_a_body_sent_before() -> None:
    with MockServer() as server:
        before = answers(server, messages=ASK, reasoning_effort="low")
        server.configure(seed=7)
        after = answers(server, messages=ASK, reasoning_effort="low")
    with MockServer(seed=7) as fresh:
        expected = answers(fresh, messages=ASK, reasoning_effort="low")[0]
    assert after == [expected] * SENDS
    assert before[0] != expected  # the seed reaches the answer: a stale memo would show


def test_a_secret_in_a_body_sent_again_is_masked_in_every_entry() -> None:
    messages = [{"role": "user", "content": f"my key is {SECRET}, keep it"}]
    with MockServer() as server:
        answers(server, messages=messages)
        entries = server.requests
    assert len(entries) == SENDS
    bodies = [entry.body for entry in entries]
    assert bodies == [bodies[0]] * SENDS
    assert SECRET not in str(bodies) and "keep it" in str(bodies[0])


def test_a_body_answered_again_is_the_same_bytes_but_its_id_and_created() -> None:
    """Raw HTTP: the answers written whole (the first sends) and those filled into the
    body's template (from the fourth) are the same bytes once the id and `created` are
    set aside, and each has its own id."""
    with MockServer() as server:
        sent = [post_chat(server, {"messages": ASK}) for _ in range(SENDS + 1)]
    assert [answer.status for answer in sent] == [200] * (SENDS + 1)
    ids = [orjson.loads(answer.body)["id"] for answer in sent]
    assert len(set(ids)) == len(ids)
    shapes = {
        re.sub(rb'"created":\d+,"id":"chatcmpl-[A-Za-z0-9]+"', b"<id>", answer.body)
        for answer in sent
    }
    assert len(shapes) == 1
    (shape,) = shapes
    assert shape.count(b"<id>") == 1 and shape.endswith(b"}\n")
