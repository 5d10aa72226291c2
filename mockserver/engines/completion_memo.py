"""Completions kept for repeated requests: the generator's reply is a pure function of
what it reads, so a request made again is kept, and answered from the memo from then on,
not generated again.

The key holds everything `Generator.complete` reads: the body exactly as the engines see
it (its bytes in their order: a schema's property order decides a generated object's),
the answer digest and prompt tokens the pipeline computed, the server seed (changeable
at run time), the deployment's enabled reply styles and the model card (by identity: the
entry keeps the card alive, so its id cannot be reused by another card while kept). The
per-call parts of an answer are not in a `Completion`, or are minted again on each hit:
the response id and `created` (the pipeline's), and the tool-call ids (the generator's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mockserver.contract.model_card import ModelCard
from mockserver.engines.reply import Completion
from mockserver.support.memo import Memo

MemoKey = tuple[Any, ...]


@dataclass(frozen=True)
class _Kept:
    card: ModelCard  # the key names it by id(): kept alive here, so the id stays its own
    completion: Completion


def completion_size(completion: Completion) -> int:
    """The characters a completion's texts hold: what keeping it costs."""
    size = 0
    for choice in completion.choices:
        size += len(choice.content or "") + len(choice.refusal or "")
        size += sum(len(call.arguments) + len(call.name) for call in choice.tool_calls)
    return size


class CompletionMemo:
    """A bounded least-recently-used memo of completions, by entries and by characters."""

    def __init__(
        self, max_entries: int = 1024, max_size: int = 16 * 2**20, second_sighting: bool = True
    ) -> None:
        # Kept from the second time a request is made: most are made once (distinct prompts).
        self._kept: Memo[MemoKey, _Kept] = Memo(max_entries, max_size, second_sighting)

    def get(self, key: MemoKey, card: ModelCard) -> Completion | None:
        kept = self._kept.get(key)
        if kept is None or kept.card is not card:
            return None
        return kept.completion

    def put(self, key: MemoKey, card: ModelCard, completion: Completion, key_size: int) -> None:
        size = key_size + completion_size(completion)
        self._kept.put(key, _Kept(card, completion), size)

    def clear(self) -> None:
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def size(self) -> int:
        return self._kept.size
