"""JSON from a schema, written within the output budget as the model writes it.

Tool arguments and structured outputs are JSON generated from a schema (`jsonschema_gen`).
A schema can ask for more than the output can hold (`minItems: 10000000`); real o3-mini
then writes until `max_completion_tokens` runs out and stops mid-value with
`finish_reason: "length"`. So generation gets a room in characters, guessed from the
visible tokens left, and stops there; the caller cuts the text at the token budget and
reports "length". A guess too small for the text's characters per token is grown until
the text holds more tokens than the budget, so the cut always falls inside it.
"""

from __future__ import annotations

from typing import Any

from mockserver import tokens
from mockserver.jsonschema_gen import UnsatisfiableSchemaError, generate_json

# The first guess: JSON of words and numbers runs about 3 to 5 characters a token.
CHARS_PER_TOKEN_GUESS = 4
ROOM_GROWTH = 4
# The longest o200k_base token is 128 bytes, so this many characters always hold more
# tokens than the budget: the room never needs to grow past it.
MAX_TOKEN_CHARS = 128


def json_within(schema: dict[str, Any] | bool, seed: bytes, visible_tokens: int) -> str:
    """Compact JSON valid against `schema`, or its beginning, longer than the budget, when
    the smallest valid value does not fit in `visible_tokens`."""
    budget = max(0, visible_tokens)
    most = (budget + 1) * MAX_TOKEN_CHARS
    room = min(most, (budget + 1) * CHARS_PER_TOKEN_GUESS)
    while True:
        try:
            made = generate_json(schema, seed=seed, room=room)
        except UnsatisfiableSchemaError:
            return "{}"
        if made.complete or room >= most or tokens.count(made.text) > budget:
            return made.text
        room = min(most, room * ROOM_GROWTH)
