"""`max_completion_tokens` as one budget (reasoning first, then the answer's hidden framing
and its visible tokens), `stop`, and the token limits."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from mockserver.contract.model_card import load_model_card
from mockserver.tokens import counting as tokens
from tests.sdk.helpers import DOC_MESSAGES, DOC_PROMPT_TOKENS, assert_error

CONTEXT_WINDOW = 200_000
MAX_OUTPUT = 100_000
EFFORTS = ("low", "medium", "high")
HELLO = " hello"  # one o200k_base token per repetition
FRAMING = load_model_card("o3-mini").prompt_framing
# Hidden tokens real o3-mini bills with a text answer: completion - reasoning - visible is 13
# in 4 of its 6 recorded text answers (tests/sdk/test_real_o3mini_usage.py).
TEXT_FRAMING = 13


def _create(client: openai.AzureOpenAI, **params: Any) -> openai.types.chat.ChatCompletion:
    params.setdefault("messages", DOC_MESSAGES)
    completion: openai.types.chat.ChatCompletion = client.chat.completions.create(
        model="o3-mini", **params
    )
    return completion


def _spent(completion: openai.types.chat.ChatCompletion) -> tuple[int, int]:
    """(completion_tokens, reasoning_tokens)."""
    usage = completion.usage
    assert usage is not None
    assert usage.completion_tokens_details is not None
    reasoning = usage.completion_tokens_details.reasoning_tokens
    assert reasoning is not None
    return usage.completion_tokens, reasoning


def _hello_messages(*repeats: int) -> list[Any]:
    return [{"role": "user", "content": HELLO * count} for count in repeats]


def _prompt(messages: list[Any]) -> int:
    return tokens.prompt_tokens(messages, [], FRAMING)


def test_hello_is_one_token_each() -> None:
    assert tokens.count(HELLO * 50_000) == 50_000
    # 3 per message, 1 for the role `user`, the content, 2 to open the reply (o3-mini:
    # "hello" alone bills 7 in pydantic-ai__test_max_completion_tokens[o3-mini].yaml).
    assert _prompt(_hello_messages(10, 20)) == (3 + 1 + 10) + (3 + 1 + 20) + 2


def test_budget_spent_on_reasoning(client: openai.AzureOpenAI) -> None:
    """A limit below the reasoning (64 at least) leaves nothing to answer with."""
    completion = _create(client, reasoning_effort="high", max_completion_tokens=30)
    choice = completion.choices[0]
    assert choice.finish_reason == "length"
    assert choice.message.content == ""
    assert _spent(completion) == (30, 30)
    assert completion.usage is not None
    assert completion.usage.total_tokens == DOC_PROMPT_TOKENS + 30


def test_budget_cuts_visible_text(client: openai.AzureOpenAI) -> None:
    full = _create(client, reasoning_effort="low")
    full_text = full.choices[0].message.content
    assert full_text
    total, reasoning = _spent(full)
    # Half the visible text: the framing is paid before it (OpenAI's reasoning guide counts
    # "non-visible formatting tokens" in the limit).
    budget = reasoning + TEXT_FRAMING + (total - reasoning - TEXT_FRAMING) // 2
    cut = _create(client, reasoning_effort="low", max_completion_tokens=budget)
    text = cut.choices[0].message.content
    assert cut.choices[0].finish_reason == "length"
    assert _spent(cut) == (budget, reasoning)
    assert text
    assert len(text) < len(full_text)
    assert full_text.startswith(text)


def test_budget_larger_than_answer_changes_nothing(client: openai.AzureOpenAI) -> None:
    full = _create(client, reasoning_effort="low")
    roomy = _create(client, reasoning_effort="low", max_completion_tokens=MAX_OUTPUT)
    assert roomy.choices[0].finish_reason == "stop"
    assert roomy.choices[0].message.content == full.choices[0].message.content
    assert _spent(roomy) == _spent(full)


def test_stop_cuts_content(client: openai.AzureOpenAI) -> None:
    full = _create(client).choices[0].message.content
    assert full
    middle = len(full) // 2
    stop = full[middle : middle + 6]
    completion = _create(client, stop=stop)
    content = completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    assert content == full[: full.index(stop)]
    assert content is not None
    assert stop not in content


def test_earliest_stop_of_a_list_wins(client: openai.AzureOpenAI) -> None:
    full = _create(client).choices[0].message.content
    assert full
    early, late = full[len(full) // 3 :][:5], full[-5:]
    cut_at = min(full.index(early), full.index(late))
    completion = _create(client, stop=[late, early])
    assert completion.choices[0].message.content == full[:cut_at]


def test_stop_shortens_usage(client: openai.AzureOpenAI) -> None:
    full = _create(client)
    text = full.choices[0].message.content
    assert text
    stopped = _create(client, stop=text[len(text) // 2 :][:6])
    assert _spent(stopped)[0] < _spent(full)[0]
    assert _spent(stopped)[1] == _spent(full)[1]


def test_max_completion_tokens_too_large(client: openai.AzureOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _create(client, max_completion_tokens=MAX_OUTPUT + 1)
    assert_error(
        caught.value,
        status=400,
        code="invalid_value",
        param="max_completion_tokens",
        message="max_completion_tokens is too large: 100001. This model supports at most "
        "100000 completion tokens, whereas you provided 100001.",
    )


def test_max_completion_tokens_below_one(client: openai.AzureOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _create(client, max_completion_tokens=0)
    assert_error(
        caught.value,
        status=400,
        code="integer_below_min_value",
        param="max_completion_tokens",
        message="Invalid 'max_completion_tokens': integer below minimum value. Expected a "
        "value >= 1, but got 0 instead.",
    )


def test_prompt_over_context_window(client: openai.AzureOpenAI) -> None:
    messages = _hello_messages(100_000, 100_000)
    prompt = _prompt(messages)
    assert prompt == 200_010
    with pytest.raises(openai.BadRequestError) as caught:
        _create(client, messages=messages)
    assert_error(
        caught.value,
        status=400,
        code="context_length_exceeded",
        param="messages",
        message=f"This model's maximum context length is 200000 tokens. However, your "
        f"messages resulted in {prompt} tokens. Please reduce the length of the messages.",
    )


def test_prompt_plus_completion_over_context_window(client: openai.AzureOpenAI) -> None:
    messages = _hello_messages(150_000)
    prompt = _prompt(messages)
    budget = CONTEXT_WINDOW - prompt + 1
    with pytest.raises(openai.BadRequestError) as caught:
        _create(client, messages=messages, max_completion_tokens=budget)
    assert_error(
        caught.value,
        status=400,
        code="context_length_exceeded",
        param="messages",
        message=f"This model's maximum context length is 200000 tokens. However, you "
        f"requested {prompt + budget} tokens ({prompt} in the messages, {budget} in the "
        "completion). Please reduce the length of the messages or completion.",
    )


def test_prompt_plus_completion_at_context_window(client: openai.AzureOpenAI) -> None:
    messages = _hello_messages(150_000)
    prompt = _prompt(messages)
    completion = _create(client, messages=messages, max_completion_tokens=CONTEXT_WINDOW - prompt)
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == prompt
    assert completion.usage.completion_tokens <= CONTEXT_WINDOW - prompt


def test_a_long_string_is_refused_for_its_tokens_not_its_length(
    client: openai.AzureOpenAI,
) -> None:
    """The issue's case: 1.2M characters are within the 10,485,760-character string limit."""
    messages = [{"role": "user", "content": "hello " * 201_000}]
    prompt = _prompt(messages)
    assert prompt > CONTEXT_WINDOW
    with pytest.raises(openai.BadRequestError) as caught:
        _create(client, messages=messages)
    assert caught.value.code == "context_length_exceeded"
    assert f"your messages resulted in {prompt} tokens" in caught.value.message


