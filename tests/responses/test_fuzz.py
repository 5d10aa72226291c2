"""Hypothesis against the real server: no Responses request gives a 5xx, and every 200 is a
response that validates against the official document (or a stream of valid events)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from mockserver.testing.server import MockServer
from tests.responses.helpers import WEATHER_TOOL, assert_valid, post
from tests.support.sse import named_events

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SCALARS = st.none() | st.booleans() | st.integers(-5, 200) | st.text(max_size=12)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
PART = st.fixed_dictionaries(
    {"type": st.sampled_from(["input_text", "output_text", "input_image", "bogus"])},
    optional={"text": SCALARS},
)
MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "developer", "system", "assistant", "tool"])},
    optional={
        "type": st.just("message"),
        "content": st.text(max_size=40) | st.lists(PART, max_size=2) | SCALARS,
    },
)
CALL = st.fixed_dictionaries(
    {"type": st.just("function_call")},
    optional={
        "call_id": st.sampled_from(["call_1", "call_2"]),
        "name": st.sampled_from(["get_weather", "x y"]),
        "arguments": st.sampled_from(['{"city":"Oslo"}', "{}", "not json"]),
    },
)
OUTPUT = st.fixed_dictionaries(
    {"type": st.just("function_call_output")},
    optional={"call_id": st.sampled_from(["call_1", "call_3"]), "output": SCALARS},
)
# Ids and tokens that no stored response or seal made, and strings that are not ids at all.
FOREIGN_ID = st.sampled_from(["rs_unknown", "msg_unknown", "fc_unknown", "", "item_1"]) | SCALARS
TOKEN = st.sampled_from(["gAAAAABoBogus==", "not base64!", "", "gAAA"]) | SCALARS
REASONING: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {"type": st.just("reasoning")},
    optional={"id": FOREIGN_ID, "encrypted_content": TOKEN, "summary": st.just([])},
)
REFERENCE = st.fixed_dictionaries({"type": st.just("item_reference")}, optional={"id": FOREIGN_ID})
ITEM = MESSAGE | CALL | OUTPUT | REASONING | REFERENCE | JSON
FIELDS: dict[str, Any] = {
    "input": st.text(max_size=40) | st.lists(ITEM, max_size=4) | JSON,
    "instructions": st.text(max_size=20) | SCALARS,
    "tools": st.just([WEATHER_TOOL]) | st.lists(JSON, max_size=2),
    "tool_choice": st.sampled_from(["auto", "none", "required"])
    | st.just({"type": "function", "name": "get_weather"})
    | JSON,
    "text": st.sampled_from(
        [{"format": {"type": "text"}}, {"format": {"type": "json_object"}}, {"format": {}}]
    )
    | JSON,
    "reasoning": st.fixed_dictionaries(
        {}, optional={"effort": st.sampled_from(["low", "medium", "high", "minimal", "x"])}
    )
    | JSON,
    "max_output_tokens": st.integers(-1, 3000) | JSON,
    "previous_response_id": st.just("resp_nope") | JSON,
    "store": st.booleans() | JSON,
    "include": st.just(["reasoning.encrypted_content"]) | st.lists(st.text(max_size=8), max_size=2),
    "stream": st.booleans(),
    "metadata": st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2) | JSON,
    "temperature": st.floats(0, 2),
    "truncation": st.sampled_from(["auto", "disabled", "x"]),
}
BODY = st.fixed_dictionaries(
    {"model": st.just("o3-mini")},
    optional=FIELDS,
)


@FUZZ
@given(body=BODY)
def test_no_request_gives_a_server_error(server: MockServer, body: dict[str, Any]) -> None:
    note(repr(body))
    response = post(server, body)
    assert response.status < 500, (response.status, response.body[:2000])
    assert not server.take_failures()
    if response.status != 200:
        error = response.json()["error"]
        assert isinstance(error["message"], str)
        return
    if body.get("stream") is True:
        events = named_events(response.body)
        assert events[-1][0] in ("response.completed", "response.incomplete")
        for _, data in events:
            assert_valid("responseStreamEvent", data)
        return
    assert_valid("response", response.json())
