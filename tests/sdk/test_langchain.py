"""LangChain's `AzureChatOpenAI`, unmodified, against the mock: chat, tools, structured output.

What LangChain sends (observed with an httpx request hook, langchain-openai 1.x): for
`.invoke("hi")` only `{"messages": [...], "model": null, "stream": false}`; no `temperature`
unless the user sets one, and `max_tokens` goes out as `max_completion_tokens`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any, Literal

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_openai import AzureChatOpenAI
from pydantic import BaseModel, Field

from mockserver.testing.server import MockServer
from tests.sdk.helpers import DOC_MESSAGES, DOC_PROMPT_TOKENS, TOOL_CALL_ID
from tests.support.langchain import azure_chat_model
from tests.support.schemas import assert_valid

DOC_QUESTION: str = DOC_MESSAGES[0]["content"]


@tool
def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Get the current weather for a city."""
    return json.dumps({"city": city, "temperature": 21, "unit": unit})


class SearchFlights(BaseModel):
    """Search flights between two airports on a date."""

    origin: str = Field(description="IATA code of the departure airport")
    destination: str = Field(description="IATA code of the arrival airport")
    day: dt.date


class Person(BaseModel):
    """A person mentioned in the text."""

    name: str = Field(description="Full name")
    age: int = Field(ge=0, le=130)
    email: str | None = None
    role: Literal["engineer", "manager", "designer"]


