"""The memo of bodies found valid: a body sent again gets the same typed request, and any
change of body bytes, api-version or model card is checked afresh; refusals every time."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.contract.api_versions import resolve_dated
from mockserver.contract.errors import AzureError
from mockserver.contract.model_card import load_model_card
from mockserver.contract.request import ChatRequest, check_chat_request, decode_body

CARD = load_model_card("o3-mini")
RECENT = resolve_dated("2025-04-01-preview")
OLD = resolve_dated("2024-06-01")


def body_of(value: dict[str, Any]) -> dict[str, Any]:
    """A fresh decoded body, as each request brings one."""
    return decode_body(json.dumps(value).encode())


def outcome(value: dict[str, Any], version: Any = RECENT, card: Any = CARD) -> Any:
    """The typed request, or the refusal's status and body."""
    try:
        return check_chat_request(body_of(value), version, card)
    except AzureError as error:
        return error.status, error.body


MESSAGES = [{"role": "user", "content": "hi"}]
PARAMETERS: dict[str, Any] = {
    "max_completion_tokens": st.sampled_from((1, 100, 2.0, -1, "x")),
    "max_tokens": st.just(10),
    "temperature": st.sampled_from((1, 0.5)),
    "reasoning_effort": st.sampled_from(("low", "high", "extreme")),
    "n": st.integers(0, 3),
    "stop": st.sampled_from(([], ".", ["a", "b"])),
    "stream_options": st.just({"include_usage": True}),
    "stream": st.booleans(),
    "service_tier": st.sampled_from(("auto", "default", "bogus")),
    "unknown_thing": st.just(1),
}


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": draw(st.sampled_from((MESSAGES, [], [{"role": "x"}])))}
    for name in draw(st.lists(st.sampled_from(sorted(PARAMETERS)), unique=True, max_size=4)):
        body[name] = draw(PARAMETERS[name])
    return body


@settings(max_examples=300, deadline=None)
@given(body=bodies(), old=st.booleans())
def test_a_body_checked_again_has_the_same_outcome(body: dict[str, Any], old: bool) -> None:
    version = OLD if old else RECENT
    first, again = outcome(body, version), outcome(body, version)
    assert first == again
    if isinstance(again, ChatRequest):
        assert again.body_bytes == json.dumps(body, separators=(",", ":")).encode()


def test_a_body_valid_for_one_version_is_checked_for_another() -> None:
    body = {"messages": MESSAGES, "max_completion_tokens": 50}
    assert isinstance(outcome(body, RECENT), ChatRequest)
    status, error = outcome(body, OLD)
    assert status == 400 and b"max_completion_tokens" in error


def test_a_body_valid_for_one_card_is_checked_for_another() -> None:
    body = {"messages": MESSAGES, "reasoning_effort": "low"}
    assert isinstance(outcome(body), ChatRequest)
    effort = CARD.reasoning_effort.model_copy(update={"known_elsewhere": ["low"]})
    other = CARD.model_copy(update={"reasoning_effort": effort})
    assert outcome(body, card=other)[0] == 400


def test_the_typed_request_reads_the_body_it_was_given() -> None:
    first, again = body_of({"messages": MESSAGES}), body_of({"messages": MESSAGES})
    assert check_chat_request(first, RECENT, CARD).body is first
    assert check_chat_request(again, RECENT, CARD).body is again


@pytest.mark.parametrize("times", [1, 2, 3])
def test_a_refusal_is_the_same_each_time(times: int) -> None:
    refused = [outcome({"messages": []}) for _ in range(times)]
    assert all(each == refused[0] for each in refused) and refused[0][0] == 400
