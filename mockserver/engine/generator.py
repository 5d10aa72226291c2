"""The deterministic generator: a reply that is a pure function of the request and the seed.

The visible text is English prose from Faker, seeded by a digest of the parts of the
request that decide an answer (messages, tools, response format, `seed`) and by the
server seed; `n` choices get distinct seeds. Reasoning tokens are drawn from the model
card's range for the `reasoning_effort`, from the same digest, so for one request
low < medium < high. `max_completion_tokens` is one budget: reasoning is spent first,
the visible text is cut to what remains.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson
from faker import Faker

from mockserver import tokens
from mockserver.completion import Choice, Completion, Usage
from mockserver.contract.request import ChatRequest
from mockserver.engine.base import EngineCall
from mockserver.engine.prose import topic_of, write_prose

# Request fields that decide the content; budget, streaming and bookkeeping fields do not.
CONTENT_FIELDS = ("messages", "tools", "tool_choice", "response_format", "seed")
REASONING_GRANULE = 64  # every observed o-series reasoning count is a multiple of 64
PROMPT_SIZE_FOR_LONGEST_REASONING = 20_000


def request_digest(request: ChatRequest, server_seed: int) -> bytes:
    """The identity of a request's answer: same digest, same reply."""
    canonical = {name: request.body.get(name) for name in CONTENT_FIELDS}
    payload = orjson.dumps([server_seed, canonical], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(payload).digest()


@dataclass(frozen=True)
class _Budget:
    """What one choice may spend: reasoning first, visible tokens from what is left."""

    total: int
    reasoning: int

    @property
    def visible(self) -> int:
        return self.total - self.reasoning


class Generator:
    name = "generator"

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._faker = Faker("en_US")

    async def answer(self, call: EngineCall) -> Completion:
        return self.complete(call)

    def complete(self, call: EngineCall) -> Completion:
        digest = request_digest(call.request, self.seed)
        budget = self._budget(call, digest)
        choices = [self._choice(call, digest, index, budget) for index in range(call.request.n)]
        usage = Usage(
            prompt_tokens=call.prompt_tokens,
            completion_tokens=sum(spent for _, spent in choices),
            reasoning_tokens=budget.reasoning * len(choices),
        )
        return Completion(
            choices=tuple(choice for choice, _ in choices),
            usage=usage,
            model=call.card.id,
            system_fingerprint=call.card.system_fingerprint,
        )

    def _budget(self, call: EngineCall, digest: bytes) -> _Budget:
        card, request = call.card, call.request
        total = min(
            request.max_completion_tokens or card.max_output_tokens,
            card.context_window - call.prompt_tokens,
        )
        low, high = card.reasoning_effort.reasoning_tokens[request.reasoning_effort]
        share = 0.7 * _fraction(digest) + 0.3 * min(
            1.0, call.prompt_tokens / PROMPT_SIZE_FOR_LONGEST_REASONING
        )
        wanted = low + round(share * (high - low) / REASONING_GRANULE) * REASONING_GRANULE
        return _Budget(total=max(total, 0), reasoning=min(wanted, max(total, 0)))

    def _choice(
        self, call: EngineCall, digest: bytes, index: int, budget: _Budget
    ) -> tuple[Choice, int]:
        text = self._prose(digest, index, call)
        text, finish_reason = _apply_stop(text, call.request.stop)
        visible = tokens.encode(text)
        if len(visible) > budget.visible:
            text = tokens.decode(visible[: budget.visible])
            visible, finish_reason = visible[: budget.visible], "length"
        choice = Choice(index=index, content=text, finish_reason=finish_reason)
        return choice, budget.reasoning + len(visible)

    def _prose(self, digest: bytes, index: int, call: EngineCall) -> str:
        """Paragraphs about the user's topic; longer prompts tend to get longer answers."""
        self._faker.seed_instance(int.from_bytes(digest[:8], "big") + index)
        paragraphs = 1 + self._faker.random.randrange(3) + min(2, call.prompt_tokens // 2000)
        return write_prose(self._faker, topic_of(call.request.messages), paragraphs)


def _fraction(digest: bytes) -> float:
    """A number in [0, 1) drawn from the digest, independent of the reasoning effort."""
    return int.from_bytes(digest[8:16], "big") / 2**64


def _apply_stop(text: str, stop: tuple[str, ...]) -> tuple[str, str]:
    """Cut the text before the first stop sequence, as the service does."""
    cuts = [position for s in stop if s and (position := text.find(s)) >= 0]
    return (text[: min(cuts)], "stop") if cuts else (text, "stop")
