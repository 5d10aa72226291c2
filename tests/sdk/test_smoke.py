"""The quick start of the README works through the real `openai` SDK."""

from __future__ import annotations

import openai


def test_azure_client_gets_a_chat_completion(client: openai.AzureOpenAI) -> None:
    completion = client.chat.completions.create(
        model="o3-mini",
        messages=[
            {
                "role": "user",
                "content": "What steps should I think about when writing my first Python API?",
            }
        ],
    )
    assert completion.model == "o3-mini-2025-01-31"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 19  # o3-mini's framing: see tests/sdk/helpers.py
    assert completion.choices[0].message.content
    assert completion.model_extra is not None
    assert completion.model_extra["prompt_filter_results"][0]["prompt_index"] == 0


def test_v1_client_gets_a_chat_completion(v1_client: openai.OpenAI) -> None:
    completion = v1_client.chat.completions.create(
        model="o3-mini", messages=[{"role": "user", "content": "hello"}]
    )
    assert completion.object == "chat.completion"
    assert completion.choices[0].finish_reason == "stop"
