"""The Responses API through the real `openai` SDK, on the dated and the v1 surface."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.types.responses import FunctionToolParam
from pydantic import BaseModel

from mockserver.testing.server import MockServer
from tests.responses.helpers import WEATHER_TOOL, assert_valid
from tests.support.chat import MODEL_ID


def test_azure_client_calls_the_dated_responses_route(
    mock: MockServer, azure: openai.AzureOpenAI
) -> None:
    response = azure.responses.create(model="o3-mini", input="What is the capital of France?")
    entry = mock.requests[-1]
    assert entry.path == "/openai/responses"
    assert response.object == "response"
    assert response.id.startswith("resp_")
    assert response.model == MODEL_ID
    assert response.status == "completed"
    assert response.output_text
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert_valid("response", response.model_dump(mode="json", exclude_unset=True))


def test_usage_counts_reasoning_within_output(azure: openai.AzureOpenAI) -> None:
    response = azure.responses.create(model="o3-mini", input="Explain tides briefly.")
    usage = response.usage
    assert usage is not None
    assert usage.output_tokens_details.reasoning_tokens > 0
    assert usage.output_tokens > usage.output_tokens_details.reasoning_tokens
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def test_v1_client_answers_the_same_way(v1: openai.OpenAI) -> None:
    response = v1.responses.create(model="o3-mini", input="Tell me about owls", store=False)
    assert response.output_text
    assert response.to_dict()["store"] is False  # not a field of the SDK's Response


def test_function_call_round_trip(azure: openai.AzureOpenAI) -> None:
    tools: list[FunctionToolParam] = [WEATHER_TOOL]
    first = azure.responses.create(
        model="o3-mini", input="What is the weather in Paris?", tools=tools
    )
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert calls[0].call_id.startswith("call_") and (calls[0].id or "").startswith("fc_")
    assert set(json.loads(calls[0].arguments)) == {"city"}
    follow_up: Any = [
        {"role": "user", "content": "What is the weather in Paris?"},
        *[item.model_dump(exclude_none=True) for item in first.output],
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny, 21C"},
    ]
    second = azure.responses.create(model="o3-mini", input=follow_up, tools=tools, store=False)
    assert "sunny, 21C" in second.output_text
    assert [item.type for item in second.output] == ["reasoning", "message"]


def test_previous_response_id_continues_the_conversation(azure: openai.AzureOpenAI) -> None:
    tools: list[FunctionToolParam] = [WEATHER_TOOL]
    first = azure.responses.create(
        model="o3-mini", input="What is the weather in Oslo?", tools=tools
    )
    call = next(item for item in first.output if item.type == "function_call")
    second = azure.responses.create(
        model="o3-mini",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "snow"}],
        tools=tools,
    )
    assert second.previous_response_id == first.id
    assert "snow" in second.output_text
    assert first.usage is not None and second.usage is not None
    # The earlier turn (input and output) is counted as input again.
    assert second.usage.input_tokens > first.usage.input_tokens


class Country(BaseModel):
    name: str
    capital: str
    population: int


def test_parse_with_a_pydantic_model(azure: openai.AzureOpenAI) -> None:
    parsed = azure.responses.parse(model="o3-mini", input="Describe France.", text_format=Country)
    country = parsed.output_parsed
    assert isinstance(country, Country)
    assert parsed.text is not None and parsed.text.format is not None
    assert parsed.text.format.type == "json_schema"


def test_stream_events_in_order_and_deltas_join(azure: openai.AzureOpenAI) -> None:
    with azure.responses.stream(model="o3-mini", input="Tell me about rivers") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [event.type for event in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.output_item.done",
    ]
    assert kinds[4:6] == ["response.output_item.added", "response.content_part.added"]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert len(deltas) > 1
    assert "".join(deltas) == final.output_text
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert final.status == "completed"


def test_streamed_function_call(azure: openai.AzureOpenAI) -> None:
    tools: list[FunctionToolParam] = [WEATHER_TOOL]
    with azure.responses.stream(
        model="o3-mini", input="What is the weather in Rome?", tools=tools
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [event.type for event in events]
    assert "response.function_call_arguments.done" in kinds
    pieces = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    call = final.output[-1]
    assert call.type == "function_call"
    assert "".join(pieces) == call.arguments
    added = next(e for e in events if e.type == "response.output_item.added" and e.output_index)
    assert added.item.type == "function_call" and added.item.arguments == ""


def test_retrieve_and_delete(azure: openai.AzureOpenAI, v1: openai.OpenAI) -> None:
    created = azure.responses.create(model="o3-mini", input="Name a prime number")
    fetched = v1.responses.retrieve(created.id)
    assert fetched.model_dump() == created.model_dump()
    items = azure.responses.input_items.list(created.id)
    assert [item.type for item in items.data] == ["message"]
    assert items.data[0].model_dump()["content"][0]["text"] == "Name a prime number"
    azure.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        azure.responses.retrieve(created.id)


def test_store_false_is_not_retrievable(azure: openai.AzureOpenAI) -> None:
    created = azure.responses.create(model="o3-mini", input="hello", store=False)
    with pytest.raises(openai.NotFoundError) as raised:
        azure.responses.retrieve(created.id)
    assert raised.value.body == {
        "message": f"Response with id '{created.id}' not found.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_unsupported_parameter_through_the_sdk(azure: openai.AzureOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        azure.responses.create(model="o3-mini", input="hi", temperature=0.2)
    assert raised.value.code == "unsupported_parameter"
    assert raised.value.param == "temperature"


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_input_items_page_on_to_the_end(v1: openai.OpenAI, order: str) -> None:
    """The SDK pages with `after` = the last id while `has_more`: each item comes once and
    the listing ends (with `after` ignored, the first page came back and it never did)."""
    texts = [f"item {n}" for n in range(5)]
    inputs: Any = [{"role": "user", "content": text} for text in texts]
    created = v1.responses.create(model="o3-mini", input=inputs)
    listed = []
    for item in v1.responses.input_items.list(created.id, limit=2, order=order):  # type: ignore[arg-type]
        listed.append(item)
        assert len(listed) <= len(texts)  # a bound: a listing that loops fails here
    seen = [item.model_dump()["content"][0]["text"] for item in listed]
    assert seen == (texts if order == "asc" else texts[::-1])
