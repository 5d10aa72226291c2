"""WireMock-style scenarios: stubs that answer in one state and move the scenario to the next."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from mockserver.testing.server import MockServer
from tests.doubles.helpers import GET_WEATHER, admin_client
from tests.support.chat import API_VERSION, user
from tests.support.clients import azure_client

MODEL = "o3-mini"
RATE_LIMITED = {
    "name": "rate_limit_tokens",
    "values": {"api_version": API_VERSION, "retry_after": 1},
}


@pytest.fixture
def admin(mock: MockServer) -> Iterator[httpx.Client]:
    with admin_client(mock) as client:
        yield client


def content_of(client: openai.AzureOpenAI, text: str = "hi") -> str | None:
    reply = client.chat.completions.create(model=MODEL, messages=user(text))
    return reply.choices[0].message.content


def flaky(server: MockServer) -> tuple[str, str]:
    """A 429 while "Started", then "ok" once "recovered"; the two stub ids."""
    failing = server.stub(
        scenario="flaky",
        required_state="Started",
        new_state="recovered",
        answer={"error": RATE_LIMITED},
    )
    working = server.stub(scenario="flaky", required_state="recovered", answer={"content": "ok"})
    return failing.id, working.id


def test_a_scenario_starts_in_started(mock: MockServer) -> None:
    assert mock.scenario_state("flaky") is None
    flaky(mock)
    assert mock.scenario_state("flaky") == "Started"


def test_the_sdk_retries_a_429_and_gets_the_next_state(mock: MockServer) -> None:
    failing, working = flaky(mock)
    # No retry-after headers on a stubbed 429: the SDK backs off by itself (about a second).
    with azure_client(mock, max_retries=2) as client:
        reply = client.chat.completions.create(model=MODEL, messages=user("hi"))
    assert reply.choices[0].message.content == "ok"
    entries = mock.requests
    assert [(entry.status, entry.stub_id) for entry in entries] == [
        (429, failing),
        (200, working),
    ]
    assert [entry.headers.get("x-stainless-retry-count") for entry in entries] == ["0", "1"]
    assert mock.scenario_state("flaky") == "recovered"


def test_without_retries_the_429_reaches_the_caller(mock: MockServer) -> None:
    flaky(mock)
    with azure_client(mock) as client:
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(model=MODEL, messages=user("hi"))
        assert isinstance(caught.value.body, dict)
        assert "Please retry after 1 seconds" in caught.value.body["message"]
        assert API_VERSION in caught.value.body["message"]
        assert mock.scenario_state("flaky") == "recovered"
        again = client.chat.completions.create(model=MODEL, messages=user("hi"))
    assert again.choices[0].message.content == "ok"


def test_a_stub_stays_in_its_state_after_the_scenario_moves_on(mock: MockServer) -> None:
    flaky(mock)
    with azure_client(mock) as client:
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model=MODEL, messages=user("hi"))
        contents = [content_of(client) for _ in range(3)]
    assert contents == ["ok", "ok", "ok"]
    assert [entry.status for entry in mock.requests] == [429, 200, 200, 200]


def test_a_scenario_stub_without_required_state_answers_in_any_state(mock: MockServer) -> None:
    mock.stub(scenario="door", new_state="open", answer={"content": "knock"})
    with azure_client(mock) as client:
        first = client.chat.completions.create(model=MODEL, messages=user("hi"))
        assert mock.scenario_state("door") == "open"
        second = client.chat.completions.create(model=MODEL, messages=user("hi"))
    assert [first.choices[0].message.content, second.choices[0].message.content] == [
        "knock",
        "knock",
    ]


def test_scenarios_are_independent(mock: MockServer) -> None:
    flaky(mock)
    mock.stub(
        scenario="other",
        required_state="Started",
        new_state="done",
        match={"last_user_message": {"equals": "other"}},
        answer={"content": "x"},
    )
    with azure_client(mock) as client, pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model=MODEL, messages=user("hi"))
    assert mock.scenario_state("flaky") == "recovered"
    assert mock.scenario_state("other") == "Started"


# --- a multi-turn agent conversation scripted by states ---------------------------------------


def agent_turn(client: openai.AzureOpenAI, messages: list[Any]) -> Any:
    return client.chat.completions.create(model=MODEL, messages=messages, tools=[GET_WEATHER])


def test_a_multi_turn_agent_conversation_scripted_by_states(mock: MockServer) -> None:
    weather = {"city": "Paris", "unit": "celsius", "days": 1}
    mock.stub(
        scenario="agent",
        required_state="Started",
        new_state="tool called",
        answer={"tool_calls": [{"name": "get_weather", "arguments": weather}]},
    )
    mock.stub(
        scenario="agent",
        required_state="tool called",
        new_state="answered",
        match={"tool_result_present": True},
        answer={"content": "It is 21 degrees in Paris."},
    )
    mock.stub(
        scenario="agent",
        required_state="answered",
        new_state="finished",
        match={"last_user_message": {"contains": "thanks"}},
        answer={"content": "You're welcome!"},
    )
    messages: list[Any] = user("What is the weather in Paris?")
    with azure_client(mock) as client:
        first = agent_turn(client, messages).choices[0].message
        assert mock.scenario_state("agent") == "tool called"
        assert first.tool_calls is not None
        call = first.tool_calls[0]
        assert json.loads(call.function.arguments) == weather
        result = {"temperature": 21, "unit": "celsius"}  # the agent runs its tool
        messages += [
            first.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)},
        ]
        second = agent_turn(client, messages).choices[0].message
        assert second.content == "It is 21 degrees in Paris."
        assert mock.scenario_state("agent") == "answered"
        messages += [second.model_dump(exclude_none=True), *user("thanks a lot")]
        third = agent_turn(client, messages).choices[0].message
    assert third.content == "You're welcome!"
    assert mock.scenario_state("agent") == "finished"
    assert [len(entry.body["messages"]) for entry in mock.requests] == [1, 3, 5]
    mock.verify(tool_result_present=True, count=2)


def test_a_turn_out_of_order_is_not_answered_by_the_script(mock: MockServer) -> None:
    mock.stub(
        scenario="agent",
        required_state="tool called",
        answer={"content": "It is 21 degrees in Paris."},
    )
    with azure_client(mock) as client:
        reply = client.chat.completions.create(model=MODEL, messages=user("hi"))
    assert reply.choices[0].message.content != "It is 21 degrees in Paris."
    assert mock.requests[-1].source == "generator"
    assert mock.scenario_state("agent") == "Started"


# --- the admin API -----------------------------------------------------------------------------


def test_admin_put_scenario_state_skips_ahead(mock: MockServer, admin: httpx.Client) -> None:
    flaky(mock)
    response = admin.put("/__admin/scenarios/flaky", json={"state": "recovered"})
    assert response.status_code == 200
    assert response.json() == {"scenario": "flaky", "state": "recovered"}
    assert admin.get("/__admin/scenarios").json() == {"scenarios": {"flaky": "recovered"}}
    with azure_client(mock) as client:
        reply = client.chat.completions.create(model=MODEL, messages=user("hi"))
    assert reply.choices[0].message.content == "ok"
    assert [entry.status for entry in mock.requests] == [200]


def test_admin_put_can_create_a_scenario_state(mock: MockServer, admin: httpx.Client) -> None:
    response = admin.put("/__admin/scenarios/later", json={"state": "ready"})
    assert response.status_code == 200
    mock.stub(scenario="later", required_state="ready", answer={"content": "ready"})
    assert mock.scenario_state("later") == "ready"
    with azure_client(mock) as client:
        reply = client.chat.completions.create(model=MODEL, messages=user("hi"))
    assert reply.choices[0].message.content == "ready"


def test_admin_put_scenario_needs_a_state(mock: MockServer, admin: httpx.Client) -> None:
    response = admin.put("/__admin/scenarios/flaky", json={"status": "recovered"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "InvalidRequest"
    assert "state" in error["message"]


def test_admin_scenarios_reset_starts_over(mock: MockServer, admin: httpx.Client) -> None:
    flaky(mock)
    with azure_client(mock) as client:
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model=MODEL, messages=user("hi"))
        assert mock.scenario_state("flaky") == "recovered"
        response = admin.post("/__admin/scenarios/reset")
        assert response.status_code == 200
        assert response.json() == {"scenarios": {"flaky": "Started"}}
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model=MODEL, messages=user("hi"))
    assert [entry.status for entry in mock.requests] == [429, 429]


def test_resetting_only_scenarios_keeps_the_stubs(mock: MockServer) -> None:
    flaky(mock)
    mock.set_scenario_state("flaky", "recovered")
    mock.reset({"scenarios"})
    assert len(mock.stubs()) == 2
    assert mock.scenario_state("flaky") == "Started"


def test_resetting_stubs_forgets_the_scenarios(mock: MockServer, admin: httpx.Client) -> None:
    flaky(mock)
    assert admin.post("/__admin/reset", json={"parts": ["stubs"]}).status_code == 200
    assert admin.get("/__admin/scenarios").json() == {"scenarios": {}}
