"""The requests of each workload: prompts of a known token count, bodies, fixed replies.

Texts are English-like prose drawn from a seeded generator and measured with the same
o200k_base encoding the server uses, so "a 20,000-token prompt" is exact.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

API_VERSION = "2025-04-01-preview"
DEPLOYMENT = "o3-mini"
SMALL_PROMPT_TOKENS = 50
LARGE_PROMPT_TOKENS = 20_000
STREAM_REPLY_TOKENS = 200
W4_STREAMS = 1000
W4_LATENCY = "ttft_ms=200,tokens_per_second=50"

WORDS = (
    "the service request model answer token stream client server latency budget test "
    "deployment version schema message system user tool call function value error retry "
    "limit window minute second quota region header body field array object string number "
    "result output input prompt reply reason effort design build deploy check measure plan "
    "small large simple careful quick steady clear exact real local remote shared single "
    "data file path route cache queue worker thread process memory time count rate share "
    "how what when where which why should could would will can may must first next last"
).split()

TITLE = "Benchmark question {n}: "
SMALL_TITLE = "Question {n}: "  # W1 distinct: a counter before the W1 prompt
STREAM_TITLE = "Stream this: "  # W3/W4 ask with their own prompt, so a fixture can tell


@dataclass(frozen=True)
class Texts:
    small_prompt: str  # ~50 prompt tokens in all
    large_prompt: str  # ~20,000 prompt tokens
    stream_reply: str  # exactly STREAM_REPLY_TOKENS tokens


def _encoding() -> Any:
    from mockserver.tokens.counting import encoding

    return encoding()


def count_tokens(text: str) -> int:
    return len(_encoding().encode_ordinary(text))


def _prose(rng: random.Random, target: int) -> str:
    """Sentences of random words until the text has `target` tokens (within a few)."""
    sentences: list[str] = []
    tokens = 0
    while tokens < target:
        words = [rng.choice(WORDS) for _ in range(rng.randint(6, 14))]
        sentence = " ".join(words).capitalize() + "."
        sentences.append(sentence)
        tokens += count_tokens(" " + sentence)
    text = " ".join(sentences)
    # Trim whole words from the end to land on the target.
    words = text.split(" ")
    while count_tokens(" ".join(words)) > target and len(words) > 1:
        words.pop()
    return " ".join(words)


@cache
def texts() -> Texts:
    rng = random.Random(20261125)
    # A chat message adds 3 tokens, its role 1, the reply priming 3: 7 in all.
    small = _prose(rng, SMALL_PROMPT_TOKENS - 7)
    large = _prose(rng, LARGE_PROMPT_TOKENS - 7 - count_tokens(TITLE.format(n=12345)))
    reply = _prose(rng, STREAM_REPLY_TOKENS)
    return Texts(small, large, reply)


def chat_body(content: str, stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": content}],
        "model": DEPLOYMENT,  # ignored by the dated Azure route, needed by /v1 peers
        "reasoning_effort": "low",
    }
    if stream:
        body["stream"] = True
    return body


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def split_body(body: dict[str, Any], marker: str) -> tuple[str, str]:
    """The JSON text of `body` cut at `marker` (in a string), for Lua to insert a counter."""
    text = dumps(body)
    prefix, found, suffix = text.partition(marker)
    assert found, marker
    return prefix, suffix


def distinct_large_parts() -> tuple[str, str]:
    """W2 distinct: prefix + counter + suffix gives a new 20,000-token prompt each time."""
    marker = "\u0000COUNTER\u0000"
    body = chat_body(TITLE.format(n=marker) + texts().large_prompt)
    return split_body(body, dumps(marker)[1:-1])


def repeated_large_body_text() -> str:
    return TITLE.format(n=1) + texts().large_prompt


def repeated_large_body() -> str:
    return dumps(chat_body(repeated_large_body_text()))


def small_body(stream: bool = False) -> str:
    return dumps(chat_body(texts().small_prompt, stream=stream))


def stream_prompt() -> str:
    return STREAM_TITLE + texts().small_prompt


def stream_body() -> str:
    return dumps(chat_body(stream_prompt(), stream=True))


def distinct_small_parts() -> tuple[str, str]:
    """W1 distinct: prefix + counter + suffix gives a new small prompt each time (the
    counter adds a token or two; the text and its shape stay W1's)."""
    marker = "\u0000COUNTER\u0000"
    body = chat_body(SMALL_TITLE.format(n=marker) + texts().small_prompt)
    return split_body(body, dumps(marker)[1:-1])


def encode_seconds(runs: int = 15) -> dict[str, float]:
    """tiktoken's own time to encode the W2 prompt, in-process (a fresh prompt each run)."""
    encoding = _encoding()
    prompts = [TITLE.format(n=n) + texts().large_prompt for n in range(runs + 2)]
    encoding.encode_ordinary(prompts[0])  # warm
    samples = []
    for prompt in prompts[1:]:
        start = time.perf_counter()
        encoding.encode_ordinary(prompt)
        samples.append(time.perf_counter() - start)
    return {
        "min_ms": min(samples) * 1000,
        "median_ms": statistics.median(samples) * 1000,
        "max_ms": max(samples) * 1000,
        "tokens": count_tokens(prompts[0]),
    }


# --- fixed replies, for the ceiling server and the static peers ---------------------------


def fixed_completion(content: str) -> dict[str, Any]:
    return {
        "choices": [
            {
                "content_filter_results": {},
                "finish_reason": "stop",
                "index": 0,
                "logprobs": None,
                "message": {
                    "annotations": [],
                    "content": content,
                    "refusal": None,
                    "role": "assistant",
                },
            }
        ],
        "created": 1795622018,
        "id": "chatcmpl-bench0000000000000000000000000",
        "model": "o3-mini-2025-01-31",
        "object": "chat.completion",
        "prompt_filter_results": [{"content_filter_results": {}, "prompt_index": 0}],
        "system_fingerprint": "fp_e1882df059",
        "usage": {
            "completion_tokens": STREAM_REPLY_TOKENS + 192,
            "prompt_tokens": 50,
            "total_tokens": STREAM_REPLY_TOKENS + 242,
        },
    }


def sse_frames(content: str) -> list[str]:
    """A stream of one frame per token, as Azure sends it, ending with [DONE]."""
    encoding = _encoding()
    pieces = [encoding.decode([token]) for token in encoding.encode_ordinary(content)]
    base = {
        "created": 1795622018,
        "id": "chatcmpl-bench0000000000000000000000000",
        "model": "o3-mini-2025-01-31",
        "object": "chat.completion.chunk",
        "system_fingerprint": "fp_e1882df059",
    }
    frames = [{"choices": [], **base, "prompt_filter_results": [{"prompt_index": 0}]}]
    frames.append(
        {
            "choices": [
                {"delta": {"content": "", "role": "assistant"}, "finish_reason": None, "index": 0}
            ],
            **base,
        }
    )
    frames += [
        {"choices": [{"delta": {"content": piece}, "finish_reason": None, "index": 0}], **base}
        for piece in pieces
    ]
    frames.append({"choices": [{"delta": {}, "finish_reason": "stop", "index": 0}], **base})
    return [f"data: {dumps(frame)}\n\n" for frame in frames] + ["data: [DONE]\n\n"]
