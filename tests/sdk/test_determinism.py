"""The generator's answers are a function of the request: content, usage, choices, effort."""

from __future__ import annotations

from typing import Any

import openai

from tests.sdk.helpers import DOC_MESSAGES


def _create(client: openai.AzureOpenAI, **params: Any) -> openai.types.chat.ChatCompletion:
    params.setdefault("messages", DOC_MESSAGES)
    completion: openai.types.chat.ChatCompletion = client.chat.completions.create(
        model="o3-mini", **params
    )
    return completion


def _reasoning(completion: openai.types.chat.ChatCompletion) -> int:
    assert completion.usage is not None
    assert completion.usage.completion_tokens_details is not None
    tokens = completion.usage.completion_tokens_details.reasoning_tokens
    assert tokens is not None
    return tokens


def test_same_request_same_answer_new_id(client: openai.AzureOpenAI) -> None:
    first, second = _create(client), _create(client)
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.usage == second.usage
    assert first.id != second.id


def test_seed_changes_content(client: openai.AzureOpenAI) -> None:
    one, two = _create(client, seed=1), _create(client, seed=2)
    assert one.choices[0].message.content != two.choices[0].message.content
    assert _create(client, seed=1).choices[0].message.content == one.choices[0].message.content


def test_n_gives_distinct_choices(client: openai.AzureOpenAI) -> None:
    completion = _create(client, n=3)
    assert [choice.index for choice in completion.choices] == [0, 1, 2]
    contents = {choice.message.content for choice in completion.choices}
    assert len(contents) == 3
    assert "" not in contents
    assert completion.usage is not None
    assert _reasoning(completion) < completion.usage.completion_tokens


def test_reasoning_grows_with_effort(client: openai.AzureOpenAI) -> None:
    """On a hard prompt; a trivial one costs about the same on every effort, as real
    o3-mini's 64 on high for "What is the capital of France?" shows (crewai's recording)."""
    hard = [
        {
            "role": "user",
            "content": "Design a rate limiter, but never drop a paid request, only use one "
            "Redis key per client, and do not exceed 2 ms per check. " + "Context: " * 500,
        }
    ]
    low, medium, high = (
        _reasoning(_create(client, messages=hard, reasoning_effort=effort))
        for effort in ("low", "medium", "high")
    )
    assert 0 < low < medium < high
    trivial = [_reasoning(_create(client, reasoning_effort=e)) for e in ("low", "medium", "high")]
    assert 0 < trivial[0] <= trivial[1] <= trivial[2]


def test_default_effort_is_medium(client: openai.AzureOpenAI) -> None:
    assert _reasoning(_create(client)) == _reasoning(_create(client, reasoning_effort="medium"))
