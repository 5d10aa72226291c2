"""`item_reference` input items: found among stored responses, refused as Azure refuses them.

The requests are the ones the AI SDK (@ai-sdk/openai, convert-to-openai-responses-input.ts)
builds with `store` on: the user turn as `input_text` parts, each earlier reasoning item and
assistant message as `{"type": "item_reference", "id": ...}`, function calls inline (3.0.x
sent them as references too) and their outputs inline.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai.types.responses import Response

from mockserver.stores.memory.responses import MemoryResponseStore
from mockserver.stores.responses import StoredResponse
from mockserver.testing.server import MockServer
from tests.responses.helpers import WEATHER_TOOL, error_body, post, v1_url
from tests.responses.test_agent_loop import MAX_TURNS
from tests.support.clients import async_v1_client

QUESTION = "What is the weather in Paris?"
TOOLS: Any = [WEATHER_TOOL]
NOT_PERSISTED = (
    " Items are not persisted when `store` is set to false. Try again with `store` set to "
    "true, or remove this item from your input."
)


def user_turn(text: str) -> Any:
    return {"role": "user", "content": [{"type": "input_text", "text": text}]}


def ai_sdk_items(response: Response, calls_by_reference: bool) -> list[Any]:
    """An assistant step as the AI SDK sends it back with `store` on."""
    items: list[dict[str, Any]] = []
    for item in response.output:
        if item.type == "function_call" and not calls_by_reference:
            fields = {"call_id": item.call_id, "name": item.name, "arguments": item.arguments}
            items.append({"type": "function_call", **fields})
        else:
            items.append({"type": "item_reference", "id": item.id})
    return items


def tool_outputs(response: Response) -> list[Any]:
    return [
        {"type": "function_call_output", "call_id": item.call_id, "output": '{"sky": "clear"}'}
        for item in response.output
        if item.type == "function_call"
    ]


def run_loop(client: openai.AzureOpenAI, calls_by_reference: bool) -> tuple[list[Any], Response]:
    """Call the tool until the model answers, resending the history by reference."""
    history: list[Any] = [user_turn(QUESTION)]
    for _ in range(MAX_TURNS):
        response = client.responses.create(model="o3-mini", input=history, tools=TOOLS)
        history += ai_sdk_items(response, calls_by_reference) + tool_outputs(response)
        if not tool_outputs(response):
            return history, response
    raise AssertionError("the tool loop did not finish")


@pytest.mark.parametrize("calls_by_reference", [False, True], ids=["ai-sdk", "ai-sdk-3.0"])
def test_a_tool_loop_by_reference_finishes(
    azure: openai.AzureOpenAI, calls_by_reference: bool
) -> None:
    history, answer = run_loop(azure, calls_by_reference)
    references = [item["id"] for item in history if item.get("type") == "item_reference"]
    assert references[0].startswith("rs_")
    assert "clear" in answer.output_text  # the tool's result reached the model
    follow_up = azure.responses.create(
        model="o3-mini", input=[*history, user_turn("And tomorrow?")], tools=TOOLS
    )
    assert follow_up.status == "completed"


def test_a_reference_reads_as_the_item_it_names(
    mock: MockServer, azure: openai.AzureOpenAI
) -> None:
    """The answer to a request by reference is the answer to the same items sent whole."""
    mock.configure(deterministic_ids=True)
    first = azure.responses.create(model="o3-mini", input=QUESTION, tools=TOOLS)
    whole = [item.model_dump(exclude_none=True) for item in first.output]
    tail = [user_turn(QUESTION), *whole, *tool_outputs(first)]
    by_reference = [user_turn(QUESTION), *ai_sdk_items(first, True), *tool_outputs(first)]
    inline = azure.responses.create(model="o3-mini", input=tail, tools=TOOLS)
    referenced = azure.responses.create(model="o3-mini", input=by_reference, tools=TOOLS)
    assert referenced.output_text == inline.output_text != ""
    assert referenced.usage == inline.usage


async def test_async_streamed_loop_by_reference(mock: MockServer) -> None:
    """The v1 surface, the async client and streams: references resolve the same way."""
    client = async_v1_client(mock)
    history: list[Any] = [user_turn(QUESTION)]
    async with client:
        for _ in range(MAX_TURNS):
            async with client.responses.stream(
                model="o3-mini", input=history, tools=TOOLS
            ) as stream:
                response = await stream.get_final_response()
            history += ai_sdk_items(response, True) + tool_outputs(response)
            if not tool_outputs(response):
                break
        else:
            raise AssertionError("the tool loop did not finish")
    assert response.status == "completed" and "clear" in response.output_text
    assert [entry.status for entry in mock.requests] == [200] * len(mock.requests)


def test_input_items_are_referenced_too(mock: MockServer, azure: openai.AzureOpenAI) -> None:
    first = azure.responses.create(model="o3-mini", input=QUESTION)
    [question] = azure.responses.input_items.list(first.id).data
    second = azure.responses.create(
        model="o3-mini", input=[{"type": "item_reference", "id": question.id}]
    )
    listed = azure.responses.input_items.list(second.id).data
    assert [(item.id, item.type) for item in listed] == [(question.id, "message")]


def test_a_stub_answers_a_request_by_reference(mock: MockServer, azure: openai.AzureOpenAI) -> None:
    """References are resolved before the stubs look: a stub sees the named item's text."""
    first = azure.responses.create(model="o3-mini", input="Say something about kites")
    said = first.output_text
    stub = mock.stub(
        match={"any_message": {"contains": said[:40]}}, answer={"content": "Stubbed reply."}
    )
    reply = azure.responses.create(
        model="o3-mini", input=[*ai_sdk_items(first, True), user_turn("Go on")]
    )
    assert reply.output_text == "Stubbed reply."
    assert mock.requests[-1].stub_id == stub.id


