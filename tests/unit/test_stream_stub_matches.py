"""`RequestMatch.matches` stops at the first failing check and skips the fields not given:
it must agree with `mismatches` (every reason) and still refuse what a given field refuses."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.engines.matching import RequestMatch, RequestView

TOOL = {"type": "function", "function": {"name": "get_weather"}}
PLAIN: dict[str, Any] = {"messages": [{"role": "user", "content": "weather in Paris"}]}
WITH_TOOLS: dict[str, Any] = {
    "messages": [
        {"role": "system", "content": "You are terse"},
        {"role": "user", "content": "and in Oslo?"},
        {"role": "tool", "tool_call_id": "c", "content": "{}"},
    ],
    "tools": [TOOL],
    "stream": True,
    "n": 2,
}
SYSTEM_ONLY: dict[str, Any] = {"messages": [{"role": "system", "content": "no user here"}]}
MATCHES: list[tuple[dict[str, Any], bool, bool, bool]] = [
    # (match, matches PLAIN, matches WITH_TOOLS, matches SYSTEM_ONLY)
    ({}, True, True, True),
    ({"stream": True}, False, True, False),
    ({"stream": False}, True, False, True),
    ({"deployment": "other"}, False, False, False),
    ({"route": "v1"}, False, False, False),
    ({"api_version": "2025-04-01-preview"}, True, True, True),
    ({"last_user_message": {"contains": "Paris"}}, True, False, False),
    ({"last_user_message": {"regex": "^and"}}, False, True, False),
    ({"any_message": {"equals": "You are terse"}}, False, True, False),
    ({"system_prompt": {"contains": "terse"}}, False, True, False),
    ({"tools_offered": ["get_weather"]}, False, True, False),
    ({"tools_offered": []}, True, True, True),
    ({"tool_result_present": True}, False, True, False),
    ({"tool_result_present": False}, True, False, True),
    ({"headers": {"X-Trace": {"equals": "1"}}}, True, False, True),
    ({"headers": {"x-absent": {"contains": ""}}}, False, False, False),
    ({"headers": {}}, True, True, True),
    ({"body": {"n": 2}}, False, True, False),
    ({"body": {"messages[0].role": "system"}}, False, True, True),
    ({"body": {}}, True, True, True),
    ({"stream": True, "tools_offered": ["get_weather"], "body": {"n": 3}}, False, False, False),
]


def view(body: dict[str, Any], headers: dict[str, str]) -> RequestView:
    return RequestView("dated", "o3-mini", "2025-04-01-preview", headers, body)


@pytest.mark.parametrize(("fields", "plain", "tools", "system"), MATCHES)
def test_matches_agrees_with_mismatches_and_the_expected_answer(
    fields: dict[str, Any], plain: bool, tools: bool, system: bool
) -> None:
    match = RequestMatch.model_validate(fields)
    views = [
        (view(PLAIN, {"x-trace": "1"}), plain),
        (view(WITH_TOOLS, {"X-Trace": "2"}), tools),
        (view(SYSTEM_ONLY, {"X-TRACE": "1"}), system),
    ]
    for request, expected in views:
        assert match.matches(request) is expected
        assert (match.mismatches(request) == []) is expected
