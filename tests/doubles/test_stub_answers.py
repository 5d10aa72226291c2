"""Every kind of stub answer, seen through the real `openai` SDK, streamed and not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from mockserver.testing.server import MockServer
from mockserver.tokens import counting as tokens
from tests.doubles.helpers import (
    FLIGHTS_SCHEMA,
    GET_WEATHER,
    SEARCH_FLIGHTS,
    TOOL_CALL_ID_PREFIX,
    WEATHER_SCHEMA,
    rebuild,
)
from tests.support import rawhttp
from tests.support.chat import user
from tests.support.clients import azure_client
from tests.support.schemas import assert_valid

MODEL = "o3-mini"
LONG_TEXT = " ".join(f"word{i}" for i in range(3000))
# Hidden tokens o3-mini bills with a text answer beside reasoning and the visible text
# (real: 87 = 64 + 13 + 10 for "hello", tests/sdk/test_real_o3mini_usage.py).
TEXT_FRAMING = 13


@pytest.fixture
def client(mock: MockServer) -> Iterator[openai.AzureOpenAI]:
    with azure_client(mock) as sdk:
        yield sdk


def ask(client: openai.AzureOpenAI, text: str = "hello", **params: Any) -> Any:
    return client.chat.completions.create(model=MODEL, messages=user(text), **params)


# --- content ---------------------------------------------------------------------------------


def test_content_is_the_reply(mock: MockServer, client: openai.AzureOpenAI) -> None:
    stub = mock.stub(answer={"content": "The capital of France is Paris."})
    reply = ask(client, "What is the capital of France?")
    choice = reply.choices[0]
    assert choice.message.content == "The capital of France is Paris."
    assert choice.message.refusal is None
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert reply.model == "o3-mini-2025-01-31"
    assert mock.requests[-1].stub_id == stub.id


def test_content_usage_counts_reasoning_and_the_content(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    content = "The capital of France is Paris."
    mock.stub(answer={"content": content})
    usage = ask(client).usage
    assert usage is not None
    assert usage.completion_tokens_details is not None
    reasoning = usage.completion_tokens_details.reasoning_tokens
    assert reasoning is not None
    assert reasoning > 0
    assert usage.completion_tokens == reasoning + TEXT_FRAMING + tokens.count(content)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_a_two_token_content_adds_two_completion_tokens(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    mock.stub(answer={"content": "Hello world"})  # "Hello", " world" in o200k_base
    usage = ask(client).usage
    assert usage is not None
    assert usage.completion_tokens_details is not None
    reasoning = usage.completion_tokens_details.reasoning_tokens or 0
    assert usage.completion_tokens == reasoning + TEXT_FRAMING + 2


def test_max_completion_tokens_cuts_a_stubbed_content(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    mock.stub(answer={"content": LONG_TEXT})
    reply = ask(client, max_completion_tokens=600, reasoning_effort="low")
    choice = reply.choices[0]
    assert choice.finish_reason == "length"
    assert choice.message.content
    assert LONG_TEXT.startswith(choice.message.content)
    assert len(choice.message.content) < len(LONG_TEXT)
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 600


# --- tool calls ------------------------------------------------------------------------------


def test_tool_call_with_arguments_as_an_object(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    arguments = {"city": "Paris", "unit": "celsius", "days": 3}
    mock.stub(answer={"tool_calls": [{"name": "get_weather", "arguments": arguments}]})
    choice = ask(client, "weather in Paris", tools=[GET_WEATHER]).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls
    assert calls is not None
    assert len(calls) == 1
    assert calls[0].type == "function"
    assert calls[0].id.startswith(TOOL_CALL_ID_PREFIX)
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == arguments


def test_tool_call_with_arguments_as_a_json_string_is_sent_verbatim(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    text = '{"city": "Oslo", "unit": "fahrenheit", "days": 1}'
    mock.stub(answer={"tool_calls": [{"name": "get_weather", "arguments": text}]})
    calls = ask(client, tools=[GET_WEATHER]).choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].function.arguments == text


def test_tool_call_without_arguments_gets_them_generated_from_the_schema(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    mock.stub(answer={"tool_calls": [{"name": "search_flights"}]})
    choice = ask(client, "hello", tools=[GET_WEATHER, SEARCH_FLIGHTS]).choices[0]
    calls = choice.message.tool_calls
    assert calls is not None
    assert [call.function.name for call in calls] == ["search_flights"]
    assert_valid(json.loads(calls[0].function.arguments), FLIGHTS_SCHEMA)


def test_several_tool_calls_in_one_answer(mock: MockServer, client: openai.AzureOpenAI) -> None:
    paris = {"city": "Paris", "unit": "celsius", "days": 2}
    mock.stub(
        answer={
            "tool_calls": [
                {"name": "get_weather", "arguments": paris},
                {"name": "search_flights"},
                {"name": "get_weather"},
            ]
        }
    )
    choice = ask(client, tools=[GET_WEATHER, SEARCH_FLIGHTS]).choices[0]
    calls = choice.message.tool_calls
    assert calls is not None
    assert [call.function.name for call in calls] == [
        "get_weather",
        "search_flights",
        "get_weather",
    ]
    assert json.loads(calls[0].function.arguments) == paris
    assert_valid(json.loads(calls[1].function.arguments), FLIGHTS_SCHEMA)
    assert_valid(json.loads(calls[2].function.arguments), WEATHER_SCHEMA)
    assert len({call.id for call in calls}) == 3
    assert choice.finish_reason == "tool_calls"


# --- structured output and refusal -----------------------------------------------------------


class Ticket(BaseModel):
    title: str
    priority: int
    labels: list[str]


TICKET = {"title": "Login fails", "priority": 2, "labels": ["auth", "urgent"]}


def test_structured_output_is_sent_as_the_content(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    mock.stub(answer={"structured_output": TICKET})
    content = ask(client).choices[0].message.content
    assert content is not None
    assert json.loads(content) == TICKET


def test_structured_output_parses_into_the_model(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    mock.stub(answer={"structured_output": TICKET})
    reply = client.chat.completions.parse(
        model=MODEL, messages=user("file a ticket"), response_format=Ticket
    )
    assert reply.choices[0].message.parsed == Ticket.model_validate(TICKET)
    assert mock.requests[-1].body["response_format"]["type"] == "json_schema"


def test_refusal_sets_the_refusal_and_no_content(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    mock.stub(answer={"refusal": "I can't help with that."})
    choice = ask(client).choices[0]
    assert choice.message.refusal == "I can't help with that."
    assert choice.message.content is None
    assert choice.finish_reason == "stop"


def test_refusal_through_parse_gives_no_parsed_value(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    mock.stub(answer={"refusal": "I can't help with that."})
    reply = client.chat.completions.parse(
        model=MODEL, messages=user("file a ticket"), response_format=Ticket
    )
    message = reply.choices[0].message
    assert message.parsed is None
    assert message.refusal == "I can't help with that."


# --- errors ----------------------------------------------------------------------------------


def test_error_by_name_deployment_not_found(mock: MockServer, client: openai.AzureOpenAI) -> None:
    stub = mock.stub(answer={"error": {"name": "DeploymentNotFound"}})
    with pytest.raises(openai.NotFoundError) as caught:
        ask(client)
    assert caught.value.status_code == 404
    assert caught.value.code == "DeploymentNotFound"
    entry = mock.requests[-1]
    assert (entry.status, entry.stub_id) == (404, stub.id)


def test_error_by_name_with_values(mock: MockServer, client: openai.AzureOpenAI) -> None:
    values = {"context_window": 200000, "prompt_tokens": 250123}
    mock.stub(answer={"error": {"name": "context_length_exceeded", "values": values}})
    with pytest.raises(openai.BadRequestError) as caught:
        ask(client)
    error = caught.value
    assert error.code == "context_length_exceeded"
    assert error.param == "messages"
    assert isinstance(error.body, dict)
    assert error.body["message"] == (
        "This model's maximum context length is 200000 tokens. However, your messages "
        "resulted in 250123 tokens. Please reduce the length of the messages."
    )


def test_error_by_name_is_filled_from_the_request(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    """No `values`: the placeholders take what the request and the model say, as when the
    mock sends the same error itself."""
    prompt = ask(client).usage.prompt_tokens
    mock.stub(answer={"error": {"name": "context_length_exceeded_with_completion"}}, times=1)
    with pytest.raises(openai.BadRequestError) as caught:
        ask(client, max_completion_tokens=5000)
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["message"] == (
        f"This model's maximum context length is 200000 tokens. However, you requested "
        f"{prompt + 5000} tokens ({prompt} in the messages, 5000 in the completion). Please "
        "reduce the length of the messages or completion."
    )
    mock.stub(answer={"error": {"name": "server_error"}}, times=1)
    with pytest.raises(openai.InternalServerError) as failed:
        client.with_options(max_retries=0).chat.completions.create(
            model=MODEL, messages=user("hello")
        )
    request_id = failed.value.response.headers["apim-request-id"]
    assert isinstance(failed.value.body, dict)
    assert f"(Please include the request ID {request_id} in your message.)" in str(
        failed.value.body["message"]
    )


@pytest.mark.parametrize("retry_after", [-5, 1.5, "30", "\r\nX-Injected: 1", True, 86_401])
def test_a_stubs_retry_after_is_whole_seconds_or_the_stub_is_refused(
    mock: MockServer, retry_after: object
) -> None:
    """The message's N and the retry-after headers are made from it: a value that is not
    whole seconds would have them disagree."""
    stub = {
        "answer": {"error": {"name": "rate_limit_tokens", "values": {"retry_after": retry_after}}}
    }
    added = rawhttp.request(mock.url + "/__admin/stubs", body=stub, headers=mock.session_headers)
    assert added.status == 400, added.body
    assert "values.retry_after is whole seconds" in added.body.decode()
    assert mock.stubs() == []


@pytest.mark.parametrize(
    ("values", "seconds", "milliseconds"),
    [({}, "1", "10"), ({"retry_after": 30}, "30", "30000")],
)
def test_a_stubbed_429_says_when_to_retry(
    mock: MockServer,
    client: openai.AzureOpenAI,
    values: dict[str, int],
    seconds: str,
    milliseconds: str,
) -> None:
    """As Azure's 429s do: the message's N, `retry-after` and `retry-after-ms` agree (the
    default delay is the server's `fault_retry_after_ms`, 10 ms: "1 second")."""
    mock.stub(answer={"error": {"name": "rate_limit_tokens", "values": values}}, times=1)
    with pytest.raises(openai.RateLimitError) as caught:
        client.with_options(max_retries=0).chat.completions.create(
            model=MODEL, messages=user("hello")
        )
    headers = caught.value.response.headers
    assert (headers["retry-after"], headers["retry-after-ms"]) == (seconds, milliseconds)
    assert isinstance(caught.value.body, dict)
    message = str(caught.value.body["message"])
    assert "API version 2025-04-01-preview have exceeded token rate limit" in message
    assert f"Please retry after {seconds} seconds." in message and "{" not in message


def test_the_sdk_retries_a_stubbed_429_and_gets_the_answer(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    mock.stub(answer={"error": {"name": "rate_limit_tokens"}}, times=1)
    reply = client.with_options(max_retries=1).chat.completions.create(
        model=MODEL, messages=user("hello")
    )
    assert reply.choices[0].message.content
    assert [entry.status for entry in mock.requests] == [429, 200]


def test_error_by_name_content_filter(mock: MockServer, client: openai.AzureOpenAI) -> None:
    mock.stub(answer={"error": {"name": "content_filter"}})
    with pytest.raises(openai.BadRequestError) as caught:
        ask(client)
    assert caught.value.code == "content_filter"
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["innererror"]["code"] == "ResponsibleAIPolicyViolation"
    # What clients look for in the error's text (Azure's typographic apostrophe).
    assert "triggering Azure OpenAI\u2019s content management policy" in str(caught.value)


def test_error_by_status_and_body(mock: MockServer, client: openai.AzureOpenAI) -> None:
    body = {"error": {"code": "Busy", "message": "The deployment is busy, try later."}}
    mock.stub(answer={"error": {"status": 409, "body": body}})
    with pytest.raises(openai.ConflictError) as caught:
        ask(client)
    assert caught.value.status_code == 409
    assert caught.value.body == body["error"]
    assert caught.value.code == "Busy"
    assert caught.value.response.json() == body


def test_error_by_status_503_is_retryable_server_error(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    body = {"error": {"code": "Unavailable", "message": "down"}}
    mock.stub(answer={"error": {"status": 503, "body": body}})
    with pytest.raises(openai.InternalServerError) as caught:
        ask(client)
    assert caught.value.status_code == 503


# --- faults ----------------------------------------------------------------------------------


def test_fault_500(mock: MockServer, client: openai.AzureOpenAI) -> None:
    stub = mock.stub(answer={"fault": "500"})
    with pytest.raises(openai.InternalServerError) as caught:
        ask(client)
    assert caught.value.status_code == 500
    entry = mock.requests[-1]
    assert (entry.status, entry.source) == (500, f"stub:{stub.id}")


def test_fault_reset_is_a_connection_error(mock: MockServer, client: openai.AzureOpenAI) -> None:
    mock.stub(answer={"fault": "reset"})
    with pytest.raises(openai.APIConnectionError):
        ask(client)


def test_fault_stream_error_raises_mid_stream(mock: MockServer, client: openai.AzureOpenAI) -> None:
    mock.stub(answer={"fault": "stream-error"})
    received: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in ask(client, stream=True):
            received += [choice.delta.content or "" for choice in chunk.choices]
    assert not isinstance(caught.value, openai.APIStatusError)
    assert "The server had an error while processing your request" in caught.value.message
    assert "".join(received)  # some content arrived before the error


def test_a_fault_stub_only_applies_to_what_it_matches(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    mock.stub(match={"last_user_message": {"contains": "crash"}}, answer={"fault": "500"})
    assert ask(client, "hello").choices[0].message.content
    with pytest.raises(openai.InternalServerError):
        ask(client, "please crash")


# --- usage, content filter, delay --------------------------------------------------------------


def test_usage_override(mock: MockServer, client: openai.AzureOpenAI) -> None:
    usage = {
        "prompt_tokens": 11,
        "completion_tokens": 29,
        "reasoning_tokens": 17,
        "cached_tokens": 5,
    }
    mock.stub(answer={"content": "short", "usage": usage})
    reported = ask(client).usage
    assert reported is not None
    assert reported.prompt_tokens == 11
    assert reported.completion_tokens == 29
    assert reported.total_tokens == 40
    assert reported.completion_tokens_details is not None
    assert reported.completion_tokens_details.reasoning_tokens == 17
    assert reported.prompt_tokens_details is not None
    assert reported.prompt_tokens_details.cached_tokens == 5


def test_a_partial_usage_override_keeps_the_rest(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    mock.stub(answer={"content": "Hello world", "usage": {"prompt_tokens": 1000}})
    reported = ask(client).usage
    assert reported is not None
    assert reported.prompt_tokens == 1000
    assert reported.completion_tokens_details is not None
    reasoning = reported.completion_tokens_details.reasoning_tokens or 0
    assert reported.completion_tokens == reasoning + TEXT_FRAMING + 2
    assert reported.total_tokens == 1000 + reported.completion_tokens


def test_content_filter_verdict(mock: MockServer, client: openai.AzureOpenAI) -> None:
    mock.stub(answer={"content": "something violent", "content_filter": {"violence": "high"}})
    choice = ask(client).choices[0]
    assert choice.finish_reason == "content_filter"
    assert choice.message.content is None
    results = (choice.model_extra or {})["content_filter_results"]
    assert results["violence"] == {"filtered": True, "severity": "high"}
    assert results["hate"] == {"filtered": False, "severity": "safe"}
    assert all(not verdict["filtered"] for name, verdict in results.items() if name != "violence")


def test_delay_ms_still_answers(mock: MockServer, client: openai.AzureOpenAI) -> None:
    stub = mock.stub(answer={"content": "late but here", "delay_ms": 250})
    assert ask(client).choices[0].message.content == "late but here"
    assert mock.requests[-1].stub_id == stub.id


def test_a_delay_only_stub_lets_the_generator_write_the_reply(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    mock.stub(answer={"delay_ms": 50})
    delayed = ask(client, "Tell me about Python packaging").choices[0].message.content
    mock.reset()
    plain = ask(client, "Tell me about Python packaging").choices[0].message.content
    assert delayed
    assert delayed == plain


# --- streaming -------------------------------------------------------------------------------


def test_streamed_content_rebuilds_to_the_stub(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    content = "Streaming, one token at a time: héllo wörld 🌍, and done."
    mock.stub(answer={"content": content})
    chunks = list(ask(client, stream=True, stream_options={"include_usage": True}))
    rebuilt = rebuild(chunks)
    assert rebuilt.content == content
    assert rebuilt.finish_reason == "stop"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    usage = rebuilt.usage
    assert usage is not None
    assert usage.completion_tokens == usage.completion_tokens_details.reasoning_tokens + (
        TEXT_FRAMING + tokens.count(content)
    )


def test_streamed_tool_call_rebuilds_to_the_stub(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    arguments = {"city": "Paris", "unit": "celsius", "days": 5}
    mock.stub(
        answer={
            "tool_calls": [
                {"name": "get_weather", "arguments": arguments},
                {"name": "search_flights", "arguments": '{"origin": "CDG"}'},
            ]
        }
    )
    rebuilt = rebuild(ask(client, tools=[GET_WEATHER, SEARCH_FLIGHTS], stream=True))
    assert rebuilt.finish_reason == "tool_calls"
    assert rebuilt.content == ""
    assert sorted(rebuilt.calls) == [0, 1]
    first, second = rebuilt.calls[0], rebuilt.calls[1]
    assert first.name == "get_weather"
    assert json.loads(first.arguments) == arguments
    assert second.name == "search_flights"
    assert second.arguments == '{"origin": "CDG"}'
    assert first.id.startswith(TOOL_CALL_ID_PREFIX)
    assert first.id != second.id


def test_streamed_tool_call_matches_the_unstreamed_one(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    mock.stub(answer={"tool_calls": [{"name": "get_weather"}]})
    streamed = rebuild(ask(client, "same question", tools=[GET_WEATHER], stream=True))
    whole = ask(client, "same question", tools=[GET_WEATHER]).choices[0].message.tool_calls
    assert whole is not None
    assert streamed.calls[0].name == whole[0].function.name
    assert streamed.calls[0].arguments == whole[0].function.arguments
    assert_valid(json.loads(streamed.calls[0].arguments), WEATHER_SCHEMA)


def test_streamed_refusal_rebuilds_to_the_stub(
    mock: MockServer, client: openai.AzureOpenAI
) -> None:
    """Azure streams a refusal in `delta.refusal`; the SDK accumulates it from there."""
    mock.stub(answer={"refusal": "I can't help with that."})
    rebuilt = rebuild(ask(client, stream=True))
    assert rebuilt.refusal == "I can't help with that."
    assert rebuilt.content == ""
    assert rebuilt.finish_reason == "stop"


def test_streamed_content_filter_verdict(mock: MockServer, client: openai.AzureOpenAI) -> None:
    """The filtered category is flagged in the stream too, not only in the JSON reply."""
    mock.stub(answer={"content": "something violent", "content_filter": {"violence": "high"}})
    rebuilt = rebuild(ask(client, stream=True))
    assert rebuilt.finish_reason == "content_filter"
    assert rebuilt.content == ""
    flagged = [r["violence"] for r in rebuilt.filter_results if "violence" in r]
    assert {"filtered": True, "severity": "high"} in flagged
