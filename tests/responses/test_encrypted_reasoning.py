"""`include: ["reasoning.encrypted_content"]`: an opaque token on each reasoning item, the
same for the same request and seed, taken back as input and refused when not the server's.

The `store: false` requests are the ones the AI SDK builds (reasoning sent back as
`{"type": "reasoning", "id", "encrypted_content", "summary": []}`, or without `id`), and the
openai SDK's own items dumped back whole.
"""

from __future__ import annotations

import base64
from typing import Any

import openai
import pytest
from openai.types.responses import Response

from mockserver.testing.server import MockServer
from tests.responses.helpers import WEATHER_TOOL, assert_valid, error_body, post, v1_url
from tests.responses.test_agent_loop import MAX_TURNS
from tests.responses.test_item_reference import NOT_PERSISTED, QUESTION, tool_outputs
from tests.support.clients import async_v1_client
from tests.support.sse import named_events

INCLUDE: Any = ["reasoning.encrypted_content"]
TOOLS: Any = [WEATHER_TOOL]


def token_of(response: Response) -> str:
    [reasoning] = [item for item in response.output if item.type == "reasoning"]
    assert reasoning.type == "reasoning" and reasoning.encrypted_content is not None
    return reasoning.encrypted_content


def ask(server: MockServer, **extra: Any) -> Any:
    body = {"model": "o3-mini", "input": QUESTION, "tools": TOOLS, "include": INCLUDE, **extra}
    response = post(server, body)
    assert response.status == 200, response.body
    return response


def test_only_asked_for_and_shaped_like_azures(mock: MockServer) -> None:
    plain = post(mock, {"model": "o3-mini", "input": QUESTION}).json()
    assert "encrypted_content" not in plain["output"][0]
    body = ask(mock, store=False).json()
    reasoning = body["output"][0]
    token = reasoning["encrypted_content"]
    assert token.startswith("gAAAAAB")  # Fernet's version byte, then a 2020s timestamp
    assert base64.urlsafe_b64decode(token)[:1] == b"\x80"
    assert QUESTION not in base64.urlsafe_b64decode(token).decode("latin-1")
    assert reasoning["summary"] == [] and reasoning["id"].startswith("rs_")
    assert_valid("response", body)


def test_the_stream_carries_the_token_on_every_reasoning_item(mock: MockServer) -> None:
    events = named_events(ask(mock, stream=True, store=False).body)
    final = events[-1][1]["response"]
    token = final["output"][0]["encrypted_content"]
    items = [data["item"] for name, data in events if name.startswith("response.output_item")]
    assert [item["encrypted_content"] for item in items if item["type"] == "reasoning"] == [
        token,
        token,
    ]
    for _, data in events:
        assert_valid("responseStreamEvent", data)


def test_same_request_and_seed_same_token(mock: MockServer) -> None:
    mock.configure(deterministic_ids=True, seed=11)
    first, again = (ask(mock).json()["output"][0]["encrypted_content"] for _ in range(2))
    assert first == again
    mock.configure(seed=12)
    assert ask(mock).json()["output"][0]["encrypted_content"] != first


def test_a_token_from_another_seed_is_refused(mock: MockServer) -> None:
    """A token is the server's own: another seed's is foreign, as another tenant's is."""
    mock.configure(seed=21)
    reasoning = ask(mock, store=False).json()["output"][0]
    mock.configure(seed=22)
    response = post(mock, {"model": "o3-mini", "input": [reasoning, user("Go on")]})
    token = reasoning["encrypted_content"]
    message = f"The encrypted content {token[:4]}...{token[-4:]} could not be verified."
    assert response.status == 400
    assert response.json() == error_body(message, None, "invalid_encrypted_content")


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "input_text", "text": text}]}


def _altered(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        (_altered, None),
        (lambda token: "not a token at all", "not ... all"),
        (lambda token: "gAAA", "gAAA"),
    ],
    ids=["one-character-changed", "not-base64", "short"],
)
def test_an_altered_token_is_refused(mock: MockServer, change: Any, shown: str | None) -> None:
    reasoning = ask(mock, store=False).json()["output"][0]
    reasoning["encrypted_content"] = token = change(reasoning["encrypted_content"])
    response = post(mock, {"model": "o3-mini", "input": [user(QUESTION), reasoning]})
    shown = shown or f"{token[:4]}...{token[-4:]}"
    message = f"The encrypted content {shown} could not be verified."
    assert response.status == 400
    assert response.body.startswith(b"{\n")
    assert response.json() == error_body(message, None, "invalid_encrypted_content")


def ai_sdk_reasoning(response: Response, with_id: bool) -> list[Any]:
    """An assistant step as the AI SDK sends it back with `store: false`."""
    items: list[Any] = []
    for item in response.output:
        if item.type == "reasoning":
            reasoning = {"type": "reasoning", "encrypted_content": item.encrypted_content}
            items.append({**reasoning, "summary": [], **({"id": item.id} if with_id else {})})
        elif item.type == "function_call":
            fields = {"call_id": item.call_id, "name": item.name, "arguments": item.arguments}
            items.append({"type": "function_call", **fields})
    return items


@pytest.mark.parametrize("with_id", [True, False], ids=["with-id", "without-id"])
def test_ai_sdk_loop_without_store(azure: openai.AzureOpenAI, with_id: bool) -> None:
    history: list[Any] = [user(QUESTION)]
    for _ in range(MAX_TURNS):
        response = azure.responses.create(
            model="o3-mini", input=history, tools=TOOLS, store=False, include=INCLUDE
        )
        assert token_of(response).startswith("gAAAAAB")
        history += ai_sdk_reasoning(response, with_id) + tool_outputs(response)
        if not tool_outputs(response):
            break
    else:
        raise AssertionError("the tool loop did not finish")
    assert "clear" in response.output_text
    with pytest.raises(openai.NotFoundError):  # nothing was stored along the way
        azure.responses.retrieve(response.id)


