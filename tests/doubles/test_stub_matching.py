"""Each matcher of a stub, their composition, priority, `times` and x-mock-stub, via the SDK.

Every request is sent by the real `openai` SDK; who answered it is read from the journal
(`source` is "stub:<id>" or "generator") as well as from the reply's content.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageFunctionToolCall

from mockserver.engines.stubs import Stub
from mockserver.testing.server import MockServer
from tests.doubles.helpers import GET_WEATHER, SEARCH_FLIGHTS
from tests.support import rawhttp
from tests.support.chat import API_VERSION, chat_body, chat_url
from tests.support.clients import azure_client, v1_client
from tests.support.waiting import poll

STUBBED = "Answered by the stub."
OLDER_API_VERSION = "2024-12-01-preview"


@pytest.fixture(scope="module")
def two_deployments() -> Iterator[MockServer]:
    deployments = {"o3-mini": {"model": "o3-mini"}, "other": {"model": "o3-mini"}}
    with MockServer(deployments=deployments) as running:
        yield running


@pytest.fixture
def srv(two_deployments: MockServer) -> Iterator[MockServer]:
    two_deployments.reset()
    yield two_deployments
    failures = two_deployments.take_failures()
    two_deployments.reset()
    assert not failures


@dataclass
class Call:
    """One chat request, as a test describes it."""

    text: str = "hello there"
    messages: list[dict[str, Any]] | None = None
    deployment: str = "o3-mini"
    route: str = "dated"
    api_version: str = API_VERSION
    stream: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    content: str | None
    source: str


def send(server: MockServer, call: Call) -> Outcome:
    """Send `call` with the SDK; the reply's content and who answered, from the journal."""
    messages = call.messages
    if messages is None:
        messages = [{"role": "user", "content": call.text}]
    client: openai.AzureOpenAI | openai.OpenAI
    if call.route == "v1":
        client = v1_client(server)
    else:
        client = azure_client(server, api_version=call.api_version)
    before = len(server.requests)
    with client:
        options: dict[str, Any] = {
            "model": call.deployment,
            "messages": messages,
            "extra_headers": call.headers or None,
            **call.params,
        }
        if call.stream:
            pieces = [
                chunk.choices[0].delta.content or ""
                for chunk in client.chat.completions.create(stream=True, **options)
                if chunk.choices
            ]
            content: str | None = "".join(pieces)
        else:
            content = client.chat.completions.create(**options).choices[0].message.content
    # The journal entry is written just after the reply left: wait for it (bounded).
    entries = poll(
        lambda: server.requests if len(server.requests) >= before + 1 else None, "the journal"
    )
    assert len(entries) == before + 1
    return Outcome(content, entries[-1].source)


def assert_stub_answered(outcome: Outcome, stub: Stub) -> None:
    assert outcome.source == f"stub:{stub.id}"
    assert outcome.content == STUBBED


def assert_generator_answered(outcome: Outcome) -> None:
    assert outcome.source == "generator"
    assert outcome.content != STUBBED


WEATHER_CALL = {
    "id": "call_abc",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}
WITH_TOOL_RESULT: list[dict[str, Any]] = [
    {"role": "user", "content": "What is the weather in Paris?"},
    {"role": "assistant", "content": None, "tool_calls": [WEATHER_CALL]},
    {"role": "tool", "tool_call_id": "call_abc", "content": '{"temperature": 21}'},
]
TICKET_HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": "Open a ticket for the outage."},
    {"role": "assistant", "content": "Done: ticket-42 is open."},
    {"role": "user", "content": "Thanks, anything else?"},
]
LAST_IS_SECOND: list[dict[str, Any]] = [
    {"role": "user", "content": "first question"},
    {"role": "assistant", "content": "an answer"},
    {"role": "user", "content": "second question"},
]


def developer(text: str) -> list[dict[str, Any]]:
    return [{"role": "developer", "content": text}, {"role": "user", "content": "hi"}]


