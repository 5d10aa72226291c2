"""The Responses API over raw HTTP: routes, exact error bodies, the SSE wire, the schema."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.testing.server import MockServer
from tests.responses.helpers import (
    WEATHER_TOOL,
    assert_valid,
    call,
    error_body,
    post,
    responses_url,
    v1_url,
)
from tests.support.chat import MODEL_ID
from tests.support.sse import named_events

# The key order of the response in Azure's docs example (reference/azure-contract.md 4.3).
AZURE_EXAMPLE_KEYS = [
    "id",
    "created_at",
    "error",
    "incomplete_details",
    "instructions",
    "metadata",
    "model",
    "object",
    "output",
    "parallel_tool_calls",
    "temperature",
    "tool_choice",
    "tools",
    "top_p",
    "background",
    "max_output_tokens",
    "previous_response_id",
    "reasoning",
    "service_tier",
    "status",
    "text",
    "truncation",
    "usage",
    "user",
    "store",
]
RESOURCE_NOT_FOUND = b'{"error":{"code":"404","message": "Resource not found"}}'
CONTEXT_MESSAGE = (
    "Your input exceeds the context window of this model. Please adjust your input and try again."
)


def _pretty(response: Any) -> Any:
    """Backend errors are pretty-printed like the chat route's; compare parsed bodies."""
    assert response.body.startswith(b"{\n"), response.body
    return response.json()


@pytest.mark.parametrize("api_version", ["2025-03-01-preview", "2025-04-01-preview"])
def test_dated_route_from_2025_03_01_preview(server: MockServer, api_version: str) -> None:
    response = post(server, {"model": "o3-mini", "input": "hi"}, api_version=api_version)
    assert response.status == 200
    body = response.json()
    assert body["object"] == "response" and body["model"] == MODEL_ID
    assert_valid("response", body)


@pytest.mark.parametrize("api_version", ["2025-02-01-preview", "2024-12-01-preview", None])
def test_older_or_missing_api_version_is_not_found(
    server: MockServer, api_version: str | None
) -> None:
    response = post(server, {"model": "o3-mini", "input": "hi"}, api_version=api_version)
    assert (response.status, response.body) == (404, RESOURCE_NOT_FOUND)


def test_unknown_api_version_is_a_bad_request(server: MockServer) -> None:
    response = post(server, {"model": "o3-mini", "input": "hi"}, api_version="2031-01-01")
    assert response.status == 400
    assert response.json() == {
        "error": {"code": "BadRequest", "message": "API version not supported"}
    }


def test_v1_route_needs_no_api_version(server: MockServer) -> None:
    response = post(server, {"model": "o3-mini", "input": "hi"}, url=v1_url(server))
    assert response.status == 200
    assert_valid("response", response.json())


def test_unknown_deployment(server: MockServer) -> None:
    response = post(server, {"model": "gpt-nope", "input": "hi"})
    assert response.status == 404
    assert response.json()["error"]["code"] == "DeploymentNotFound"
    assert response.json()["error"]["message"].startswith(
        "The API deployment for this resource does not exist."
    )


def test_invalid_json(server: MockServer) -> None:
    response = post(server, b"{not json")
    assert response.status == 400
    error = _pretty(response)["error"]
    assert error["message"].startswith("We could not parse the JSON body of your request.")
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", None, None)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"temperature": 0.5},
            error_body(
                "Unsupported parameter: 'temperature' is not supported with this model.",
                "temperature",
                "unsupported_parameter",
            ),
        ),
        (
            {"top_p": 0.9},
            error_body(
                "Unsupported parameter: 'top_p' is not supported with this model.",
                "top_p",
                "unsupported_parameter",
            ),
        ),
        (
            {"max_tokens": 50},
            error_body("Unknown parameter: 'max_tokens'.", "max_tokens", "unknown_parameter"),
        ),
        (
            {"max_output_tokens": 5},
            error_body(
                "Invalid 'max_output_tokens': integer below minimum value. Expected a value "
                ">= 16, but got 5 instead.",
                "max_output_tokens",
                "integer_below_min_value",
            ),
        ),
        (
            {"max_output_tokens": 200000},
            error_body(
                "max_output_tokens is too large: 200000. This model supports at most 100000 "
                "completion tokens, whereas you provided 200000.",
                "max_output_tokens",
                "invalid_value",
            ),
        ),
        (
            {"text": {"format": {"type": "json_object"}}},
            error_body(
                "Response input messages must contain the word 'json' in some form to use "
                "'text.format' of type 'json_object'.",
                "text.format",
                None,
            ),
        ),
        (
            {"previous_response_id": "resp_missing"},
            error_body(
                "Previous response with id 'resp_missing' not found.",
                "previous_response_id",
                "previous_response_not_found",
            ),
        ),
        (
            {"reasoning": {"effort": "minimal"}},
            error_body(
                "Unsupported value: 'reasoning.effort' does not support 'minimal' with this "
                "model. Supported values are: 'low', 'medium', and 'high'.",
                "reasoning.effort",
                "unsupported_value",
            ),
        ),
    ],
    ids=[
        "temperature",
        "top_p",
        "max_tokens",
        "budget-too-small",
        "budget-too-large",
        "json_object",
        "previous",
        "effort",
    ],
)
def test_exact_validation_errors(
    server: MockServer, extra: dict[str, Any], expected: dict[str, Any]
) -> None:
    response = post(server, {"model": "o3-mini", "input": "hi", **extra})
    assert response.status == 400
    assert _pretty(response) == expected


