"""A request's answer identity: what decides the generator's reply, as canonical bytes.

The same content fields and server seed give the same digest, and so the same reply; the
digest also seeds the latency jitter and, with deterministic ids, the ids. The prompt's
tokens are counted once per content (`ContentFacts`): a repeated prompt costs one hash.
"""

from __future__ import annotations

import hashlib

import orjson

from mockserver.contract.model_card import ModelCard
from mockserver.contract.request import ChatRequest
from mockserver.support.memo import Memo
from mockserver.support.scoped_key import ScopedBytes
from mockserver.tokens import counting as tokens

CONTENT_FIELDS = (
    "messages",
    "tools",
    "tool_choice",
    "functions",
    "function_call",
    "response_format",
    "seed",
)


def request_digest(request: ChatRequest, server_seed: int) -> bytes:
    """The identity of a request's answer: same digest, same reply."""
    return hashlib.sha256(content_payload(request, server_seed)).digest()


def content_payload(request: ChatRequest, server_seed: int) -> bytes:
    """The canonical bytes of what decides the answer (see CONTENT_FIELDS)."""
    canonical = {name: request.body.get(name) for name in CONTENT_FIELDS}
    return orjson.dumps([server_seed, canonical], option=orjson.OPT_SORT_KEYS)


class ContentFacts:
    """The prompt tokens of each content, memoised by its answer digest, and the digest and
    tokens of each body sent again, by the body's bytes."""

    def __init__(self) -> None:
        # Both keep what they are given the second time (`Memo`'s second_sighting).
        self.memo: Memo[ScopedBytes, int] = Memo(
            max_entries=4096, max_size=32 * 2**20, second_sighting=True
        )
        # A body sent again byte for byte has the same content: its facts without even
        # the canonical payload made again.
        self.by_body: Memo[ScopedBytes, tuple[bytes, int]] = Memo(
            max_entries=4096, max_size=32 * 2**20, second_sighting=True
        )

    def of(self, request: ChatRequest, card: ModelCard, server_seed: int) -> tuple[bytes, int]:
        """Both are pure functions of the content fields: a repeated prompt costs a SHA-256
        of its canonical bytes, not a token count again."""
        if request.body_bytes is None:
            return self._of_content(request, card, server_seed)
        facts = self.known(request, card, server_seed)
        if facts is None:
            facts = self._of_content(request, card, server_seed)
            self.by_body.put(ScopedBytes((card.name, server_seed), request.body_bytes), facts)
        return facts

    def known(
        self, request: ChatRequest, card: ModelCard, server_seed: int
    ) -> tuple[bytes, int] | None:
        """The facts of a body sent before byte for byte, else None: a lookup, no counting
        (what may run on the event loop before counting is sent to a thread)."""
        if request.body_bytes is None:
            return None
        return self.by_body.get(ScopedBytes((card.name, server_seed), request.body_bytes))

    def _of_content(
        self, request: ChatRequest, card: ModelCard, server_seed: int
    ) -> tuple[bytes, int]:
        # Keyed by the digest, which names the content already (the reply is seeded by
        # it): a new body's payload is hashed once, by SHA-256, not by the memo too.
        digest = hashlib.sha256(content_payload(request, server_seed)).digest()
        key = ScopedBytes((card.name,), digest)  # prompt tokens depend on the framing
        prompt = self.memo.get(key)
        if prompt is None:
            prompt = tokens.prompt_tokens(
                request.messages,
                request.tools,
                card.prompt_framing,
                request.body.get("response_format"),
            )
            self.memo.put(key, prompt)
        return digest, prompt
