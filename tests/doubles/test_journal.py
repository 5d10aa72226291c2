"""The request journal: what each entry records, masking, bounds, verify/find, the admin view."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import SecretStr

from mockserver.engines.matching import RequestMatch
from mockserver.stores.journal import VerificationError
from mockserver.stores.journal_entry import JournalEntry
from mockserver.testing.server import MockServer
from tests.doubles.helpers import GET_WEATHER, admin_client
from tests.support import rawhttp
from tests.support.chat import API_VERSION, chat_route, user
from tests.support.clients import azure_client, v1_client
from tests.support.langchain import azure_chat_model
from tests.support.sockets import request_bytes
from tests.support.waiting import poll

MODEL = "o3-mini"
SECRET = "very-secret-key-0123456789"


@pytest.fixture
def admin(mock: MockServer) -> Iterator[httpx.Client]:
    with admin_client(mock) as client:
        yield client


@pytest.fixture
def client(mock: MockServer) -> Iterator[openai.AzureOpenAI]:
    with azure_client(mock) as sdk:
        yield sdk


def ask(client: openai.AzureOpenAI | openai.OpenAI, text: str = "hello", **params: Any) -> Any:
    return client.chat.completions.create(model=MODEL, messages=user(text), **params)


def only_entry(server: MockServer) -> JournalEntry:
    # An entry is written just after the reply (a stream's last frame) left: wait, bounded.
    entries = poll(lambda: server.requests or None, "the journal entry")
    assert len(entries) == 1, entries
    return entries[0]


# --- what an entry records ---------------------------------------------------------------------


def test_an_answered_request_is_recorded_in_full(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    ask(client, "What is the weather?", reasoning_effort="low")
    entry = only_entry(mock)
    assert entry.method == "POST"
    assert entry.path == chat_route()
    assert entry.query == {"api-version": API_VERSION}
    assert entry.status == 200
    assert entry.source == "generator"
    assert entry.stub_id is None
    assert entry.surface == "dated"
    assert entry.deployment == MODEL
    assert entry.stream is False
    assert entry.disconnected is False
    assert entry.duration_ms > 0
    assert entry.body_text is None
    assert entry.body["messages"] == [{"role": "user", "content": "What is the weather?"}]
    assert entry.body["reasoning_effort"] == "low"
    assert entry.id >= 1
    assert entry.time > 0


def test_a_stubbed_request_names_its_stub(mock: MockServer, client: openai.AzureOpenAI) -> None:
    stub = mock.stub(answer={"content": "stubbed"})
    ask(client)
    entry = only_entry(mock)
    assert entry.source == f"stub:{stub.id}"
    assert entry.stub_id == stub.id


def test_a_v1_request_records_its_surface_and_deployment(mock: MockServer) -> None:
    with v1_client(mock) as client:
        ask(client)
    entry = only_entry(mock)
    assert entry.surface == "v1"
    assert entry.path == "/openai/v1/chat/completions"
    assert entry.query == {}
    assert entry.deployment == MODEL
    assert entry.body["model"] == MODEL


def test_a_streamed_request_is_marked_stream(mock: MockServer, client: openai.AzureOpenAI) -> None:
    assert list(ask(client, stream=True))
    entry = only_entry(mock)
    assert entry.stream is True
    assert entry.status == 200
    assert entry.disconnected is False


def test_a_backend_error_is_recorded_with_its_status(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    with pytest.raises(openai.BadRequestError):
        ask(client, temperature=0.5)
    entry = only_entry(mock)
    assert entry.status == 400
    assert entry.source == "generator"
    assert entry.deployment == MODEL


def test_an_unknown_deployment_is_refused_by_the_gateway(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-deployment", messages=user("hi"))
    entry = only_entry(mock)
    assert (entry.status, entry.source, entry.stub_id) == (404, "gateway", None)
    assert entry.path == chat_route("no-such-deployment")


def test_a_stub_does_not_answer_what_the_gateway_refused(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    mock.stub(answer={"content": "stubbed"})
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-deployment", messages=user("hi"))
    assert only_entry(mock).source == "gateway"


def test_a_wrong_key_is_refused_by_the_gateway() -> None:
    with MockServer(api_keys=["the-right-key"]) as keyed:
        with (
            azure_client(keyed, api_key="the-wrong-key") as client,
            pytest.raises(openai.AuthenticationError),
        ):
            ask(client)
        entry = only_entry(keyed)
    assert (entry.status, entry.source) == (401, "gateway")
    assert entry.headers["api-key"] == "***"


def test_an_unknown_path_is_recorded_as_a_gateway_404(mock: MockServer) -> None:
    response = rawhttp.request(f"{mock.url}/openai/nowhere", "GET", headers=mock.session_headers)
    assert response.status == 404
    entry = only_entry(mock)
    assert (entry.method, entry.path, entry.status, entry.source) == (
        "GET",
        "/openai/nowhere",
        404,
        "gateway",
    )
    assert entry.surface == ""


# --- secrets and bodies ------------------------------------------------------------------------


def test_secret_headers_are_masked(mock: MockServer) -> None:
    with azure_client(mock, api_key=SECRET) as client:
        ask(client, extra_headers={"x-trace": "visible", "Cookie": "session=abc"})
    with v1_client(mock, api_key=SECRET) as client:
        ask(client)
    dated, v1 = mock.requests
    assert dated.headers["api-key"] == "***"
    assert dated.headers["cookie"] == "***"
    assert dated.headers["x-trace"] == "visible"
    assert v1.headers["authorization"] == "***"
    assert SECRET not in json.dumps([entry.to_json() for entry in mock.requests])


def test_the_admin_journal_never_shows_a_secret(mock: MockServer, admin: httpx.Client) -> None:
    with azure_client(mock, api_key=SECRET) as client:
        ask(client)
    text = admin.get("/__admin/requests").text
    assert SECRET not in text
    assert '"api-key":"***"' in text


def test_a_body_that_is_not_json_is_kept_as_text(mock: MockServer) -> None:
    response = rawhttp.request(
        f"{mock.url}{chat_route()}?api-version={API_VERSION}",
        body=b"this is {not json",
        headers={"api-key": "k", **mock.session_headers},
    )
    assert response.status == 400
    entry = only_entry(mock)
    assert entry.body is None
    assert entry.body_text == "this is {not json"
    assert entry.status == 400


# --- the ring buffer ---------------------------------------------------------------------------


def test_the_journal_keeps_only_its_capacity_newest_first_dropped_last() -> None:
    with MockServer(journal_capacity=3) as small, azure_client(small) as client:
        for number in range(5):
            ask(client, f"question {number}")
        entries = small.requests
    assert len(entries) == 3
    assert [entry.body["messages"][0]["content"] for entry in entries] == [
        "question 2",
        "question 3",
        "question 4",
    ]
    ids = [entry.id for entry in entries]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3


# --- a client that goes away mid-stream --------------------------------------------------------


def test_a_client_disconnecting_mid_stream_is_recorded(mock: MockServer) -> None:
    # A long stubbed answer: far more frames than the socket buffers hold.
    mock.stub(answer={"content": " ".join(f"word{i}" for i in range(60_000))})
    with socket.create_connection(("127.0.0.1", mock.port), timeout=30) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(request_bytes(mock, {"messages": user("hi"), "stream": True}))
        first = sock.recv(4096)
        assert first.startswith(b"HTTP/1.1 200")
        # Close with a reset, without reading the rest.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    entry = poll(lambda: next(iter(mock.requests), None), "the journal entry")
    assert entry.disconnected is True
    assert entry.stream is True
    assert entry.status == 200


# --- verify, find, count -----------------------------------------------------------------------


def test_verify_passes_and_returns_the_matching_entries(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    ask(client, "What is the weather in Paris?")
    ask(client, "Book a flight")
    found = mock.verify(last_user_message={"contains": "weather"})
    assert [entry.body["messages"][0]["content"] for entry in found] == [
        "What is the weather in Paris?"
    ]
    assert len(mock.verify(count=2)) == 2
    assert mock.verify(RequestMatch(route="dated"), count=2)
    assert mock.verify({"last_user_message": {"regex": "^Book"}}, count=1)
    mock.verify(tools_offered=["get_weather"], count=0)


def test_verify_fails_with_the_nearest_requests_and_what_differed(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    ask(client, "hello there")
    ask(client, "What is the weather?", tools=[GET_WEATHER], tool_choice="none")
    first, second = mock.requests
    with pytest.raises(VerificationError) as caught:
        mock.verify(
            last_user_message={"contains": "weather"}, tools_offered=["get_weather"], count=2
        )
    assert isinstance(caught.value, AssertionError)
    lines = str(caught.value).splitlines()
    assert lines[0] == (
        'expected 2 request(s) matching {"last_user_message":{"contains":"weather"},'
        '"tools_offered":["get_weather"]}, found 1.'
    )
    assert lines[1] == "Nearest requests received:"
    # The nearest first: the one that matches, then the one with two differences.
    assert lines[2] == f"  #{second.id} POST {chat_route()} -> 200: matches"
    assert lines[3] == (
        f"  #{first.id} POST {chat_route()} -> 200: the last user message is 'hello there', "
        "which does not contain 'weather'; tools ['get_weather'] are not offered"
    )
    assert len(lines) == 4


def test_verify_on_an_empty_journal_says_so(mock: MockServer) -> None:
    with pytest.raises(VerificationError) as caught:
        mock.verify(stream=True)
    assert str(caught.value) == (
        'expected at least one request matching {"stream":true}, found 0.\n'
        "The journal holds no chat requests."
    )


def test_verify_shows_at_most_five_near_misses(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    for number in range(7):
        ask(client, f"question {number}")
    with pytest.raises(VerificationError) as caught:
        mock.verify(last_user_message={"equals": "question 9"})
    lines = str(caught.value).splitlines()
    assert len(lines) == 2 + 5
    assert all("which does not equal 'question 9'" in line for line in lines[2:])


def test_verify_a_header_by_any_spelling_of_its_name(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    """HTTP header names are case-insensitive: a stub matches `X-Tenant`, so must verify."""
    stub = mock.stub(match={"headers": {"X-Tenant": {"equals": "acme"}}}, answer={"content": "t"})
    ask(client, extra_headers={"X-Tenant": "acme"})
    assert only_entry(mock).stub_id == stub.id
    mock.verify(headers={"x-tenant": {"equals": "acme"}}, count=1)
    mock.verify(headers={"X-Tenant": {"equals": "acme"}}, count=1)


def test_find_and_count_with_filters(mock: MockServer, client: openai.AzureOpenAI) -> None:
    stub = mock.stub(match={"last_user_message": {"contains": "stub"}}, answer={"content": "s"})
    ask(client, "answer from the stub")
    ask(client, "answer from the generator")
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="missing", messages=user("hi"))
    assert [e.stub_id for e in mock.find(last_user_message={"contains": "stub"})] == [stub.id]
    assert len(mock.find()) == 3
    assert [e.status for e in mock.journal(source="gateway")] == [404]
    assert len(mock.journal(status=200)) == 2
    dated = mock.find(RequestMatch(route="dated"))
    assert [e.source for e in dated].count("generator") == 1
    assert len(mock.journal(source=f"stub:{stub.id}", status=200)) == 1
    assert mock.journal(deployment="missing") == []


# --- the admin view ----------------------------------------------------------------------------


def fill_journal(mock: MockServer, client: openai.AzureOpenAI) -> str:
    """Four requests: two from the generator, one stubbed, one refused (404); the stub id."""
    stub = mock.stub(match={"last_user_message": {"equals": "stubbed"}}, answer={"content": "s"})
    ask(client, "first")
    ask(client, "stubbed")
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="missing", messages=user("hi"))
    ask(client, "last")
    return stub.id


def contents(response: httpx.Response) -> list[str]:
    data = response.json()
    assert data["count"] == len(data["requests"])
    return [entry["body"]["messages"][0]["content"] for entry in data["requests"]]


def test_admin_lists_requests_with_filters(
    mock: MockServer, client: openai.AzureOpenAI, admin: httpx.Client
) -> None:
    stub_id = fill_journal(mock, client)
    assert contents(admin.get("/__admin/requests")) == ["first", "stubbed", "hi", "last"]
    assert contents(admin.get("/__admin/requests", params={"status": 404})) == ["hi"]
    assert contents(admin.get("/__admin/requests", params={"status": 200})) == [
        "first",
        "stubbed",
        "last",
    ]
    by_source = admin.get("/__admin/requests", params={"source": "generator"})
    assert contents(by_source) == ["first", "last"]
    by_stub = admin.get("/__admin/requests", params={"source": f"stub:{stub_id}"})
    assert contents(by_stub) == ["stubbed"]
    assert contents(admin.get("/__admin/requests", params={"limit": 2})) == ["hi", "last"]
    both = admin.get("/__admin/requests", params={"status": 200, "limit": 1})
    assert contents(both) == ["last"]
    entry = admin.get("/__admin/requests").json()["requests"][0]
    assert {"id", "method", "path", "status", "source", "stub_id", "duration_ms"} <= set(entry)


def test_admin_rejects_a_non_integer_status_or_limit(admin: httpx.Client) -> None:
    for params in ({"status": "ok"}, {"limit": "many"}):
        response = admin.get("/__admin/requests", params=params)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "InvalidRequest"


def test_admin_delete_clears_the_journal(
    mock: MockServer, client: openai.AzureOpenAI, admin: httpx.Client
) -> None:
    fill_journal(mock, client)
    assert admin.delete("/__admin/requests").status_code == 200
    assert mock.requests == []
    assert admin.get("/__admin/requests").json() == {"requests": [], "count": 0}
    assert len(mock.stubs()) == 1  # only the journal was cleared


def test_admin_find_and_count(
    mock: MockServer, client: openai.AzureOpenAI, admin: httpx.Client
) -> None:
    fill_journal(mock, client)
    match = {"last_user_message": {"regex": "^(first|last)$"}}
    assert contents(admin.post("/__admin/requests/find", json=match)) == ["first", "last"]
    assert admin.post("/__admin/requests/count", json=match).json() == {"count": 2}
    assert admin.post("/__admin/requests/count", content=b"").json() == {"count": 4}
    bad = admin.post("/__admin/requests/count", json={"last_user": "first"})
    assert bad.status_code == 400
    assert "last_user" in bad.json()["error"]["message"]


def test_admin_verify(mock: MockServer, client: openai.AzureOpenAI, admin: httpx.Client) -> None:
    fill_journal(mock, client)
    ok = admin.post(
        "/__admin/requests/verify",
        json={"match": {"last_user_message": {"equals": "first"}}, "count": 1},
    )
    assert ok.status_code == 200
    assert ok.json() == {"matched": 1}
    failed = admin.post(
        "/__admin/requests/verify",
        json={"match": {"last_user_message": {"equals": "second"}}},
    )
    assert failed.status_code == 409
    error = failed.json()["error"]
    assert error["code"] == "VerificationFailed"
    lines = error["message"].splitlines()
    assert lines[0] == (
        'expected at least one request matching {"last_user_message":{"equals":"second"}}, found 0.'
    )
    assert lines[1] == "Nearest requests received:"
    reason = "the last user message is 'first', which does not equal 'second'"
    assert any(reason in line for line in lines)


# --- after a LangChain agent run ---------------------------------------------------------------


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return json.dumps({"city": city, "temperature": 21, "unit": "celsius"})


def test_the_journal_after_a_langchain_agent_run(mock: MockServer) -> None:
    mock.stub(
        match={"tools_offered": ["get_weather"], "tool_result_present": False},
        answer={"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
    )
    mock.stub(match={"tool_result_present": True}, answer={"content": "It is 21 °C in Paris."})
    llm = azure_chat_model(mock, api_key=SecretStr("any-key"))
    agent = llm.bind_tools([get_weather])
    messages: list[Any] = [HumanMessage("What is the weather in Paris?")]
    first = agent.invoke(messages)
    assert isinstance(first, AIMessage)
    assert [call["name"] for call in first.tool_calls] == ["get_weather"]
    call = first.tool_calls[0]
    assert call["args"] == {"city": "Paris"}
    result = get_weather.invoke(call["args"])  # the test runs the tool, as an agent would
    messages += [first, ToolMessage(result, tool_call_id=call["id"])]
    final = agent.invoke(messages)
    assert final.content == "It is 21 °C in Paris."
    entries = mock.requests
    assert len(entries) == 2
    roles = [message["role"] for message in entries[1].body["messages"]]
    assert roles == ["user", "assistant", "tool"]
    tool_message = entries[1].body["messages"][2]
    assert tool_message["tool_call_id"] == call["id"]
    assert json.loads(tool_message["content"])["temperature"] == 21
    mock.verify(tool_result_present=True, count=1)
    mock.verify(tools_offered=["get_weather"], count=2)