class Sent:
    """The JSON bodies LangChain sent, seen by an httpx hook on the client side."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def hook(self, request: httpx.Request) -> None:
        self.bodies.append(json.loads(request.content))

    async def async_hook(self, request: httpx.Request) -> None:
        self.hook(request)

    @property
    def last(self) -> dict[str, Any]:
        assert self.bodies
        return self.bodies[-1]


@pytest.fixture
def sent() -> Sent:
    return Sent()


@pytest.fixture
def make_llm(server: MockServer, sent: Sent) -> Iterator[Callable[..., AzureChatOpenAI]]:
    clients: list[httpx.Client] = []

    def make(**options: Any) -> AzureChatOpenAI:
        http_client = httpx.Client(event_hooks={"request": [sent.hook]})
        clients.append(http_client)
        return azure_chat_model(server, http_client=http_client, **options)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def llm(make_llm: Callable[..., AzureChatOpenAI]) -> AzureChatOpenAI:
    return make_llm()


def weather_parameters() -> dict[str, Any]:
    parameters: dict[str, Any] = convert_to_openai_tool(get_weather)["function"]["parameters"]
    return parameters


# --- plain chat --------------------------------------------------------------------------------


def test_invoke(llm: AzureChatOpenAI, sent: Sent) -> None:
    message = llm.invoke("hi")
    assert isinstance(message, AIMessage)
    assert isinstance(message.content, str)
    assert message.content
    assert message.tool_calls == []
    usage = message.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    reasoning = usage.get("output_token_details", {}).get("reasoning")
    assert reasoning is not None
    assert 0 < reasoning < usage["output_tokens"]
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.response_metadata["model_name"] == "o3-mini-2025-01-31"
    # What LangChain sent: nothing o3-mini refuses.
    assert sent.last["messages"] == [{"role": "user", "content": "hi"}]
    refused = {"temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty"}
    assert not refused & set(sent.last)


def test_invoke_counts_the_doc_prompt(llm: AzureChatOpenAI) -> None:
    message = llm.invoke([HumanMessage(DOC_QUESTION)])
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] == DOC_PROMPT_TOKENS


def test_max_tokens_goes_out_as_max_completion_tokens(
    make_llm: Callable[..., AzureChatOpenAI], sent: Sent
) -> None:
    message = make_llm(max_tokens=40, reasoning_effort="low").invoke("hi")
    assert sent.last["max_completion_tokens"] == 40
    assert "max_tokens" not in sent.last
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] == 40
    assert message.response_metadata["finish_reason"] == "length"


def test_explicit_temperature_is_refused_as_on_azure(
    make_llm: Callable[..., AzureChatOpenAI], sent: Sent
) -> None:
    """LangChain passes a temperature the user sets; o3-mini refuses it."""
    with pytest.raises(openai.BadRequestError) as caught:
        make_llm(temperature=0.2).invoke("hi")
    assert sent.last["temperature"] == 0.2
    assert caught.value.code == "unsupported_parameter"
    assert caught.value.param == "temperature"


async def test_ainvoke(make_llm: Callable[..., AzureChatOpenAI], sent: Sent) -> None:
    hooks: dict[str, Any] = {"request": [sent.async_hook]}
    async with httpx.AsyncClient(event_hooks=hooks) as http_async_client:
        llm = make_llm(http_async_client=http_async_client)
        message = await llm.ainvoke("Tell me about Python packaging")
    assert sent.last["messages"][0]["content"] == "Tell me about Python packaging"
    assert isinstance(message, AIMessage)
    assert message.content
    assert message.usage_metadata is not None


# --- tools -------------------------------------------------------------------------------------


def test_bind_tools_with_a_tool_function(llm: AzureChatOpenAI, sent: Sent) -> None:
    message = llm.bind_tools([get_weather]).invoke("What is the weather in Paris?")
    assert isinstance(message, AIMessage)
    assert message.response_metadata["finish_reason"] == "tool_calls"
    assert len(message.tool_calls) == 1
    call = message.tool_calls[0]
    assert call["name"] == "get_weather"
    assert call["id"] is not None
    assert TOOL_CALL_ID.match(call["id"])
    assert_valid(call["args"], weather_parameters())
    assert sent.last["tools"][0]["function"]["name"] == "get_weather"
    get_weather.invoke(call["args"])  # the tool accepts what the model produced


def test_bind_tools_with_a_pydantic_model(llm: AzureChatOpenAI) -> None:
    message = llm.bind_tools([get_weather, SearchFlights]).invoke(
        "Search flights from BOS to DEN next Friday."
    )
    assert isinstance(message, AIMessage)
    assert len(message.tool_calls) == 1
    call = message.tool_calls[0]
    assert call["name"] == "SearchFlights"
    flights = SearchFlights.model_validate(call["args"])
    assert isinstance(flights.day, dt.date)


@pytest.mark.parametrize("tool_choice", ["any", "required", "get_weather"])
def test_bind_tools_forced(llm: AzureChatOpenAI, tool_choice: str) -> None:
    message = llm.bind_tools([get_weather], tool_choice=tool_choice).invoke("Hello!")
    assert isinstance(message, AIMessage)
    assert [call["name"] for call in message.tool_calls] == ["get_weather"]
    assert_valid(message.tool_calls[0]["args"], weather_parameters())
    expected = "stop" if tool_choice == "get_weather" else "tool_calls"
    assert message.response_metadata["finish_reason"] == expected


def test_strict_bound_tool(llm: AzureChatOpenAI, sent: Sent) -> None:
    message = llm.bind_tools([SearchFlights], strict=True).invoke("Find flights to Denver")
    assert sent.last["tools"][0]["function"]["strict"] is True
    assert isinstance(message, AIMessage)
    assert [call["name"] for call in message.tool_calls] == ["SearchFlights"]
    SearchFlights.model_validate(message.tool_calls[0]["args"])


def test_tool_loop_ends_with_an_answer(llm: AzureChatOpenAI) -> None:
    bound = llm.bind_tools([get_weather])
    history: list[Any] = [HumanMessage("What is the weather in Paris?")]
    for _turn in range(4):
        reply = bound.invoke(history)
        assert isinstance(reply, AIMessage)
        history.append(reply)
        if not reply.tool_calls:
            break
        for call in reply.tool_calls:
            history.append(get_weather.invoke(call))  # a ToolMessage
    else:
        pytest.fail("the tool loop did not end within 4 turns")
    assert any(isinstance(m, ToolMessage) for m in history)
    assert isinstance(history[-1].content, str)
    assert history[-1].content.startswith("According to get_weather, ")
    assert history[-1].response_metadata["finish_reason"] == "stop"


# --- structured output -------------------------------------------------------------------------


@pytest.mark.parametrize("method", [None, "json_schema", "function_calling"])
def test_with_structured_output(llm: AzureChatOpenAI, sent: Sent, method: str | None) -> None:
    options: dict[str, Any] = {} if method is None else {"method": method}
    result = llm.with_structured_output(Person, **options).invoke(
        "Extract the person: Ada Lovelace, 36, engineer."
    )
    assert isinstance(result, Person)
    assert 0 <= result.age <= 130
    if method == "function_calling":
        assert sent.last["tool_choice"] == {"type": "function", "function": {"name": "Person"}}
    else:  # the default on AzureChatOpenAI is json_schema
        assert sent.last["response_format"]["type"] == "json_schema"
        assert sent.last["response_format"]["json_schema"]["strict"] is True


def test_with_structured_output_include_raw(llm: AzureChatOpenAI) -> None:
    result = llm.with_structured_output(Person, include_raw=True).invoke("Who is Grace Hopper?")
    assert isinstance(result, dict)
    assert result["parsing_error"] is None
    assert isinstance(result["parsed"], Person)
    raw = result["raw"]
    assert isinstance(raw, AIMessage)
    assert raw.usage_metadata is not None
    assert Person.model_validate_json(str(raw.content)) == result["parsed"]


def test_with_structured_output_json_schema_dict(llm: AzureChatOpenAI) -> None:
    schema: dict[str, Any] = {
        "title": "Ticket",
        "description": "A support ticket.",
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "priority": {"type": "string", "enum": ["low", "high"]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["title", "priority", "tags"],
        "additionalProperties": False,
    }
    result = llm.with_structured_output(schema, method="json_schema", strict=True).invoke(
        "The login page is broken."
    )
    assert isinstance(result, dict)
    assert_valid(result, schema)


async def test_async_structured_output(make_llm: Callable[..., AzureChatOpenAI]) -> None:
    async with httpx.AsyncClient() as http_async_client:
        llm = make_llm(http_async_client=http_async_client)
        result = await llm.with_structured_output(Person).ainvoke("Extract: Linus, 54, manager.")
    assert isinstance(result, Person)
