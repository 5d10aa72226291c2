"""`AsyncAzureOpenAI` and `OpenAI` on the v1 API against the same server."""

from __future__ import annotations

from typing import Any, cast

import openai
import pytest

from tests.sdk.helpers import DOC_MESSAGES, DOC_PROMPT_TOKENS, assert_error
from tests.support.chat import CHAT_ID, MODEL_ID


async def test_async_success(async_client: openai.AsyncAzureOpenAI) -> None:
    async with async_client:
        completion = await async_client.chat.completions.create(
            model="o3-mini", messages=DOC_MESSAGES
        )
    assert CHAT_ID.match(completion.id)
    assert completion.model == MODEL_ID
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == DOC_PROMPT_TOKENS
    assert completion.choices[0].message.content


async def test_async_unknown_deployment(async_client: openai.AsyncAzureOpenAI) -> None:
    async with async_client:
        with pytest.raises(openai.NotFoundError) as caught:
            await async_client.chat.completions.create(model="nope", messages=DOC_MESSAGES)
    assert caught.value.code == "DeploymentNotFound"
    assert caught.value.type == "invalid_request_error"


async def test_async_unsupported_parameter(async_client: openai.AsyncAzureOpenAI) -> None:
    async with async_client:
        with pytest.raises(openai.BadRequestError) as caught:
            await async_client.chat.completions.create(
                model="o3-mini", messages=DOC_MESSAGES, temperature=0.5
            )
    assert_error(
        caught.value,
        status=400,
        code="unsupported_parameter",
        param="temperature",
        message="Unsupported parameter: 'temperature' is not supported with this model.",
    )


async def test_async_empty_messages(async_client: openai.AsyncAzureOpenAI) -> None:
    async with async_client:
        with pytest.raises(openai.BadRequestError) as caught:
            await async_client.chat.completions.create(model="o3-mini", messages=[])
    assert caught.value.code == "empty_array"
    assert caught.value.param == "messages"


async def test_async_same_answer_as_sync(
    async_client: openai.AsyncAzureOpenAI, client: openai.AzureOpenAI
) -> None:
    async with async_client:
        answer = await async_client.chat.completions.create(model="o3-mini", messages=DOC_MESSAGES)
    expected = client.chat.completions.create(model="o3-mini", messages=DOC_MESSAGES)
    assert answer.choices[0].message.content == expected.choices[0].message.content


def test_v1_success(v1_client: openai.OpenAI) -> None:
    completion = v1_client.chat.completions.create(model="o3-mini", messages=DOC_MESSAGES)
    assert CHAT_ID.match(completion.id)
    assert completion.model == MODEL_ID
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == DOC_PROMPT_TOKENS
    assert completion.model_extra is not None
    assert completion.model_extra["prompt_filter_results"][0]["prompt_index"] == 0


def test_v1_same_answer_as_dated(v1_client: openai.OpenAI, client: openai.AzureOpenAI) -> None:
    v1 = v1_client.chat.completions.create(model="o3-mini", messages=DOC_MESSAGES)
    dated = client.chat.completions.create(model="o3-mini", messages=DOC_MESSAGES)
    assert v1.choices[0].message.content == dated.choices[0].message.content
    assert v1.usage == dated.usage


def test_v1_unknown_model_is_unknown_deployment(v1_client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        v1_client.chat.completions.create(model="o3-mini-2025-01-31", messages=DOC_MESSAGES)
    assert_error(
        caught.value,
        status=404,
        code="DeploymentNotFound",
        message="The API deployment for this resource does not exist. If you created the "
        "deployment within the last 5 minutes, please wait a moment and try again.",
    )


def test_v1_missing_model(v1_client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        v1_client.chat.completions.create(model=cast(Any, openai.omit), messages=DOC_MESSAGES)
    assert_error(caught.value, status=400, code=None, message="you must provide a model parameter")


def test_v1_validation_error(v1_client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        v1_client.chat.completions.create(model="o3-mini", messages=DOC_MESSAGES, top_p=0.5)
    assert caught.value.code == "unsupported_parameter"
    assert caught.value.param == "top_p"
    # As v1's successes: the charset said (a 2025 v1 capture of a 400 has it too).
    assert caught.value.response.headers["content-type"] == "application/json; charset=utf-8"


def test_v1_models_list(v1_client: openai.OpenAI) -> None:
    assert MODEL_ID in [model.id for model in v1_client.models.list().data]