async def test_async_streamed_sdk_items_handed_back(mock: MockServer) -> None:
    """The openai SDK's own output items, dumped back whole, over a v1 stream."""
    history: list[Any] = [user(QUESTION)]
    client = async_v1_client(mock)
    async with client:
        for _ in range(MAX_TURNS):
            async with client.responses.stream(
                model="o3-mini", input=history, tools=TOOLS, store=False, include=INCLUDE
            ) as stream:
                response = await stream.get_final_response()
            assert token_of(response).startswith("gAAAAAB")
            history += [item.model_dump(exclude_none=True) for item in response.output]
            history += tool_outputs(response)
            if not tool_outputs(response):
                break
        else:
            raise AssertionError("the tool loop did not finish")
    assert "clear" in response.output_text
    assert [entry.status for entry in mock.requests] == [200] * len(mock.requests)


def test_reasoning_without_its_token_must_be_stored(
    mock: MockServer, azure: openai.AzureOpenAI
) -> None:
    """Without encrypted content the id must find a stored item (opencode#7724 on Azure)."""
    unstored = azure.responses.create(model="o3-mini", input=QUESTION, store=False)
    reasoning = unstored.output[0].model_dump(exclude_none=True)
    body: dict[str, Any] = {"model": "o3-mini", "input": [user(QUESTION), reasoning, user("Go on")]}
    response = post(mock, {**body, "store": False})
    message = f"Item with id '{reasoning['id']}' not found." + NOT_PERSISTED
    assert (response.status, response.json()) == (400, error_body(message, "input", None))
    stored = azure.responses.create(model="o3-mini", input=QUESTION)
    body["input"][1] = stored.output[0].model_dump(exclude_none=True)
    assert post(mock, {**body, "store": False}).status == 200


@pytest.mark.parametrize(
    ("item", "message", "param", "code"),
    [
        (
            {"type": "reasoning", "summary": []},
            "Missing required parameter: 'input[0].id'.",
            "input[0].id",
            "missing_required_parameter",
        ),
        (
            {"type": "reasoning", "id": "item_d774e8ddba", "summary": []},
            "Invalid 'input[0].id': 'item_d774e8ddba'. Expected an ID that begins with 'rs'.",
            "input[0].id",
            "invalid_value",
        ),
        (
            {"type": "reasoning", "id": "rs_1", "encrypted_content": 5, "summary": []},
            "Invalid type for 'input[0].encrypted_content': expected a string, but got "
            "another type instead.",
            "input[0].encrypted_content",
            "invalid_type",
        ),
    ],
    ids=["no-id-no-token", "not-a-reasoning-id", "token-not-a-string"],
)
def test_malformed_reasoning_items(
    mock: MockServer, item: dict[str, Any], message: str, param: str, code: str
) -> None:
    response = post(mock, {"model": "o3-mini", "input": [item, user("Go on")]})
    assert response.status == 400
    assert response.json() == error_body(message, param, code)


def test_a_stubbed_answer_gets_a_token_too(mock: MockServer, azure: openai.AzureOpenAI) -> None:
    """Stubs answer first; the reasoning item around their answer is sealed all the same."""
    stub = mock.stub(answer={"content": "From the stub."})
    response = azure.responses.create(model="o3-mini", input=QUESTION, store=False, include=INCLUDE)
    assert response.output_text == "From the stub." and mock.requests[-1].stub_id == stub.id
    assert token_of(response).startswith("gAAAAAB")
    handed_back = [user(QUESTION), *ai_sdk_reasoning(response, True), user("More?")]
    again = azure.responses.create(model="o3-mini", input=handed_back, store=False)
    assert again.output_text == "From the stub."


def agents_sdk_body(input_items: list[Any], settings: dict[str, Any]) -> dict[str, Any]:
    """A request of the OpenAI Agents SDK 0.24 (`Runner.run`, OpenAIResponsesModel), as
    captured against the mock: an `include` list always, `store` only when set."""
    tools = [{**WEATHER_TOOL, "description": "Get the current weather for a city."}]
    body = {"model": "o3-mini", "include": [], "input": input_items, "tools": tools}
    return {**body, "instructions": "Use the tool.", **settings}


@pytest.mark.parametrize(
    ("settings", "refused"),
    [
        ({}, False),
        ({"store": False, "include": INCLUDE}, False),
        ({"store": False}, True),
    ],
    ids=["store-default", "store-false-with-include", "store-false-without-include"],
)
def test_agents_sdk_second_turn(mock: MockServer, settings: dict[str, Any], refused: bool) -> None:
    """Its second turn hands back every output item dumped whole, reasoning included."""
    question = {"content": QUESTION, "role": "user"}
    first = post(mock, agents_sdk_body([question], settings), url=v1_url(mock)).json()
    sealed = "encrypted_content" in first["output"][0]
    assert sealed == ("include" in settings)
    calls = [item for item in first["output"] if item["type"] == "function_call"]
    outputs = [
        {"call_id": call["call_id"], "output": "clear", "type": "function_call_output"}
        for call in calls
    ]
    second_input = [question, *first["output"], *outputs]
    response = post(mock, agents_sdk_body(second_input, settings), url=v1_url(mock))
    if not refused:
        assert response.status == 200, response.body
        assert "clear" in response.json()["output"][-1]["content"][0]["text"]
        return
    message = f"Item with id '{first['output'][0]['id']}' not found." + NOT_PERSISTED
    assert (response.status, response.json()) == (400, error_body(message, "input", None))