def _unknown(server: MockServer, item_id: str, **extra: Any) -> Any:
    body = {"model": "o3-mini", "input": [{"type": "item_reference", "id": item_id}], **extra}
    return post(server, body)


def test_an_unknown_id_is_azures_400(mock: MockServer) -> None:
    response = _unknown(mock, "fc_0a46c29d")
    assert response.status == 400
    assert response.body.startswith(b"{\n")
    assert response.json() == error_body("Item with id 'fc_0a46c29d' not found.", "input", None)


def test_with_store_false_the_message_says_why(mock: MockServer) -> None:
    response = _unknown(mock, "rs_04962823", store=False)
    assert response.status == 400
    message = "Item with id 'rs_04962823' not found." + NOT_PERSISTED
    assert response.json() == error_body(message, "input", None)


def test_a_streamed_request_gets_the_error_before_any_event(mock: MockServer) -> None:
    response = _unknown(mock, "msg_gone", stream=True)
    assert response.status == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["message"] == "Item with id 'msg_gone' not found."


def test_items_of_unstored_or_deleted_responses_are_unknown(
    mock: MockServer, azure: openai.AzureOpenAI
) -> None:
    unstored = azure.responses.create(model="o3-mini", input=QUESTION, store=False)
    deleted = azure.responses.create(model="o3-mini", input=QUESTION)
    azure.responses.delete(deleted.id)
    for response in (unstored, deleted):
        item_id = str(response.output[-1].id)
        assert _unknown(mock, item_id).json()["error"]["message"] == (
            f"Item with id '{item_id}' not found."
        )


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (
            {"type": "item_reference"},
            ("Missing required parameter: 'input[0].id'.", "missing_required_parameter"),
        ),
        (
            {"type": "item_reference", "id": 7},
            (
                "Invalid type for 'input[0].id': expected a string, but got another type instead.",
                "invalid_type",
            ),
        ),
    ],
    ids=["missing", "not-a-string"],
)
def test_a_reference_needs_a_string_id(
    mock: MockServer, reference: dict[str, Any], expected: tuple[str, str]
) -> None:
    response = post(mock, {"model": "o3-mini", "input": [reference]})
    assert response.status == 400
    assert response.json() == error_body(expected[0], "input[0].id", expected[1])


def test_v1_surface_refuses_the_same_way(mock: MockServer) -> None:
    response = post(
        mock,
        {"model": "o3-mini", "input": [{"type": "item_reference", "id": "rs_x"}]},
        url=v1_url(mock),
    )
    assert response.status == 400
    assert response.json() == error_body("Item with id 'rs_x' not found.", "input", None)


def _stored(response_id: str, *item_ids: str) -> StoredResponse:
    output = [{"id": item_id, "type": "reasoning", "summary": []} for item_id in item_ids]
    return StoredResponse({"id": response_id, "output": output}, [], [])


async def test_the_store_forgets_exactly_the_items_no_response_holds() -> None:
    """Past capacity the oldest response goes with its items; an item two responses hold
    (an input item referenced again) stays until the last of them goes."""
    store = MemoryResponseStore(capacity=2)
    await store.put(_stored("resp_1", "rs_1", "rs_shared"))
    await store.put(_stored("resp_2", "rs_2", "rs_shared"))
    await store.put(_stored("resp_3", "rs_3"))
    assert await store.get_item("rs_1") is None
    shared = await store.get_item("rs_shared")
    assert shared == {"id": "rs_shared", "type": "reasoning", "summary": []}
    assert await store.delete("resp_2")
    assert await store.get_item("rs_shared") is None and await store.get_item("rs_2") is None
    assert await store.get_item("rs_3") is not None
    await store.clear()
    assert await store.get_item("rs_3") is None and await store.count() == 0