def test_a_small_budget_answers_a_greeting(client: openai.AzureOpenAI) -> None:
    """pydantic-ai's recorded request: o3-mini answers "hello" within 100 tokens, 64 of
    them reasoning (pydantic-ai__test_max_completion_tokens[o3-mini].yaml)."""
    completion = _create(
        client, messages=[{"role": "user", "content": "hello"}], max_completion_tokens=100
    )
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content
    total, reasoning = _spent(completion)
    assert reasoning == 64
    assert total <= 100
    # Real: 87 = 64 reasoning + 13 hidden + 10 for "Hello there! How can I help you today?".
    assert total == reasoning + TEXT_FRAMING + tokens.count(completion.choices[0].message.content)


def test_completion_tokens_are_reasoning_framing_and_visible(client: openai.AzureOpenAI) -> None:
    """Real o3-mini bills 13 hidden tokens with a text answer, beside reasoning and the
    visible text: 187 = 64 + 13 + 110 (envoy-ai-gateway's bat-and-ball recording)."""
    completion = _create(client)
    content = completion.choices[0].message.content
    assert content
    total, reasoning = _spent(completion)
    assert total == reasoning + TEXT_FRAMING + tokens.count(content)
    assert completion.usage is not None
    assert completion.usage.total_tokens == DOC_PROMPT_TOKENS + total


def test_the_quota_is_charged_the_prompt_not_the_completion(
    azure_openai_client: openai.AzureOpenAI,
) -> None:
    """Billing and quota differ: usage bills the completion (reasoning and framing
    included), but the tokens-per-minute count, as real Azure answers show it, is charged
    only the estimate made before answering, the prompt here (no max_completion_tokens).
    The client sends the test's own session: its quota window holds only these two."""
    client = azure_openai_client
    raw = [
        client.chat.completions.with_raw_response.create(model="o3-mini", messages=DOC_MESSAGES)
        for _ in range(2)
    ]
    completions = [response.parse() for response in raw]
    assert all(c.usage is not None and c.usage.completion_tokens > 100 for c in completions)
    remaining = [int(response.headers["x-ratelimit-remaining-tokens"]) for response in raw]
    assert remaining[0] - remaining[1] == DOC_PROMPT_TOKENS


def test_responses_output_tokens_bill_the_framing_too(client: openai.AzureOpenAI) -> None:
    """The Responses API's output_tokens is the same count as chat's completion_tokens:
    reasoning, the hidden framing and the visible text."""
    response = client.responses.create(model="o3-mini", input="Explain tides briefly.")
    usage = response.usage
    assert usage is not None and response.output_text
    reasoning = usage.output_tokens_details.reasoning_tokens
    assert usage.output_tokens == reasoning + TEXT_FRAMING + tokens.count(response.output_text)
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def test_effort_spends_more_on_a_hard_prompt(client: openai.AzureOpenAI) -> None:
    hard = [
        {
            "role": "user",
            "content": "Plan a database migration, but never lock a table for more than one "
            "second, and only use online schema changes. " + "Schema: table " * 300,
        }
    ]
    spent = [_spent(_create(client, messages=hard, reasoning_effort=e))[1] for e in EFFORTS]
    assert spent == sorted(spent)
    assert spent[0] < spent[2]