def test_context_window(server: MockServer) -> None:
    long_turn = {"role": "user", "content": "word " * 150_000}  # about 75k tokens each
    response = post(server, {"model": "o3-mini", "input": [long_turn] * 3})
    assert response.status == 400
    assert _pretty(response) == error_body(CONTEXT_MESSAGE, "input", "context_length_exceeded")


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (
            [],
            error_body(
                "Invalid 'input': empty array. Expected an array with minimum length 1, but "
                "got an empty array instead.",
                "input",
                "empty_array",
            ),
        ),
        (
            [{"type": "function_call_output", "call_id": "call_1", "output": "x"}],
            error_body(
                "No tool call found for function call output with call_id call_1.", "input", None
            ),
        ),
        (
            [
                {"role": "user", "content": "hi"},
                {"type": "function_call", "call_id": "call_9", "name": "f", "arguments": "{}"},
            ],
            error_body("No tool output found for function call call_9.", "input", None),
        ),
        (
            [
                {"role": "user", "content": "hi"},
                {"role": "user", "content": [{"type": "input_image", "image_url": "http://x"}]},
            ],
            error_body(
                "Invalid content type. input_image is only supported by certain models.",
                "input[1].content[0].type",
                None,
            ),
        ),
    ],
    ids=["empty", "orphan-output", "call-without-output", "image"],
)
def test_input_errors_name_the_input_item(
    server: MockServer, items: list[Any], expected: dict[str, Any]
) -> None:
    response = post(server, {"model": "o3-mini", "input": items})
    assert response.status == 400
    assert _pretty(response) == expected


def test_tool_errors_use_the_flat_tool_shape(server: MockServer) -> None:
    tool = {**WEATHER_TOOL, "name": "bad name"}
    response = post(server, {"model": "o3-mini", "input": "hi", "tools": [tool]})
    error = _pretty(response)["error"]
    assert error["param"] == "tools[0].name"
    assert error["message"].startswith("Invalid 'tools[0].name': string does not match pattern.")


def test_budget_exhausted_is_incomplete(server: MockServer) -> None:
    response = post(server, {"model": "o3-mini", "input": "hi", "max_output_tokens": 16})
    body = response.json()
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert body["usage"]["output_tokens"] == 16
    assert [item["type"] for item in body["output"]] == ["reasoning"]
    assert_valid("response", body)


def test_response_object_fields(server: MockServer) -> None:
    body = post(
        server,
        {
            "model": "o3-mini",
            "input": "hi",
            "instructions": "Be brief.",
            "metadata": {"run": "7"},
            "reasoning": {"effort": "low"},
            "max_output_tokens": 5000,
        },
    ).json()
    assert list(body) == AZURE_EXAMPLE_KEYS
    assert isinstance(body["created_at"], float)
    assert body["instructions"] == "Be brief."
    assert body["metadata"] == {"run": "7"}
    assert body["reasoning"]["effort"] == "low"
    assert body["max_output_tokens"] == 5000
    assert (body["truncation"], body["store"], body["error"]) == ("disabled", True, None)
    assert (body["temperature"], body["top_p"], body["user"]) == (1.0, 1.0, None)
    reasoning, message = body["output"]
    assert reasoning == {"id": reasoning["id"], "type": "reasoning", "summary": [], "content": []}
    assert reasoning["id"].startswith("rs_") and message["id"].startswith("msg_")
    assert message["content"][0]["annotations"] == []
    usage = body["usage"]
    assert usage["input_tokens_details"] == {"cached_tokens": 0}
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_function_call_and_json_schema_responses_validate(server: MockServer) -> None:
    tool_body = post(
        server, {"model": "o3-mini", "input": "weather in Paris?", "tools": [WEATHER_TOOL]}
    ).json()
    assert tool_body["output"][1]["type"] == "function_call"
    assert_valid("response", tool_body)
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    text = {"format": {"type": "json_schema", "name": "thing", "schema": schema, "strict": True}}
    json_body = post(server, {"model": "o3-mini", "input": "hi", "text": text}).json()
    assert json_body["text"]["format"]["name"] == "thing"
    assert_valid("response", json_body)


