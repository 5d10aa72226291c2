"""Real framework agent loops, unmodified, against the real server (issue #20).

The frameworks light enough to be dev dependencies run here end to end: LangGraph's
`create_react_agent` with LangChain's `AzureChatOpenAI`, azure-ai-inference's
`ChatCompletionsClient` in its documented tool loop, and smolagents' `ToolCallingAgent`
(`tool_choice: "required"` with a `final_answer` tool). Each must finish on the default
generator, having called its tool with the city the question names. The other
frameworks' loops are replayed from their captured requests (tests/sdk/test_agent_loops.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import (
    AssistantMessage,
    ChatCompletionsToolDefinition,
    ChatRequestMessage,
    CompletionsFinishReason,
    FunctionDefinition,
    ToolMessage,
    UserMessage,
)
from azure.core.credentials import AzureKeyCredential
from langchain_core.messages import AIMessage
from langchain_core.messages import ToolMessage as LangChainToolMessage
from langchain_core.tools import tool as langchain_tool
from langchain_openai import AzureChatOpenAI
from langgraph.prebuilt import create_react_agent
from smolagents import AzureOpenAIServerModel, ToolCallingAgent, tool

from mockserver.testing.server import MockServer
from tests.support.chat import API_KEY, API_VERSION, DEPLOYMENT
from tests.support.langchain import azure_chat_model

QUESTION = "What is the weather in Paris?"
MAX_TURNS = 8
# langgraph 1.x moved create_react_agent to langchain.agents (another package) and warns.
MOVED = "ignore::DeprecationWarning"


@langchain_tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"The sky over {city} is clear, 21 C."


@langchain_tool
def get_population(city: str) -> int:
    """Get the population of a city."""
    return 2_100_000


def chat_model(server: MockServer) -> AzureChatOpenAI:
    return azure_chat_model(server)


@pytest.mark.filterwarnings(MOVED)
@pytest.mark.parametrize("tool_choice", [None, "required"])
def test_langgraph_react_agent_finishes(server: MockServer, tool_choice: str | None) -> None:
    tools = [get_weather, get_population]
    model: Any = chat_model(server)
    if tool_choice is not None:
        model = model.bind_tools(tools, tool_choice=tool_choice)
    agent = create_react_agent(model, tools)
    result = agent.invoke({"messages": [("user", QUESTION)]}, {"recursion_limit": 2 * MAX_TURNS})
    messages = result["messages"]
    calls = [call for m in messages if isinstance(m, AIMessage) for call in m.tool_calls]
    assert [(call["name"], call["args"]) for call in calls] == [("get_weather", {"city": "Paris"})]
    results = [m.content for m in messages if isinstance(m, LangChainToolMessage)]
    assert results == ["The sky over Paris is clear, 21 C."]
    final = messages[-1]
    assert isinstance(final, AIMessage) and not final.tool_calls
    assert "Paris" in str(final.content)


WEATHER_TOOL = ChatCompletionsToolDefinition(
    function=FunctionDefinition(
        name="get_weather",
        description="Get the current weather for a city.",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    )
)


@pytest.mark.parametrize("tool_choice", ["auto", "required"])
def test_azure_ai_inference_tool_loop_finishes(server: MockServer, tool_choice: str) -> None:
    client = ChatCompletionsClient(
        endpoint=f"{server.url}/openai/deployments/{DEPLOYMENT}",
        credential=AzureKeyCredential(API_KEY),
        api_version=API_VERSION,
    )
    messages: list[ChatRequestMessage] = [UserMessage(QUESTION)]
    cities: list[str] = []
    with client:
        for _ in range(MAX_TURNS):
            choice = client.complete(
                messages=messages, tools=[WEATHER_TOOL], tool_choice=tool_choice
            ).choices[0]
            if choice.finish_reason != CompletionsFinishReason.TOOL_CALLS:
                break
            messages.append(AssistantMessage(tool_calls=choice.message.tool_calls))
            assert choice.message.tool_calls is not None
            for call in choice.message.tool_calls:
                cities.append(json.loads(call.function.arguments)["city"])
                messages.append(ToolMessage(f"Clear over {cities[-1]}.", tool_call_id=call.id))
        else:
            pytest.fail(f"no answer within {MAX_TURNS} turns: {cities}")
    assert cities == ["Paris"]
    assert choice.finish_reason == CompletionsFinishReason.STOPPED
    assert "Clear over Paris." in choice.message.content


@tool
def weather_in(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: The city's name.
    """
    return f"The sky over {city} is clear, 21 C."


def test_smolagents_tool_calling_agent_reaches_its_final_answer(server: MockServer) -> None:
    model = AzureOpenAIServerModel(
        model_id=DEPLOYMENT, azure_endpoint=server.url, api_key=API_KEY, api_version=API_VERSION
    )
    agent = ToolCallingAgent(tools=[weather_in], model=model, max_steps=MAX_TURNS)
    try:
        answer = agent.run(QUESTION)
    finally:
        model.client.close()  # its own openai client, which smolagents never closes
    assert answer == "The sky over Paris is clear, 21 C."  # final_answer quoted the result
    calls = [
        call.name for step in agent.memory.steps for call in getattr(step, "tool_calls", None) or []
    ]
    assert calls == ["weather_in", "final_answer"]
