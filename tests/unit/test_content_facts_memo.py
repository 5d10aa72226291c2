"""Content facts (answer digest, prompt tokens) memoised by the body's bytes: a body sent
again gets what its content gives, under its model and server seed."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.contract.api_versions import resolve_dated
from mockserver.contract.model_card import load_model_card
from mockserver.contract.request import ChatRequest, check_chat_request, decode_body
from mockserver.engines.digest import ContentFacts, request_digest
from mockserver.tokens import counting as tokens

CARD = load_model_card("o3-mini")
VERSION = resolve_dated("2025-04-01-preview")


def checked(body: dict[str, Any]) -> ChatRequest:
    return check_chat_request(decode_body(json.dumps(body).encode()), VERSION, CARD)


def expected(request: ChatRequest, seed: int) -> tuple[bytes, int]:
    prompt = tokens.prompt_tokens(
        request.messages, request.tools, CARD.prompt_framing, request.body.get("response_format")
    )
    return request_digest(request, seed), prompt


@settings(max_examples=100, deadline=None)
@given(
    text=st.text(max_size=40),
    extra=st.sampled_from(({}, {"stream": True}, {"seed": 3}, {"max_completion_tokens": 9})),
    seed=st.integers(0, 2),
)
def test_facts_by_body_are_the_content_facts(text: str, extra: dict[str, Any], seed: int) -> None:
    facts, body = ContentFacts(), {"messages": [{"role": "user", "content": text}], **extra}
    first, again = facts.of(checked(body), CARD, seed), facts.of(checked(body), CARD, seed)
    assert first == again == expected(checked(body), seed)
    assert facts.of(checked(body), CARD, seed + 1) == expected(checked(body), seed + 1)


def test_a_request_without_its_bytes_is_read_by_content() -> None:
    request = dataclasses.replace(checked({"messages": [{"role": "user", "content": "hi"}]}))
    by_hand = dataclasses.replace(request, body_bytes=None)
    facts = ContentFacts()
    assert facts.of(by_hand, CARD, 0) == expected(request, 0) and len(facts.by_body) == 0
    assert facts.of(request, CARD, 0) == expected(request, 0) and len(facts.by_body) == 0
    assert facts.of(request, CARD, 0) == expected(request, 0) and len(facts.by_body) == 1


def test_known_facts_are_only_those_of_a_body_seen_before() -> None:
    facts, request = ContentFacts(), checked({"messages": [{"role": "user", "content": "hi"}]})
    assert facts.known(request, CARD, 0) is None
    made = facts.of(request, CARD, 0)
    assert facts.known(request, CARD, 0) is None  # kept the second time it is seen
    assert facts.of(request, CARD, 0) == made
    assert facts.known(checked({"messages": [{"role": "user", "content": "hi"}]}), CARD, 0) == made
    assert facts.known(request, CARD, 1) is None
