"""The completion: what an engine produced, independent of how it goes on the wire."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Choice:
    index: int
    content: str | None
    finish_reason: str
    tool_calls: tuple[ToolCall, ...] = ()
    refusal: str | None = None
    legacy_function_call: bool = False  # answer with `function_call`, not `tool_calls`
    filtered: dict[str, str] = field(default_factory=dict)  # category -> severity flagged


@dataclass(frozen=True)
class Usage:
    """Tokens as billed. `completion_tokens` holds the reasoning, the visible answer and
    the hidden tokens framing it (the model card's `completion_framing`), for every choice;
    the Responses API's `output_tokens` is the same count."""

    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Completion:
    choices: tuple[Choice, ...]
    usage: Usage
    model: str
    system_fingerprint: str | None
    source: str = field(default="generator")
