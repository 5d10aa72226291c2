"""Reply styles over the wire: the exact requests frameworks sent (tests/data/captured)
replayed to the real server through the openai SDK; each reply must pass the
framework's own parse rule (tests/reply_conventions.py), streamed or not."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from mockserver.testing.server import MockServer
from tests.reply_conventions import (
    calls_in,
    captured,
    dspy_fields,
    instructor_md_json,
    langchain_react,
    llama_index_react,
    smolagents_code,
)
from tests.support.clients import azure_client

PARIS = "Paris is the capital of France."
QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def styled_server() -> Iterator[MockServer]:
    """Two deployments of one model: `o3-mini` with every style, `plain` with none."""
    deployments: dict[str, dict[str, Any]] = {"o3-mini": {}, "plain": {"reply_styles": []}}
    with MockServer(deployments=deployments) as running:
        yield running


@pytest.fixture
def azure(styled_server: MockServer) -> Iterator[openai.AzureOpenAI]:
    with azure_client(styled_server) as client:
        yield client


def reply_to(client: openai.AzureOpenAI, body: dict[str, Any], model: str = "o3-mini") -> str:
    """The reply's text, the request sent as the framework sent it (streamed if it did)."""
    sent = {**body, "model": model}
    if not sent.get("stream"):
        return client.chat.completions.create(**sent).choices[0].message.content or ""
    pieces: list[str] = []
    for chunk in client.chat.completions.create(**sent):
        pieces.extend(choice.delta.content or "" for choice in chunk.choices)
    return "".join(pieces)


def test_dspy_chat_adapter_parses_every_reply(azure: openai.AzureOpenAI) -> None:
    assert dspy_fields(reply_to(azure, captured("dspy", 1)), ["answer"])["answer"]
    cot = dspy_fields(reply_to(azure, captured("dspy", 2)), ["reasoning", "answer", "confidence"])
    float(cot["confidence"])
    react = ["next_thought", "next_tool_name", "next_tool_args"]
    assert dspy_fields(reply_to(azure, captured("dspy", 3)), react)["next_tool_name"] == "search"
    assert dspy_fields(reply_to(azure, captured("dspy", 4)), react)["next_tool_name"] == "finish"
    extracted = dspy_fields(reply_to(azure, captured("dspy", 5)), ["reasoning", "answer"])
    assert extracted["answer"] == PARIS
    json_adapter = json.loads(reply_to(azure, captured("dspy", 6)))
    assert json_adapter["next_tool_name"] == "search"
    assert json.loads(reply_to(azure, captured("dspy", 7)))["next_tool_name"] == "finish"


def test_langchain_react_loop_reaches_its_final_answer(azure: openai.AzureOpenAI) -> None:
    first = captured("langchain", 1)
    assert first["stream"] is True and first["stop"] == ["\nObservation"]
    assert langchain_react(reply_to(azure, first)) == ("search", QUESTION)
    assert langchain_react(reply_to(azure, captured("langchain", 2))) == ("Final Answer", PARIS)


def test_llama_index_react_loop_reaches_its_answer(azure: openai.AzureOpenAI) -> None:
    tool_use = llama_index_react(reply_to(azure, captured("llama-index", 1)))
    assert tool_use == ("search", {"query": QUESTION})
    assert llama_index_react(reply_to(azure, captured("llama-index", 2))) == ("Answer", PARIS)


def test_smolagents_code_agent_calls_the_tool_then_final_answer(
    azure: openai.AzureOpenAI,
) -> None:
    first = captured("smolagents", 1)
    assert "</code>" in first["stop"]  # the service cuts there; smolagents puts it back
    calls = calls_in(smolagents_code(reply_to(azure, first) + "</code>"))
    assert set(calls) == {"search", "print"}
    final = calls_in(smolagents_code(reply_to(azure, captured("smolagents", 2)) + "</code>"))
    assert ast.literal_eval(final["final_answer"][0].args[0]) == PARIS


def test_instructor_json_modes_get_the_models_fields(azure: openai.AzureOpenAI) -> None:
    json_mode = json.loads(reply_to(azure, captured("instructor", 1)))
    markdown = instructor_md_json(reply_to(azure, captured("instructor", 2)))
    for made in (json_mode, markdown):
        assert set(made) == {"name", "age"}
        assert isinstance(made["name"], str) and type(made["age"]) is int


def test_streamed_and_whole_replies_are_the_same_text(azure: openai.AzureOpenAI) -> None:
    body = captured("llama-index", 1)
    streamed = reply_to(azure, body)
    assert streamed == reply_to(azure, {**body, "stream": False})
    assert llama_index_react(streamed)[0] == "search"


def test_a_deployment_with_no_styles_answers_in_prose(azure: openai.AzureOpenAI) -> None:
    prose = reply_to(azure, captured("langchain", 2), model="plain")
    assert "Final Answer:" not in prose and "Thought:" not in prose
    assert langchain_react(reply_to(azure, captured("langchain", 2)))[0] == "Final Answer"


def test_a_stub_still_wins_over_the_styles(
    styled_server: MockServer, azure: openai.AzureOpenAI
) -> None:
    styled_server.stub(answer={"content": "stubbed"}, times=1)
    assert reply_to(azure, captured("langchain", 1)) == "stubbed"
    assert langchain_react(reply_to(azure, captured("langchain", 1)))[0] == "search"


def test_json_mode_fills_a_pasted_schema_with_the_people_the_text_names(
    azure: openai.AzureOpenAI,
) -> None:
    """instructor's JSON mode pastes the schema and asks for a list: one item per name."""
    person = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    people = {"people": {"type": "array", "items": person}}
    schema = {"type": "object", "properties": people, "required": ["people"]}
    body = {
        "messages": [
            {"role": "system", "content": f"Answer with JSON matching:\n{json.dumps(schema)}"},
            {"role": "user", "content": "Extract the people: Alice Martin met Bob Martin."},
        ],
        "response_format": {"type": "json_object"},
    }
    answer = json.loads(reply_to(azure, body))
    assert [item["name"] for item in answer["people"]] == ["Alice Martin", "Bob Martin"]
