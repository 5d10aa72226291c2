"""An agent loop on the Responses API runs to completion, streamed and not."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai.types.responses import Response

TOOLS: Any = [
    {
        "type": "function",
        "name": "lookup_population",
        "description": "Look up the population of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    },
    {
        "type": "function",
        "name": "convert_currency",
        "description": "Convert an amount between currencies",
        "parameters": {
            "type": "object",
            "properties": {"amount": {"type": "number"}, "to": {"type": "string"}},
            "required": ["amount", "to"],
            "additionalProperties": False,
        },
        "strict": True,
    },
]
MAX_TURNS = 5


def run_tool(name: str, arguments: str) -> str:
    args = json.loads(arguments)
    if name == "lookup_population":
        return json.dumps({"city": args["city"], "population": 2_140_000})
    return json.dumps({"converted": 42})


def _non_streamed(client: openai.AzureOpenAI) -> Callable[..., Response]:
    return lambda **kwargs: client.responses.create(**kwargs)


def _streamed(client: openai.AzureOpenAI) -> Callable[..., Response]:
    def create(**kwargs: Any) -> Response:
        with client.responses.stream(**kwargs) as stream:
            for _ in stream:
                pass
            return stream.get_final_response()

    return create


def agent(create: Callable[..., Response], question: str) -> tuple[str, list[str]]:
    """Call tools until the model answers; chain turns with previous_response_id."""
    called: list[str] = []
    response = create(model="o3-mini", instructions="Use tools.", input=question, tools=TOOLS)
    for _ in range(MAX_TURNS):
        calls = [item for item in response.output if item.type == "function_call"]
        if not calls:
            return response.output_text, called
        called.extend(call.name for call in calls)
        outputs: Any = [
            {
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": run_tool(call.name, call.arguments),
            }
            for call in calls
        ]
        response = create(
            model="o3-mini", previous_response_id=response.id, input=outputs, tools=TOOLS
        )
    raise AssertionError("the agent loop did not finish")


@pytest.mark.parametrize("mode", [_non_streamed, _streamed], ids=["create", "stream"])
def test_agent_loop_finishes_with_the_tool_result(
    azure: openai.AzureOpenAI, mode: Callable[[openai.AzureOpenAI], Callable[..., Response]]
) -> None:
    answer, called = agent(mode(azure), "What is the population of Paris?")
    assert called == ["lookup_population"]
    assert "2140000" in answer


def test_agent_loop_with_items_passed_back_by_hand(azure: openai.AzureOpenAI) -> None:
    """Without stored state: the whole conversation goes back as input items, reasoning
    with the encrypted content the server handed out (Azure refuses it without)."""
    items: list[Any] = [{"role": "user", "content": "Convert 10 dollars to euro currency"}]
    for _ in range(MAX_TURNS):
        response = azure.responses.create(
            model="o3-mini",
            input=items,
            tools=TOOLS,
            store=False,
            include=["reasoning.encrypted_content"],
        )
        items.extend(item.model_dump(exclude_none=True) for item in response.output)
        calls = [item for item in response.output if item.type == "function_call"]
        if not calls:
            break
        items.extend(
            {"type": "function_call_output", "call_id": c.call_id, "output": '{"converted": 42}'}
            for c in calls
        )
    else:
        raise AssertionError("the agent loop did not finish")
    assert [i["name"] for i in items if i.get("type") == "function_call"] == ["convert_currency"]
    assert "42" in response.output_text


def test_a_function_call_left_without_its_output_is_refused(azure: openai.AzureOpenAI) -> None:
    """The loop's next turn must hand back each call's output: without it the service
    says so in the Responses API's words (openai-agents-python#673), whether the call
    comes from the previous response or is passed back by hand."""
    first = azure.responses.create(
        model="o3-mini",
        input="What is the population of Lyon?",
        tools=TOOLS,
        tool_choice="required",
    )
    call = next(item for item in first.output if item.type == "function_call")
    with pytest.raises(openai.BadRequestError) as chained:
        azure.responses.create(
            model="o3-mini", previous_response_id=first.id, input="And of Paris?", tools=TOOLS
        )
    with pytest.raises(openai.BadRequestError) as by_hand:
        azure.responses.create(
            model="o3-mini",
            input=[
                {"role": "user", "content": "What is the population of Lyon?"},
                {
                    "type": "function_call",
                    "call_id": call.call_id,
                    "name": call.name,
                    "arguments": call.arguments,
                },
            ],
            tools=TOOLS,
        )
    for caught in (chained.value, by_hand.value):
        assert isinstance(caught.body, dict)
        assert caught.body == {
            "message": f"No tool output found for function call {call.call_id}.",
            "type": "invalid_request_error",
            "param": "input",
            "code": None,
        }
