"""Completions kept for repeated requests: the generator's reply is a pure function of
what it reads, so a request made again is answered from the memo, not generated again.

The key holds everything `Generator.complete` reads: the body exactly as the engines see
it (its bytes in their order: a schema's property order decides a generated object's),
the answer digest and prompt tokens the pipeline computed, the server seed (changeable
at run time), the deployment's enabled reply styles and the model card (by identity: the
entry keeps the card alive, so its id cannot be reused by another card while kept). The
per-call parts of an answer are not in a `Completion`, or are minted again on each hit:
the response id and `created` (the pipeline's), and the tool-call ids (the generator's).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from mockserver.contract.model_card import ModelCard
from mockserver.engines.reply import Completion

MemoKey = tuple[Any, ...]


@dataclass(frozen=True)
class _Kept:
    card: ModelCard  # the key names it by id(): kept alive here, so the id stays its own
    completion: Completion
    size: int  # what the entry holds, in characters (key body and reply texts)


def completion_size(completion: Completion) -> int:
    """The characters a completion's texts hold: what keeping it costs."""
    size = 0
    for choice in completion.choices:
        size += len(choice.content or "") + len(choice.refusal or "")
        size += sum(len(call.arguments) + len(call.name) for call in choice.tool_calls)
    return size


class CompletionMemo:
    """A bounded least-recently-used memo of completions, by entries and by characters."""

    def __init__(self, max_entries: int = 1024, max_size: int = 16 * 2**20) -> None:
        self.max_entries = max_entries
        self.max_size = max_size
        self._kept: OrderedDict[MemoKey, _Kept] = OrderedDict()
        self._size = 0
        # Answers off the event loop (a tool call, a schema) are made on threads.
        self._lock = threading.Lock()

    def get(self, key: MemoKey, card: ModelCard) -> Completion | None:
        with self._lock:
            kept = self._kept.get(key)
            if kept is None or kept.card is not card:
                return None
            self._kept.move_to_end(key)
            return kept.completion

    def put(self, key: MemoKey, card: ModelCard, completion: Completion, key_size: int) -> None:
        size = key_size + completion_size(completion)
        if size > self.max_size:
            return  # larger than the whole memo: not worth evicting everything for
        with self._lock:
            replaced = self._kept.pop(key, None)
            if replaced is not None:
                self._size -= replaced.size
            self._kept[key] = _Kept(card, completion, size)
            self._size += size
            while len(self._kept) > self.max_entries or self._size > self.max_size:
                _, evicted = self._kept.popitem(last=False)
                self._size -= evicted.size

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def size(self) -> int:
        return self._size
