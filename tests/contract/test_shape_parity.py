"""The mock's `chat.completion` key order is real Azure's (real-traffic-facts.md section 3).

Real bodies are read from the 2025-2026 Azure recordings whose recorder kept the bytes
(`RealBody.order_kept`); the mock's body is its raw bytes through `json.loads`, whose
dicts keep wire order. At each level the keys both sides have must come in the same order.
Azure's order is alphabetical, except `prompt_filter_results[i]`: `prompt_index` first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from mockserver.testing.server import MockServer
from tests.contract import real_traffic
from tests.contract.real_traffic import RealBody
from tests.support.rawhttp import post_chat

MODERN_SINCE = datetime(2025, 1, 1, tzinfo=UTC)
# {detected, filtered} pairs: 2025 to 2026-02 sent filtered first, 2026-03 on detected first;
# the mock follows the most recent recordings (serialize/filters.py).
DETECTION_ORDER_SINCE = datetime(2026, 3, 1, tzinfo=UTC)

Level = Callable[[Any], Any]


def _first(items: Any) -> Any:
    return items[0] if isinstance(items, list) and items else None


def _get(node: Any, key: str) -> Any:
    return node.get(key) if isinstance(node, dict) else None


LEVELS: dict[str, Level] = {
    "top": lambda body: body,
    "choices[0]": lambda body: _first(_get(body, "choices")),
    "message": lambda body: _get(_first(_get(body, "choices")), "message"),
    "usage": lambda body: _get(body, "usage"),
    "completion_tokens_details": lambda body: _get(
        _get(body, "usage"), "completion_tokens_details"
    ),
    "prompt_tokens_details": lambda body: _get(_get(body, "usage"), "prompt_tokens_details"),
    "prompt_filter_results[0]": lambda body: _first(_get(body, "prompt_filter_results")),
    "prompt_filter_results[0].content_filter_results": lambda body: _get(
        _first(_get(body, "prompt_filter_results")), "content_filter_results"
    ),
    "choices[0].content_filter_results": lambda body: _get(
        _first(_get(body, "choices")), "content_filter_results"
    ),
}
NOT_ALPHABETICAL = {"prompt_filter_results[0]": ["prompt_index", "content_filter_results"]}


def modern_real_bodies() -> list[RealBody]:
    return [
        real
        for real in real_traffic.chat_completions()
        if real.order_kept and real.date is not None and real.date >= MODERN_SINCE
    ]


MODERN = modern_real_bodies()


@pytest.fixture(scope="module")
def mock_body(server: MockServer) -> Any:
    """A text answer (so every filter object is filled), parsed in wire order."""
    reply = post_chat(server, {"messages": [{"role": "user", "content": "Hello there"}]})
    assert reply.status == 200, reply.body
    return reply.json()  # json.loads: dicts keep the order of the bytes


def shared_order(mine: dict[str, Any], theirs: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Both key orders, restricted to the keys both sides have."""
    return [k for k in mine if k in theirs], [k for k in theirs if k in mine]


def test_modern_recordings_are_there() -> None:
    labels = [real.label for real in MODERN]
    assert "openllmetry__test_azure__test_chat_reasoning.yaml[0]" in labels
    assert sum(label.startswith("openllmetry__test_azure__test_chat.yaml") for label in labels) == 4
    assert sum(label.startswith("crewai__") for label in labels) == 7
    assert not any(label.startswith(real_traffic.ORDER_REWRITING_SOURCES) for label in labels)


@pytest.mark.parametrize("level", list(LEVELS))
def test_key_order_matches_real_azure(level: str, mock_body: Any) -> None:
    extract = LEVELS[level]
    mine = extract(mock_body)
    assert isinstance(mine, dict) and mine, f"the mock body has no {level}"
    compared, mismatches = 0, []
    for real in MODERN:
        theirs = extract(real.body)
        if not isinstance(theirs, dict):
            continue
        my_order, their_order = shared_order(mine, theirs)
        if len(my_order) >= 2:
            compared += 1
        if my_order != their_order:
            mismatches.append(f"{real.label}: mock {my_order} vs real {their_order}")
    assert compared, f"no real body to compare {level} with"
    assert mismatches == []


@pytest.mark.parametrize("level", list(LEVELS))
def test_key_order_is_azures_rule(level: str, mock_body: Any) -> None:
    keys = list(LEVELS[level](mock_body))
    assert keys == NOT_ALPHABETICAL.get(level, sorted(keys))


@pytest.mark.parametrize("level", list(LEVELS))
def test_mock_invents_no_key(level: str, mock_body: Any) -> None:
    """Every key the mock sends at this level appears there in some modern real body."""
    extract = LEVELS[level]
    real_keys = {key for real in MODERN for key in (extract(real.body) or {})}
    assert set(extract(mock_body)) <= real_keys


def _pairs(filters: dict[str, Any]) -> dict[str, list[str]]:
    return {name: list(verdict) for name, verdict in filters.items() if isinstance(verdict, dict)}


@pytest.mark.parametrize(
    "level",
    ["prompt_filter_results[0].content_filter_results", "choices[0].content_filter_results"],
)
def test_filter_verdict_key_order_matches_recent_azure(level: str, mock_body: Any) -> None:
    """`{filtered, severity}` everywhere; `{detected, filtered}` as recorded from 2026-03."""
    extract = LEVELS[level]
    mine = _pairs(extract(mock_body))
    compared = 0
    for real in MODERN:
        assert real.date is not None
        theirs = _pairs(extract(real.body) or {})
        for name in mine.keys() & theirs.keys():
            if "severity" in mine[name] or real.date >= DETECTION_ORDER_SINCE:
                assert mine[name] == theirs[name], (real.label, name)
                compared += 1
    assert compared


def test_body_is_compact_with_a_trailing_newline(server: MockServer) -> None:
    """Azure's non-streamed body: compact JSON, then one `\\n` (real-traffic-facts.md 3)."""
    reply = post_chat(server, {"messages": [{"role": "user", "content": "Hello there"}]})
    compact = json.dumps(reply.json(), separators=(",", ":"), ensure_ascii=False)
    assert reply.body == compact.encode() + b"\n"


def test_tool_call_only_choice_has_empty_filter_results() -> None:
    """Sanity of the ground truth used elsewhere: Azure's tool-call-only choice has `{}`."""
    tool_choices = [
        choice
        for real in MODERN
        for choice in real.body["choices"]
        if choice["message"].get("tool_calls") and choice["message"]["content"] is None
    ]
    assert tool_choices
    assert all(choice["content_filter_results"] == {} for choice in tool_choices)
