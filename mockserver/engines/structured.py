"""JSON from a schema, written within the output budget as the model writes it.

Tool arguments and structured outputs are JSON generated from a schema (`jsonschema_gen`).
A schema can ask for more than the output can hold (`minItems: 10000000`); real o3-mini
then writes until `max_completion_tokens` runs out and stops mid-value with
`finish_reason: "length"`. So generation gets a room in characters, guessed from the
visible tokens left, and stops there; the caller cuts the text at the token budget and
reports "length". The first room is a sample: most values fit in it whole; a value that
does not shows its characters per token, and the room is set from that, grown again if
the text still holds no more tokens than the budget, so the cut always falls inside it.

A schema whose minimums alone hold more tokens than the budget (`least_json`) is cut
whatever the seed: its text is written from one seed and kept, so the `n` choices of a
request share it, and `n` does not multiply the work of writing (and cutting) it.
"""

from __future__ import annotations

from typing import Any

import orjson

from mockserver.engines.jsonschema_gen import (
    UnsatisfiableSchemaError,
    generate_json,
    least_json,
)
from mockserver.engines.prompt_hints import NO_HINTS, PromptHints
from mockserver.support.memo import Memo
from mockserver.tokens import counting as tokens

# The first room: whole for any ordinary value, and a fair sample of a bigger one.
SAMPLE_CHARS = 16 * 1024
# A guess that fell short grows by the characters per token the text showed, plus this.
ROOM_MARGIN = 1.1
# The longest o200k_base token is 128 bytes, so this many characters always hold more
# tokens than the budget: the room never needs to grow past it.
MAX_TOKEN_CHARS = 128


def json_within(
    schema: dict[str, Any] | bool, seed: bytes, visible_tokens: int, hints: PromptHints = NO_HINTS
) -> str:
    """Compact JSON valid against `schema`, or its beginning, longer than the budget, when
    the smallest valid value does not fit in `visible_tokens`. `hints`: what the prompt
    names, for the value to echo (see `prompt_hints`)."""
    budget = max(0, visible_tokens)
    if _least_tokens(schema) > budget:
        return _cut_for_any_seed(schema, budget, hints)
    return _written(schema, seed, budget, hints)


def _least_tokens(schema: dict[str, Any] | bool) -> int:
    """Fewer tokens than any valid value has: a token holds at most MAX_TOKEN_CHARS
    characters, and each number, boolean or null is a token of its own at least."""
    floor = least_json(schema)
    return max(-(-floor.chars // MAX_TOKEN_CHARS), floor.scalars)


def _cut_for_any_seed(schema: dict[str, Any] | bool, budget: int, hints: PromptHints) -> str:
    """The text cut at the budget for a schema whose smallest value does not fit in it.

    Whatever the seed, the value is cut: so the text is written from one seed, the same
    for every choice of a request (`n` of them would write `n` texts the size of the
    whole budget) and for every request with that schema, budget and prompt names, and
    kept, so a request's other choices (and the next request) find it written.
    """
    try:
        key: bytes | None = orjson.dumps(
            [schema, budget, hints.entities, sorted(hints.words), hints.query, hints.result]
        )
    except orjson.JSONEncodeError:
        key = None  # not plain JSON (a 2**70 bound, say): written, not kept
    if key is not None and (known := _CUT_TEXTS.get(key)) is not None:
        return known
    text = _written(schema, _ANY_SEED, budget, hints)
    if key is not None:
        _CUT_TEXTS.put(key, text, size=len(key) + len(text))
    return text


# The seed a value is written from when every seed's value is cut at the budget.
_ANY_SEED = b"cut at the budget"
# Texts cut at the budget, by schema, budget and prompt names: a few budgets' worth.
_CUT_TEXTS: Memo[bytes, str] = Memo(max_entries=64, max_size=32 * 2**20)


def _written(schema: dict[str, Any] | bool, seed: bytes, budget: int, hints: PromptHints) -> str:
    most = (budget + 1) * MAX_TOKEN_CHARS
    room = min(most, SAMPLE_CHARS)
    while True:
        try:
            made = generate_json(schema, seed=seed, room=room, hints=hints)
        except UnsatisfiableSchemaError:
            return "{}"
        counted = 0 if made.complete or room >= most else tokens.count(made.text)
        if made.complete or room >= most or counted > budget:
            return made.text
        room = min(most, _grown(room, counted, budget))


def _grown(room: int, counted: int, budget: int) -> int:
    """The room at the characters per token the cut text had, with a margin."""
    return max(room + 1, int(room * (budget + 1) / max(1, counted) * ROOM_MARGIN))
