"""JSON from a schema, written within the output budget as the model writes it.

Tool arguments and structured outputs are JSON generated from a schema (`jsonschema_gen`).
A schema can ask for more than the output can hold (`minItems: 10000000`); real o3-mini
then writes until `max_completion_tokens` runs out and stops mid-value with
`finish_reason: "length"`. So generation gets a room in characters, guessed from the
visible tokens left, and stops there; the caller cuts the text at the token budget and
reports "length". The first room is a sample: most values fit in it whole; a value that
does not shows its characters per token, and the room is set from that, grown again if
the text still holds no more tokens than the budget, so the cut always falls inside it.
"""

from __future__ import annotations

from typing import Any

from mockserver.engines.jsonschema_gen import UnsatisfiableSchemaError, generate_json
from mockserver.engines.prompt_hints import NO_HINTS, PromptHints
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
