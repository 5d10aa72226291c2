"""A million spaces in a message through the openai SDK: answered, with the exact count.

tiktoken's regex engine panics on a run of about a million blanks; the count cuts such a
run out (tests/unit/test_tokens_blank_runs.py). 7,813 tokens are far inside o3-mini's
200,000-token context window, so the answer is a completion, not the context-length 400.
No retries, and a timeout: a request left unanswered fails the test."""

from __future__ import annotations

import openai

from mockserver.contract.model_card import load_model_card
from mockserver.tokens import counting
from tests.support.chat import user

SPACES = " " * 1_000_000


def test_a_million_spaces_are_answered_with_their_count(client: openai.AzureOpenAI) -> None:
    spaces = len(counting.encoding()._core_bpe.encode_single_piece(SPACES.encode()))
    assert spaces == 7_813  # one piece of `\s+(?!\S)`: 128 spaces a token
    assert spaces < load_model_card("o3-mini").context_window
    bounded = client.with_options(timeout=60.0, max_retries=0)
    completion = bounded.chat.completions.create(model="o3-mini", messages=user(SPACES))
    assert completion.choices[0].message.content
    assert completion.usage is not None
    role = len(counting.encoding().encode_ordinary("user"))
    # 3 markers for the message, its author, its text; 2 to open the reply.
    assert completion.usage.prompt_tokens == 3 + role + spaces + 2
