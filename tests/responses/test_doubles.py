"""Stubs, faults and the journal work for the Responses API as for chat completions."""

from __future__ import annotations

import openai
import pytest
from openai.types.responses import FunctionToolParam

from mockserver.testing.server import MockServer
from tests.responses.helpers import WEATHER_TOOL, assert_valid, post
from tests.support.sse import named_events


def test_a_stub_answers_and_the_journal_records_it(
    mock: MockServer, azure: openai.AzureOpenAI
) -> None:
    stub = mock.stub(answer={"content": "The capital of France is Paris."})
    response = azure.responses.create(model="o3-mini", input="Capital of France?")
    assert response.output_text == "The capital of France is Paris."
    entry = mock.requests[-1]
    assert entry.stub_id == stub.id
    assert (entry.status, entry.deployment, entry.surface) == (200, "o3-mini", "dated")


def test_a_streamed_stub_joins_to_its_content(mock: MockServer, azure: openai.AzureOpenAI) -> None:
    mock.stub(answer={"content": "Hello world, twice over."})
    with azure.responses.stream(model="o3-mini", input="hi") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "Hello world, twice over."


def test_a_stubbed_tool_call_is_a_function_call_item(
    mock: MockServer, azure: openai.AzureOpenAI
) -> None:
    mock.stub(answer={"tool_calls": [{"name": "get_weather", "arguments": {"city": "Lyon"}}]})
    tools: list[FunctionToolParam] = [WEATHER_TOOL]
    response = azure.responses.create(model="o3-mini", input="hi", tools=tools)
    call = response.output[-1]
    assert call.type == "function_call"
    assert (call.name, call.arguments) == ("get_weather", '{"city":"Lyon"}')


def test_a_refusal_is_a_refusal_part(mock: MockServer) -> None:
    mock.stub(answer={"refusal": "I can't help with that."})
    body = post(mock, {"model": "o3-mini", "input": "hi"}).json()
    assert body["output"][-1]["content"] == [
        {"type": "refusal", "refusal": "I can't help with that."}
    ]
    assert_valid("response", body)
    events = named_events(post(mock, {"model": "o3-mini", "input": "hi", "stream": True}).body)
    refusal = [data["delta"] for name, data in events if name == "response.refusal.delta"]
    assert "".join(refusal) == "I can't help with that."
    for _, data in events:
        assert_valid("responseStreamEvent", data)


def test_filtered_output_is_incomplete(mock: MockServer) -> None:
    mock.stub(answer={"content": "Something violent.", "content_filter": {"violence": "high"}})
    body = post(mock, {"model": "o3-mini", "input": "hi"}).json()
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "content_filter"}
    assert_valid("response", body)


def test_a_stubbed_error_keeps_its_body(mock: MockServer, azure: openai.AzureOpenAI) -> None:
    mock.stub(answer={"fault": "429"})
    with pytest.raises(openai.RateLimitError):
        azure.responses.create(model="o3-mini", input="hi")


def test_fault_header_applies(mock: MockServer, azure: openai.AzureOpenAI) -> None:
    with pytest.raises(openai.InternalServerError):
        azure.responses.create(model="o3-mini", input="hi", extra_headers={"x-mock-fault": "500"})


def test_stream_error_fault_is_the_responses_error_event(azure: openai.AzureOpenAI) -> None:
    """A late failure on the Responses API is a typed `error` event, numbered in sequence,
    and the stream ends without response.completed."""
    with azure.responses.stream(
        model="o3-mini", input="hi", extra_headers={"x-mock-fault": "stream-error"}
    ) as stream:
        events = list(stream)
    last = events[-1]
    assert last.type == "error"
    assert last.code == "server_error"
    assert last.message.startswith("The server had an error while processing your request.")
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "response.completed" not in [e.type for e in events]


def test_cut_stream_fault_breaks_the_sdk_stream(azure: openai.AzureOpenAI) -> None:
    with (
        pytest.raises(openai.APIConnectionError),
        azure.responses.stream(
            model="o3-mini", input="hi", extra_headers={"x-mock-fault": "cut-stream"}
        ) as stream,
    ):
        for _ in stream:
            pass
