"""A successful chat completion, as the `openai` SDK parses it."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from mockserver.testing.server import MockServer
from tests.sdk.helpers import DOC_MESSAGES, DOC_PROMPT_TOKENS
from tests.support.chat import CHAT_ID, MODEL_ID, UUID
from tests.support.clients import azure_client

SEVERITY_SAFE = {"filtered": False, "severity": "safe"}
NOT_DETECTED = {"detected": False, "filtered": False}


@pytest.fixture
def completion(client: openai.AzureOpenAI) -> openai.types.chat.ChatCompletion:
    return client.chat.completions.create(model="o3-mini", messages=DOC_MESSAGES)


def test_identity_fields(completion: openai.types.chat.ChatCompletion) -> None:
    assert completion.model == MODEL_ID
    assert CHAT_ID.match(completion.id)
    assert completion.object == "chat.completion"
    assert isinstance(completion.created, int)
    assert completion.created > 1_700_000_000
    assert completion.system_fingerprint is not None
    assert completion.system_fingerprint.startswith("fp_")


def test_message(completion: openai.types.chat.ChatCompletion) -> None:
    assert len(completion.choices) == 1
    choice = completion.choices[0]
    assert choice.index == 0
    assert choice.finish_reason == "stop"
    assert choice.logprobs is None
    assert choice.message.role == "assistant"
    assert choice.message.content
    assert choice.message.refusal is None
    assert choice.message.tool_calls is None


def test_filter_results_in_model_extra(completion: openai.types.chat.ChatCompletion) -> None:
    assert completion.model_extra is not None
    prompt_results = completion.model_extra["prompt_filter_results"]
    assert prompt_results == [
        {
            "prompt_index": 0,
            "content_filter_results": {
                "hate": SEVERITY_SAFE,
                "jailbreak": NOT_DETECTED,
                "self_harm": SEVERITY_SAFE,
                "sexual": SEVERITY_SAFE,
                "violence": SEVERITY_SAFE,
            },
        }
    ]
    choice_extra = completion.choices[0].model_extra
    assert choice_extra is not None
    assert choice_extra["content_filter_results"]["violence"] == SEVERITY_SAFE
    assert choice_extra["content_filter_results"]["protected_material_code"] == NOT_DETECTED


def test_usage(completion: openai.types.chat.ChatCompletion) -> None:
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == DOC_PROMPT_TOKENS
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    details = usage.completion_tokens_details
    assert details is not None
    assert details.reasoning_tokens is not None
    assert 0 < details.reasoning_tokens < usage.completion_tokens
    assert details.reasoning_tokens % 64 == 0
    assert details.accepted_prediction_tokens == 0
    assert details.rejected_prediction_tokens == 0
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 0


def test_success_carries_request_id(client: openai.AzureOpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="o3-mini", messages=DOC_MESSAGES)
    assert UUID.match(raw.headers["x-request-id"])
    assert raw.headers["x-ms-deployment-name"] == "o3-mini"
    assert raw.parse().model == MODEL_ID


@pytest.mark.parametrize("role", ["system", "developer"])
def test_instruction_roles_accepted(client: openai.AzureOpenAI, role: str) -> None:
    messages: list[Any] = [{"role": role, "content": "Answer briefly."}, *DOC_MESSAGES]
    completion = client.chat.completions.create(model="o3-mini", messages=messages)
    assert completion.choices[0].message.content
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > DOC_PROMPT_TOKENS


def test_body_model_ignored_with_deployment_client(server: MockServer) -> None:
    client = azure_client(server, azure_deployment="o3-mini")
    completion = client.chat.completions.create(model="whatever", messages=DOC_MESSAGES)
    assert completion.model == MODEL_ID


def test_body_model_ignored_on_deployment_route(client: openai.AzureOpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="o3-mini", messages=DOC_MESSAGES, extra_body={"model": "gpt-4o"}
    )
    assert raw.http_request.url.path == "/openai/deployments/o3-mini/chat/completions"
    assert raw.parse().model == MODEL_ID


def test_null_body_model_accepted(client: openai.AzureOpenAI) -> None:
    # LangChain sends `"model": null` on the deployments route.
    raw = client.chat.completions.with_raw_response.create(
        model="o3-mini", messages=DOC_MESSAGES, extra_body={"model": None}
    )
    assert b'"model":null' in raw.http_request.content
    assert raw.parse().choices[0].message.content


def test_answered_tool_loop(client: openai.AzureOpenAI) -> None:
    calls = [
        {"id": f"call_{n}", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        for n in (1, 2)
    ]
    messages: list[Any] = [
        *DOC_MESSAGES,
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "call_1", "content": "one"},
        {"role": "tool", "tool_call_id": "call_2", "content": "two"},
    ]
    completion = client.chat.completions.create(model="o3-mini", messages=messages)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content


def test_models_list(client: openai.AzureOpenAI) -> None:
    page = client.models.list()
    assert MODEL_ID in [model.id for model in page.data]
    assert page.data[0].model_extra is not None
    assert page.data[0].model_extra["capabilities"]["chat_completion"] is True
