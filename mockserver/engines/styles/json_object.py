"""`response_format: {"type": "json_object"}`: a JSON object with the keys the prompt asks
for (see `json_shape`), with values of the types shown. Applies to JSON mode only; a
prompt that shows no shape gets the generator's default object. DSPy's JSONAdapter lists
typed output fields: they get values of their types (see `field_markers`)."""

from __future__ import annotations

import random

import orjson

from mockserver.engines.prompt_hints import hints_from_messages
from mockserver.engines.structured import json_within
from mockserver.engines.styles import field_markers
from mockserver.engines.styles.json_shape import asked_schema
from mockserver.engines.styles.prompt import Prompt

NAME = "json_object"


def reply(prompt: Prompt, rng: random.Random, visible: int) -> str | None:
    if prompt.response_format.get("type") != "json_object":
        return None
    typed = field_markers.json_fields(prompt, rng, visible)
    if typed is not None:
        return orjson.dumps(typed).decode()
    schema = asked_schema(prompt.everything)
    if schema is None:
        return None
    # The names the question gives fill the shape, as they do for a json_schema answer
    # (instructor's JSON mode asks for a list of the people the text names).
    hints = hints_from_messages(prompt.messages)
    return json_within(schema, rng.randbytes(16), visible, hints)