def system(text: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": text}, {"role": "user", "content": "hi"}]


# (match, a request it matches, a request it does not match)
MATCHER_CASES: dict[str, tuple[dict[str, Any], Call, Call]] = {
    "deployment": ({"deployment": "other"}, Call(deployment="other"), Call()),
    "deployment-on-v1": (
        {"deployment": "other"},
        Call(route="v1", deployment="other"),
        Call(route="v1"),
    ),
    "route-dated": ({"route": "dated"}, Call(), Call(route="v1")),
    "route-v1": ({"route": "v1"}, Call(route="v1"), Call()),
    "api-version": (
        {"api_version": OLDER_API_VERSION},
        Call(api_version=OLDER_API_VERSION),
        Call(),
    ),
    "last-user-equals": (
        {"last_user_message": {"equals": "What is the weather?"}},
        Call(text="What is the weather?"),
        Call(text="What is the weather? Tell me."),
    ),
    "last-user-equals-only-the-last": (
        {"last_user_message": {"equals": "second question"}},
        Call(messages=LAST_IS_SECOND),
        Call(messages=[*LAST_IS_SECOND[:2], {"role": "user", "content": "third"}]),
    ),
    "last-user-contains": (
        {"last_user_message": {"contains": "weather"}},
        Call(text="Is the weather nice in Oslo?"),
        Call(text="Is it sunny in Oslo?"),
    ),
    "last-user-regex": (
        {"last_user_message": {"regex": r"order #\d+\b"}},
        Call(text="Where is order #1234 now?"),
        Call(text="Where is order #abc now?"),
    ),
    "last-user-multipart": (
        {"last_user_message": {"contains": "weather"}},
        Call(messages=[{"role": "user", "content": [{"type": "text", "text": "weather?"}]}]),
        Call(messages=[{"role": "user", "content": [{"type": "text", "text": "sun?"}]}]),
    ),
    "any-message": (
        {"any_message": {"contains": "ticket-42"}},
        Call(messages=TICKET_HISTORY),
        Call(text="Open a ticket for the outage."),
    ),
    "system-prompt-developer": (
        {"system_prompt": {"contains": "pirate"}},
        Call(messages=developer("You are a pirate.")),
        Call(messages=developer("You are a clerk.")),
    ),
    "system-prompt-system": (
        {"system_prompt": {"regex": "^Talk like a pirate"}},
        Call(messages=system("Talk like a pirate, always.")),
        Call(messages=system("Always talk like a pirate.")),
    ),
    "system-prompt-absent": (
        {"system_prompt": {"contains": "pirate"}},
        Call(messages=developer("pirate")),
        Call(text="pirate"),
    ),
    "tools-offered": (
        {"tools_offered": ["get_weather"]},
        Call(params={"tools": [SEARCH_FLIGHTS, GET_WEATHER], "tool_choice": "none"}),
        Call(params={"tools": [SEARCH_FLIGHTS], "tool_choice": "none"}),
    ),
    "tools-offered-every-one": (
        {"tools_offered": ["get_weather", "search_flights"]},
        Call(params={"tools": [SEARCH_FLIGHTS, GET_WEATHER], "tool_choice": "none"}),
        Call(params={"tools": [GET_WEATHER], "tool_choice": "none"}),
    ),
    "tool-result-present": (
        {"tool_result_present": True},
        Call(messages=WITH_TOOL_RESULT),
        Call(text="What is the weather in Paris?"),
    ),
    "tool-result-absent": (
        {"tool_result_present": False},
        Call(text="What is the weather in Paris?"),
        Call(messages=WITH_TOOL_RESULT),
    ),
    "stream-true": ({"stream": True}, Call(stream=True), Call()),
    "stream-false": ({"stream": False}, Call(), Call(stream=True)),
    "headers": (
        {"headers": {"x-tenant": {"equals": "acme"}}},
        Call(headers={"x-tenant": "acme"}),
        Call(headers={"x-tenant": "globex"}),
    ),
    "headers-absent": (
        {"headers": {"x-tenant": {"contains": "acme"}}},
        Call(headers={"x-tenant": "acme-eu"}),
        Call(),
    ),
    "body-reasoning-effort": (
        {"body": {"reasoning_effort": "high"}},
        Call(params={"reasoning_effort": "high"}),
        Call(params={"reasoning_effort": "low"}),
    ),
    "body-reasoning-effort-missing": (
        {"body": {"reasoning_effort": "high"}},
        Call(params={"reasoning_effort": "high"}),
        Call(),
    ),
    "body-first-message-role": (
        {"body": {"messages[0].role": "developer"}},
        Call(messages=developer("Be brief.")),
        Call(messages=system("Be brief.")),
    ),
}


@pytest.mark.parametrize(("match", "hit", "miss"), MATCHER_CASES.values(), ids=MATCHER_CASES)
def test_matcher(srv: MockServer, match: dict[str, Any], hit: Call, miss: Call) -> None:
    stub = srv.stub(match=match, answer={"content": STUBBED})
    assert_stub_answered(send(srv, hit), stub)
    assert_generator_answered(send(srv, miss))
    assert srv.stub_by_id(stub.id).answered == 1


def test_an_empty_match_answers_every_chat_request(srv: MockServer) -> None:
    stub = srv.stub(answer={"content": STUBBED})
    for call in (Call(), Call(route="v1"), Call(deployment="other", stream=True)):
        assert_stub_answered(send(srv, call), stub)


# --- composition -----------------------------------------------------------------------------

COMPOSED: dict[str, Any] = {
    "deployment": "other",
    "route": "dated",
    "last_user_message": {"contains": "weather"},
    "system_prompt": {"equals": "Be brief."},
    "tools_offered": ["get_weather"],
    "stream": False,
    "headers": {"x-tenant": {"equals": "acme"}},
    "body": {"reasoning_effort": "high"},
}


def composed_call(**changes: Any) -> Call:
    messages = [
        {"role": "developer", "content": changes.pop("system", "Be brief.")},
        {"role": "user", "content": changes.pop("text", "What is the weather in Oslo?")},
    ]
    params = {"tools": [GET_WEATHER], "tool_choice": "none", "reasoning_effort": "high"}
    params.update(changes.pop("params", {}))
    settings: dict[str, Any] = {
        "deployment": "other",
        "messages": messages,
        "headers": {"x-tenant": "acme"},
        "params": params,
        **changes,
    }
    return Call(**settings)


ONE_FIELD_OFF: dict[str, Call] = {
    "deployment": composed_call(deployment="o3-mini"),
    "route": composed_call(route="v1"),
    "last_user_message": composed_call(text="Is it sunny in Oslo?"),
    "system_prompt": composed_call(system="Be verbose."),
    "tools_offered": composed_call(params={"tools": [SEARCH_FLIGHTS]}),
    "stream": composed_call(stream=True),
    "headers": composed_call(headers={"x-tenant": "globex"}),
    "body": composed_call(params={"reasoning_effort": "medium"}),
}


def test_a_composed_match_answers_when_every_field_holds(srv: MockServer) -> None:
    stub = srv.stub(match=COMPOSED, answer={"content": STUBBED})
    assert_stub_answered(send(srv, composed_call()), stub)


@pytest.mark.parametrize("call", ONE_FIELD_OFF.values(), ids=ONE_FIELD_OFF)
def test_a_composed_match_misses_when_one_field_differs(srv: MockServer, call: Call) -> None:
    srv.stub(match=COMPOSED, answer={"content": STUBBED})
    assert_generator_answered(send(srv, call))


def test_the_composed_cases_cover_every_field() -> None:
    assert set(ONE_FIELD_OFF) == set(COMPOSED)


# --- priority and times ----------------------------------------------------------------------


def test_lower_priority_number_wins_over_a_more_recent_stub(srv: MockServer) -> None:
    first = srv.stub(priority=1, answer={"content": "priority one"})
    srv.stub(priority=5, answer={"content": "priority five"})
    outcome = send(srv, Call())
    assert outcome.content == "priority one"
    assert outcome.source == f"stub:{first.id}"


def test_lower_priority_number_wins_whatever_the_order(srv: MockServer) -> None:
    srv.stub(priority=5, answer={"content": "priority five"})
    second = srv.stub(priority=1, answer={"content": "priority one"})
    outcome = send(srv, Call())
    assert outcome.content == "priority one"
    assert outcome.source == f"stub:{second.id}"


def test_equal_priority_the_most_recently_added_wins(srv: MockServer) -> None:
    srv.stub(priority=3, answer={"content": "older"})
    newer = srv.stub(priority=3, answer={"content": "newer"})
    outcome = send(srv, Call())
    assert outcome.content == "newer"
    assert outcome.source == f"stub:{newer.id}"


def test_a_higher_priority_stub_that_does_not_match_lets_the_next_one_answer(
    srv: MockServer,
) -> None:
    srv.stub(priority=1, match={"stream": True}, answer={"content": "streamed"})
    fallback = srv.stub(priority=9, answer={"content": "fallback"})
    outcome = send(srv, Call())
    assert outcome.content == "fallback"
    assert outcome.source == f"stub:{fallback.id}"


def test_times_one_answers_once_then_the_generator_answers(srv: MockServer) -> None:
    stub = srv.stub(times=1, answer={"content": STUBBED})
    assert_stub_answered(send(srv, Call()), stub)
    assert_generator_answered(send(srv, Call()))
    answered = srv.stub_by_id(stub.id)
    assert answered.answered == 1 and answered.exhausted()


def test_an_exhausted_stub_lets_a_lower_ranked_stub_answer(srv: MockServer) -> None:
    srv.stub(priority=9, answer={"content": "every time"})
    srv.stub(priority=1, times=2, answer={"content": "twice"})
    contents = [send(srv, Call()).content for _ in range(3)]
    assert contents == ["twice", "twice", "every time"]


# --- x-mock-stub -----------------------------------------------------------------------------


def test_x_mock_stub_forces_a_stub_whose_match_does_not_hold(srv: MockServer) -> None:
    never = {"last_user_message": {"equals": "never sent"}}
    forced = srv.stub(match=never, answer={"content": STUBBED})
    assert_generator_answered(send(srv, Call()))
    assert_stub_answered(send(srv, Call(headers={"x-mock-stub": forced.id})), forced)


def test_x_mock_stub_is_read_whatever_the_case_of_its_name(srv: MockServer) -> None:
    # HTTP header names are case-insensitive; the SDK sends extra_headers as they are spelled.
    never = {"last_user_message": {"equals": "never sent"}}
    forced = srv.stub(match=never, answer={"content": STUBBED})
    assert_stub_answered(send(srv, Call(headers={"X-Mock-Stub": forced.id})), forced)
    reply = rawhttp.post_chat(srv, chat_body("hi"), headers={"X-MOCK-STUB": "nope"})
    assert reply.status == 400 and "no stub with id 'nope'" in reply.json()["error"]["message"]


def test_x_mock_stub_wins_over_a_matching_higher_priority_stub(srv: MockServer) -> None:
    srv.stub(priority=0, answer={"content": "the best match"})
    forced = srv.stub(priority=9, answer={"content": STUBBED})
    assert send(srv, Call()).content == "the best match"
    assert_stub_answered(send(srv, Call(headers={"x-mock-stub": forced.id})), forced)


def test_x_mock_stub_forces_a_tool_call_answer(srv: MockServer) -> None:
    forced = srv.stub(
        match={"deployment": "nowhere"},
        answer={"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
    )
    with azure_client(srv) as client:
        reply = client.chat.completions.create(
            model="o3-mini",
            messages=[{"role": "user", "content": "hi"}],
            tools=[GET_WEATHER],
            extra_headers={"x-mock-stub": forced.id},
        )
    calls = reply.choices[0].message.tool_calls
    assert calls is not None
    assert all(isinstance(c, ChatCompletionMessageFunctionToolCall) for c in calls)
    functions = [c.function for c in calls if isinstance(c, ChatCompletionMessageFunctionToolCall)]
    assert [(f.name, json.loads(f.arguments)) for f in functions] == [
        ("get_weather", {"city": "Oslo"})
    ]
    assert srv.requests[-1].stub_id == forced.id


@pytest.mark.parametrize(("value", "matched"), [(b"acme-\xff", True), (b"glob\xffex", False)])
def test_a_header_regex_searches_bytes_that_are_not_utf8(
    srv: MockServer, value: bytes, matched: bool
) -> None:
    """A header's bytes that are not UTF-8 are read as U+FFFD (they were a 500)."""
    srv.stub(match={"headers": {"x-tenant": {"regex": "^acme-."}}}, answer={"content": "acme"})
    headers: dict[str, Any] = {**rawhttp.key_headers(srv), "x-tenant": value}
    answer = rawhttp.request(chat_url(srv), body=chat_body("hi"), headers=headers)
    assert answer.status == 200, answer.body
    assert (answer.json()["choices"][0]["message"]["content"] == "acme") is matched