@pytest.mark.parametrize("tools", [[], [WEATHER_TOOL]], ids=["message", "function_call"])
def test_stream_wire_and_every_event_validates(server: MockServer, tools: list[Any]) -> None:
    body = {"model": "o3-mini", "input": "weather in Paris?", "tools": tools, "stream": True}
    response = post(server, body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = named_events(response.body)
    assert [name for name, _ in events] == [data["type"] for _, data in events]
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    for _, data in events:
        assert_valid("responseStreamEvent", data)
    final = events[-1][1]
    assert final["type"] == "response.completed"
    assert_valid("response", final["response"])
    assert events[0][1]["response"]["status"] == "in_progress"
    assert events[0][1]["response"]["id"] == final["response"]["id"]


def test_streamed_incomplete_ends_with_response_incomplete(server: MockServer) -> None:
    body = {"model": "o3-mini", "input": "hi", "max_output_tokens": 16, "stream": True}
    events = named_events(post(server, body).body)
    assert events[-1][0] == "response.incomplete"
    assert events[-1][1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_retrieve_delete_and_input_items(server: MockServer) -> None:
    items = [
        {"role": "developer", "content": "Answer briefly."},
        {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
    ]
    created = post(server, {"model": "o3-mini", "input": items}).json()
    url = responses_url(server, suffix=f"/{created['id']}")
    assert call(server, "GET", url).json() == created
    listed = call(server, "GET", responses_url(server, suffix=f"/{created['id']}/input_items"))
    page = listed.json()
    assert_valid("responseItemList", page)
    assert [item["role"] for item in page["data"]] == ["user", "developer"]  # newest first
    assert (page["first_id"], page["last_id"]) == (page["data"][0]["id"], page["data"][1]["id"])
    assert page["has_more"] is False
    ascending = call(
        server, "GET", v1_url(server, f"/{created['id']}/input_items?order=asc&limit=1")
    ).json()
    assert [item["role"] for item in ascending["data"]] == ["developer"]
    assert ascending["has_more"] is True
    deleted = call(server, "DELETE", url)
    assert deleted.json() == {"id": created["id"], "object": "response.deleted", "deleted": True}
    gone = call(server, "GET", url)
    assert gone.status == 404
    assert _pretty(gone) == error_body(f"Response with id '{created['id']}' not found.", None, None)
    assert call(server, "DELETE", url).status == 404


def test_input_items_pages_by_cursor(server: MockServer) -> None:
    items = [{"role": "user", "content": f"item {n}"} for n in range(5)]
    created = post(server, {"model": "o3-mini", "input": items}).json()

    def page(query: str) -> Any:
        url = v1_url(server, f"/{created['id']}/input_items?order=asc&{query}")
        listed = call(server, "GET", url).json()
        if listed["data"]:  # (the document types first_id as a string: no empty page)
            assert_valid("responseItemList", listed)
        return listed

    first = page("limit=2")
    ids = [item["id"] for item in first["data"]]
    second = page(f"limit=2&after={ids[-1]}")
    third = page(f"limit=2&after={second['last_id']}")
    assert [len(p["data"]) for p in (first, second, third)] == [2, 2, 1]
    assert [p["has_more"] for p in (first, second, third)] == [True, True, False]
    every = [item["id"] for p in (first, second, third) for item in p["data"]]
    assert len(set(every)) == 5
    back = page(f"limit=2&before={third['first_id']}")  # the two just before the last
    assert [item["id"] for item in back["data"]] == [item["id"] for item in second["data"]]
    assert back["has_more"] is True
    assert page("limit=2&after=msg_not_in_this_list") == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


def test_store_false_is_not_kept(server: MockServer) -> None:
    created = post(server, {"model": "o3-mini", "input": "hi", "store": False}).json()
    assert created["store"] is False
    assert call(server, "GET", v1_url(server, f"/{created['id']}")).status == 404


def test_reads_need_a_version_that_has_the_route(server: MockServer) -> None:
    url = responses_url(server, "2024-10-21", suffix="/resp_x")
    response = call(server, "GET", url)
    assert (response.status, response.body) == (404, RESOURCE_NOT_FOUND)
