"""Agent loops of real frameworks run to their end on the default generator (issue #20).

Each folder of `tests/data/captured/` named below holds the requests one framework sent,
unmodified, while its agent loop ran against the mock (its README names the framework,
its version and what ran). The replay sends them again, in order, to a real server and
checks the conventions the loop depends on:

- the conversation ends: the last request gets a text answer, a call to a final-answer
  tool (smolagents' `final_answer`, pydantic-ai's `final_result`) or the call the request
  named (instructor), within `MAX_TURNS` requests, each earlier one a tool call;
- no call repeats an earlier one with the same arguments;
- the first reply's values echo the question: the weather is asked for "Paris",
  instructor extracts "Alice Martin" and "Bob Martin".

A second test drives each chat conversation from the framework's first request with a
plain loop (the reply appended, each call answered by a tool message), so the ending
holds for the framework's exact tools, prompts and parameters, not only the captured turns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from mockserver.engines.tool_choice import is_final_answer
from mockserver.testing.server import MockServer
from tests.support import rawhttp
from tests.support.chat import API_KEY
from tests.support.testdata import DATA_DIR

CAPTURED = DATA_DIR / "captured"
MAX_TURNS = 8
TOOL_RESULT = "The sky over Paris is clear, 21 C."
WEATHER = ("Paris",)
PEOPLE = ("Alice Martin", "Bob Martin")
# folder -> the names the loop's values must echo
LOOPS: dict[str, tuple[str, ...]] = {
    "langgraph-react-agent": WEATHER,
    "semantic-kernel-auto": WEATHER,
    "semantic-kernel-required": WEATHER,
    "autogen-reflect": WEATHER,
    "autogen-iterations": WEATHER,
    "haystack-agent": WEATHER,
    "azure-ai-inference-auto": WEATHER,
    "azure-ai-inference-required": WEATHER,
    "instructor-tools": PEOPLE,
    "instructor-json-schema": PEOPLE,
    "smolagents-tool-calling": WEATHER,
    "pydantic-ai-output-tool": WEATHER,
    "llama-index-function-agent": WEATHER,
    "node-openai-run-tools-auto": WEATHER,
    "node-openai-run-tools-required": WEATHER,
    "node-langchain-openai-react-agent": WEATHER,
    "ai-sdk-azure-chat": WEATHER,
    "ai-sdk-azure-responses": WEATHER,
}


@dataclass
class Reply:
    """What one answer holds, whatever the API: text, calls, and the raw output items."""

    text: str = ""
    calls: list[tuple[str, str]] = field(default_factory=list)  # (name, arguments)
    reasoning_ids: list[str] = field(default_factory=list)  # Responses: reasoning items
    message: dict[str, Any] = field(default_factory=dict)  # chat: the assistant message


def captured_turns(folder: str) -> list[dict[str, Any]]:
    files = sorted((CAPTURED / folder).glob("[0-9][0-9].json"))
    assert files, f"no captured requests in {folder}"
    return [json.loads(path.read_text(encoding="utf-8")) for path in files]


def send(server: MockServer, turn: dict[str, Any], body: dict[str, Any]) -> Reply:
    query = "&".join(f"{name}={value}" for name, value in turn["query"].items())
    url = server.url + turn["path"] + (f"?{query}" if query else "")
    answer = rawhttp.request(url, body=body, headers={"api-key": API_KEY})
    assert answer.status == 200, answer.body[:500]
    if turn["path"].endswith("/responses"):
        return responses_reply(answer.json())
    if body.get("stream"):
        return chat_reply(streamed_message(answer.body))
    return chat_reply(answer.json()["choices"][0]["message"])


def chat_reply(message: dict[str, Any]) -> Reply:
    calls = [
        (call["function"]["name"], call["function"]["arguments"])
        for call in message.get("tool_calls") or []
    ]
    return Reply(text=message.get("content") or "", calls=calls, message=message)


def responses_reply(response: dict[str, Any]) -> Reply:
    reply = Reply()
    for item in response["output"]:
        if item["type"] == "function_call":
            reply.calls.append((item["name"], item["arguments"]))
        elif item["type"] == "reasoning":
            reply.reasoning_ids.append(item["id"])
        elif item["type"] == "message":
            reply.text += "".join(part.get("text", "") for part in item["content"])
    return reply


def streamed_message(body: bytes) -> dict[str, Any]:
    """The assistant message a chat stream adds up to: its content and its tool calls."""
    content = ""
    calls: dict[int, dict[str, Any]] = {}
    for delta in stream_deltas(body):
        content += delta.get("content") or ""
        for part in delta.get("tool_calls") or []:
            call = calls.setdefault(part["index"], {"id": "", "type": "function"})
            call["id"] = part.get("id") or call["id"]
            function = call.setdefault("function", {"name": "", "arguments": ""})
            function["name"] += (part.get("function") or {}).get("name") or ""
            function["arguments"] += (part.get("function") or {}).get("arguments") or ""
    message: dict[str, Any] = {"role": "assistant", "content": content or None}
    if calls:
        message["tool_calls"] = [calls[index] for index in sorted(calls)]
    return message


def stream_deltas(body: bytes) -> Iterator[dict[str, Any]]:
    for line in body.decode().splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            for choice in json.loads(line[len("data: ") :]).get("choices") or []:
                yield choice.get("delta") or {}


def with_references(body: dict[str, Any], previous: Reply | None) -> dict[str, Any]:
    """The body with its `item_reference`s pointing at the reasoning items this server
    returned (the captured ids were another server's)."""
    fresh = iter(previous.reasoning_ids if previous else [])
    items = body.get("input")
    if not isinstance(items, list):
        return body
    rebound = [
        {**item, "id": next(fresh)} if item.get("type") == "item_reference" else item
        for item in items
    ]
    return {**body, "input": rebound}


def tools_offered(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The function definitions a request offers, chat or Responses shaped."""
    tools = body.get("tools") or []
    return [tool.get("function") or tool for tool in tools if tool.get("type") == "function"]


def ends_the_loop(body: dict[str, Any], reply: Reply) -> bool:
    """A text answer, a call to a final-answer tool, or the one call the request named."""
    if not reply.calls:
        return bool(reply.text)
    named = body.get("tool_choice")
    if isinstance(named, dict):
        return [name for name, _ in reply.calls] == [named["function"]["name"]]
    finals = {f["name"] for f in tools_offered(body) if is_final_answer(f)}
    return all(name in finals for name, _ in reply.calls)


def assert_no_repeated_call(calls: list[tuple[str, str]]) -> None:
    repeated = [call for position, call in enumerate(calls) if call in calls[:position]]
    assert not repeated, f"the same call twice: {repeated}"


def assert_echoes(first: Reply, names: tuple[str, ...]) -> None:
    """The first reply's values (its call's arguments, or its structured text) hold the
    names the question gave; later replies may only be quoting a tool's result."""
    values = " ".join(arguments for _, arguments in first.calls) or first.text
    for name in names:
        assert name in values, values


@pytest.mark.parametrize("folder", sorted(LOOPS))
def test_the_captured_loop_runs_to_its_end(server: MockServer, folder: str) -> None:
    turns = captured_turns(folder)
    assert len(turns) <= MAX_TURNS
    replies: list[Reply] = []
    for turn in turns:
        body = with_references(turn["body"], replies[-1] if replies else None)
        replies.append(send(server, turn, body))
    *earlier, last = replies
    assert all(reply.calls for reply in earlier), "the loop went on only after tool calls"
    assert ends_the_loop(turns[-1]["body"], last)
    assert_no_repeated_call([call for reply in replies for call in reply.calls])
    assert_echoes(replies[0], LOOPS[folder])


def chat_folders() -> list[str]:
    return [folder for folder in sorted(LOOPS) if not folder.endswith("responses")]


@pytest.mark.parametrize("folder", chat_folders())
def test_a_plain_loop_from_the_framework_s_first_request_ends(
    server: MockServer, folder: str
) -> None:
    first = captured_turns(folder)[0]
    body = json.loads(json.dumps(first["body"]))
    calls: list[tuple[str, str]] = []
    for turn in range(MAX_TURNS):
        reply = send(server, first, body)
        if turn == 0:
            assert_echoes(reply, LOOPS[folder])
        if ends_the_loop(body, reply):
            break
        calls += reply.calls
        body["messages"] += [reply.message, *tool_messages(reply.message)]
    else:
        pytest.fail(f"no end within {MAX_TURNS} turns: {calls}")
    assert_no_repeated_call(calls + reply.calls)


def tool_messages(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"role": "tool", "tool_call_id": call["id"], "content": TOOL_RESULT}
        for call in message.get("tool_calls") or []
    ]


def test_a_stub_wins_over_the_final_answer() -> None:
    """smolagents' second turn gets `final_answer` from the generator; a stub that matches
    answers instead, whatever the loop rule would do."""
    first, second = captured_turns("smolagents-tool-calling")
    with MockServer(api_keys=[API_KEY]) as mock:
        assert [name for name, _ in send(mock, second, second["body"]).calls] == ["final_answer"]
        arguments = {"city": "Lyon"}
        mock.stub(answer={"tool_calls": [{"name": "get_weather", "arguments": arguments}]})
        stubbed = send(mock, second, second["body"])
    assert stubbed.calls == [("get_weather", json.dumps(arguments, separators=(",", ":")))]
    assert first["body"]["tool_choice"] == "required"
