"""What an engine returns: a `Reply`, holding a completion or an answer already in HTTP form.

Nothing here knows the wire: the operation renders a completion as chat.completion JSON,
chunks, a Responses object or its events; a raw answer (a recording replayed, the upstream
relayed) goes out byte for byte.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import field
from typing import Protocol

from mockserver.contract.errors import AzureError
from mockserver.faults.kinds import Fault
from mockserver.stores.journal_entry import ReplayMiss
from mockserver.support.values import value


@value
class ToolCall:
    id: str
    name: str
    arguments: str


@value
class Choice:
    index: int
    content: str | None
    finish_reason: str
    tool_calls: tuple[ToolCall, ...] = ()
    refusal: str | None = None
    legacy_function_call: bool = False  # answer with `function_call`, not `tool_calls`
    filtered: dict[str, str] = field(default_factory=dict)  # category -> severity flagged


@value
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


@value
class Completion:
    choices: tuple[Choice, ...]
    usage: Usage
    model: str
    system_fingerprint: str | None


class RawAnswer(Protocol):
    """An answer that is HTTP already: a recording replayed or the upstream relayed."""

    status: int
    headers: dict[str, str]
    body: bytes | None  # the whole body, when it is in memory
    size: int | None  # the body's length, for a body; None for a stream
    keeps_reading_alone: bool  # go on reading after the client left (a recording under way)

    def pieces(self) -> AsyncGenerator[bytes, None]:
        """The bytes to send, paced as they should go; raises AnswerBrokeError mid-way."""
        ...

    @property
    def cut(self) -> bool:
        """Known once `pieces` ended: the answer ends without its last chunk."""
        ...

    async def close(self) -> None:
        """Let go of what the answer holds (an upstream connection, a spool file)."""
        ...


class AnswerBrokeError(Exception):
    """A raw answer failed part way: what was sent stays, the connection is cut."""


@value
class Reply:
    """One engine's answer: what it is, which engine gave it and why, and when.

    A reply holds a `completion` (for the operation to render), a `raw` answer, or the
    `error` to answer with (a stub's, a replay miss, an upstream that failed); a stub may
    add a fault and a delay to it.
    """

    engine: str  # "stubs", "replay", "record" or "generator"
    source: str  # as the journal names it: "stub:<id>", "fixture:<where>", "upstream", ...
    why: str  # one sentence, for the journal and the dashboard
    completion: Completion | None = None
    raw: RawAnswer | None = None
    error: AzureError | None = None
    # Answered as the model (a stub, the generator): the pipeline's checks ran, and its
    # errors carry the model's headers. A recording or the upstream answers as itself.
    as_model: bool = True
    stub_id: str | None = None
    fault: Fault | None = None  # a stub's fault, applied with the reply
    delay_ms: int = 0  # a stub's delay before the reply goes
    replay_miss: ReplayMiss | None = None  # the nearest recording, when none matched
    elapsed_ms: float = 0.0  # how long the engine took (the chain measures it)

    def timed(self, elapsed_ms: float) -> Reply:
        """The reply with its engine's time. Every engine makes a new Reply for each answer,
        so the chain stamps the time on it rather than copy its fields (`replace`: 3 us)."""
        object.__setattr__(self, "elapsed_ms", elapsed_ms)
        return self
