"""Reasoning tokens: how long o3-mini thinks before it answers, read off the request.

Real o3-mini (every recording in tests/data/real-traffic) spends 64 to 448 reasoning
tokens on everyday prompts, in multiples of 64, and more when the ask is harder: 64 for
"hello", 192 for a capital city, 448 for a question with a constraint ("contains the word
'Paris', but is not the first word"), 320 to pick a tool, 128 to report a tool's result.
Even `reasoning_effort: "high"` spends 64 on "What is the capital of France?": effort
multiplies the thinking a hard prompt needs, and a trivial prompt needs almost none.

So the amount is a difficulty score of the turn being answered (the messages after the
assistant's last one), in granules of 64 at medium effort:

    score = length_weight * log2(length_offset + tokens of the turn)
          + constraint_weight * constraints at the end of the turn (quoted phrases and
            words such as "not", "but", "only", "exactly")
          + tools_weight, when tools are offered and the turn brings no tool result
          + schema_weight, when the reply must follow a `json_schema`
    score *= tool_results_factor, when the turn brings tool results (the work is done)
    granules = max(1, round(score ** effort_exponent[effort]))

From `jitter_from_granules` granules up, the request's digest moves the count by one
granule either way, so long reasoning varies between requests as the real one does; the
same request always gets the same count. The weights are the model card's
(`reasoning_profile`), fitted to the recordings; tests/sdk/test_real_o3mini_usage.py
replays every one of them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict

from mockserver.engines.matching import content_text
from mockserver.support.folding import folded
from mockserver.tokens import counting as tokens


class ReasoningProfile(BaseModel):
    """A model's reasoning habits (contracts/models/<name>.json, `reasoning_profile`)."""

    model_config = ConfigDict(frozen=True)

    granule: int  # every observed o-series reasoning count is a multiple of 64
    length_weight: float
    length_offset: float
    constraint_weight: float
    constraint_words: tuple[str, ...]
    max_constraints: int
    constraint_window: int  # characters at the end of the turn: where the ask is
    tools_weight: float
    schema_weight: float
    tool_results_factor: float
    effort_exponents: dict[str, float]
    jitter_from_granules: int

    @cached_property
    def constraint_pattern(self) -> re.Pattern[str]:
        words = "|".join(re.escape(word) for word in self.constraint_words)
        return re.compile(rf"\b(?:{words})\b|\"[^\"\n]+\"", re.IGNORECASE)

    @cached_property
    def folded_constraint_pattern(self) -> re.Pattern[str] | None:
        """`constraint_pattern` for folded text (`support.folding`), case-sensitive: the
        same matches at half the cost. None unless the words are ASCII (folding is exact
        for ASCII letters only) and open with a letter."""
        if not all(word.isascii() and word[:1].isalpha() for word in self.constraint_words):
            return None
        # Each word's `\b` before it is a look-behind after its first letter ("not" is
        # `n(?<!\w.)ot\b`: no word character before the "n"), so that every alternative
        # opens with a letter and the regex engine skips the positions that hold none of
        # those letters (or a quote) instead of trying each alternative there.
        words = "|".join(
            re.escape(word[0]) + r"(?<!\w.)" + re.escape(word[1:]) + r"\b"
            for word in (word.lower() for word in self.constraint_words)
        )
        return re.compile(words + r"|\"[^\"\n]+\"")


@dataclass(frozen=True)
class Turn:
    """What the reply answers: the request's messages after the assistant's last one."""

    text: str
    tokens: int
    brings_tool_results: bool

    @classmethod
    def of(cls, messages: list[dict[str, Any]], window: int) -> Turn:
        """The turn, its text kept to the last `window` characters (where the ask is)."""
        start = 0
        for index, message in enumerate(messages):
            if message.get("role") == "assistant":
                start = index + 1
        turn = messages[start:]
        # Counted as the prompt was, part by part: memoised, a long prompt is not re-encoded.
        count = sum(tokens.content_tokens(message.get("content")) for message in turn)
        results = any(message.get("role") in ("tool", "function") for message in turn)
        return cls(_tail([content_text(m.get("content")) for m in turn], window), count, results)


def reasoning_tokens(
    profile: ReasoningProfile, effort: str, request_body: dict[str, Any], digest: bytes
) -> int:
    """The reasoning tokens one choice spends on this request, a multiple of the granule."""
    score = difficulty(profile, request_body)
    exponent = profile.effort_exponents[effort]
    granules = max(1, math.floor(math.pow(score, exponent) + 0.5))
    if granules >= profile.jitter_from_granules:
        granules += digest[0] % 3 - 1  # one granule less, the same, or one more
    return granules * profile.granule


def difficulty(profile: ReasoningProfile, body: dict[str, Any]) -> float:
    """The score of the module doc, in granules at medium effort."""
    messages = body.get("messages") or []
    turn = Turn.of(messages if isinstance(messages, list) else [], profile.constraint_window)
    score = profile.length_weight * math.log2(profile.length_offset + turn.tokens)
    score += profile.constraint_weight * _constraints(profile, turn.text)
    if _offers_tools(body) and not turn.brings_tool_results:
        score += profile.tools_weight
    if _response_type(body) == "json_schema":
        score += profile.schema_weight
    if turn.brings_tool_results:
        score *= profile.tool_results_factor
    return score


def _constraints(profile: ReasoningProfile, text: str) -> int:
    pattern = profile.folded_constraint_pattern
    found = (
        profile.constraint_pattern.findall(text)
        if pattern is None
        else pattern.findall(folded(text))
    )
    return min(len(found), profile.max_constraints)


def _tail(texts: list[str], window: int) -> str:
    """The last `window` characters of the texts joined by newlines, without joining all."""
    kept: list[str] = []
    size = 0
    for text in reversed(texts):
        kept.append(text[-(window - size) :] if window > size else "")
        size += len(text) + 1  # the text and the newline before it
        if size > window:
            break
    return "\n".join(reversed(kept))[-window:]


def _offers_tools(body: dict[str, Any]) -> bool:
    return bool(body.get("tools") or body.get("functions")) and body.get("tool_choice") != "none"


def _response_type(body: dict[str, Any]) -> Any:
    response_format = body.get("response_format")
    return response_format.get("type") if isinstance(response_format, dict) else None
