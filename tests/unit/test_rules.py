"""o3-mini's own rules: tool messages must answer the tool calls right before them."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.contract.api_versions import resolve_dated
from mockserver.contract.errors import AzureError
from mockserver.contract.model_card import load_model_card
from mockserver.contract.request import check_chat_request
from mockserver.contract.rules import check_tool_message_order

NOT_A_RESPONSE = (
    "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
    "message with 'tool_calls'."
)


def user(text: str = "hi") -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant(*call_ids: str) -> dict[str, Any]:
    calls = [
        {"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}}
        for i in call_ids
    ]
    return {"role": "assistant", "content": None, "tool_calls": calls}


def tool(call_id: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": "42"}


def _error(messages: list[dict[str, Any]]) -> dict[str, Any]:
    with pytest.raises(AzureError) as caught:
        check_tool_message_order(messages)
    assert caught.value.status == 400
    error: dict[str, Any] = caught.value.payload()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] is None
    return error


@pytest.mark.parametrize(
    ("messages", "index"),
    [
        ([tool("a")], 0),
        ([user(), tool("a")], 1),
        ([user(), {"role": "assistant", "content": "plain"}, tool("a")], 2),
        ([user(), assistant("a"), tool("a"), user(), tool("a")], 4),
        ([{"role": "system", "content": "s"}, user(), user(), tool("x")], 3),
    ],
)
def test_tool_without_preceding_tool_calls(messages: list[dict[str, Any]], index: int) -> None:
    error = _error(messages)
    assert error["message"] == NOT_A_RESPONSE
    assert error["param"] == f"messages.[{index}].role"


def test_assistant_with_empty_tool_calls_opens_no_run() -> None:
    error = _error([user(), {"role": "assistant", "content": "x", "tool_calls": []}, tool("a")])
    assert error["message"] == NOT_A_RESPONSE
    assert error["param"] == "messages.[2].role"


@pytest.mark.parametrize(
    ("messages", "index", "pending"),
    [
        ([user(), assistant("call_1")], 1, "call_1"),
        ([user(), assistant("a", "b"), tool("a"), user()], 1, "b"),
        ([user(), assistant("a", "b", "c")], 1, "a, b, c"),
        ([user(), assistant("a", "b", "c"), tool("b")], 1, "a, c"),
        ([user(), assistant("a"), tool("a"), assistant("x", "y"), user()], 3, "x, y"),
        ([user(), assistant("a"), assistant("b"), tool("b")], 1, "a"),
    ],
)
def test_unanswered_tool_calls_are_listed(
    messages: list[dict[str, Any]], index: int, pending: str
) -> None:
    error = _error(messages)
    assert error["message"] == (
        "An assistant message with 'tool_calls' must be followed by tool messages "
        "responding to each 'tool_call_id'. The following tool_call_ids did not have "
        f"response messages: {pending}"
    )
    assert error["param"] == f"messages.[{index}].role"


@pytest.mark.parametrize(
    ("messages", "index", "call_id"),
    [
        ([user(), assistant("a"), tool("b")], 2, "b"),
        ([user(), assistant("a", "b"), tool("a"), tool("a")], 3, "a"),
        ([user(), assistant("a"), tool("a"), assistant("c"), tool("a")], 4, "a"),
    ],
)
def test_unknown_tool_call_id(messages: list[dict[str, Any]], index: int, call_id: str) -> None:
    error = _error(messages)
    assert error["message"] == (
        f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in 'tool_calls' "
        "of previous message."
    )
    assert error["param"] == f"messages.[{index}].tool_call_id"


@pytest.mark.parametrize(
    "messages",
    [
        [user()],
        [user(), assistant("a"), tool("a")],
        [user(), assistant("a", "b"), tool("b"), tool("a"), user()],
        [
            user(),
            assistant("a", "b"),
            tool("a"),
            tool("b"),
            assistant("c"),
            tool("c"),
            {"role": "assistant", "content": "done"},
            user(),
        ],
        [user(), assistant("a"), tool("a"), assistant("a"), tool("a")],
    ],
)
def test_answered_tool_call_rounds_pass(messages: list[dict[str, Any]]) -> None:
    check_tool_message_order(messages)


def test_the_full_request_check_applies_the_ordering_rule() -> None:
    card = load_model_card("o3-mini")
    version = resolve_dated("2025-04-01-preview")
    good = {"messages": [user(), assistant("a", "b"), tool("a"), tool("b"), user()]}
    assert check_chat_request(good, version, card).messages == good["messages"]

    bad = {"messages": [user(), assistant("a", "b"), tool("a"), user()]}
    with pytest.raises(AzureError) as caught:
        check_chat_request(bad, version, card)
    assert caught.value.payload()["error"]["param"] == "messages.[1].role"
    assert "did not have response messages: b" in caught.value.payload()["error"]["message"]
