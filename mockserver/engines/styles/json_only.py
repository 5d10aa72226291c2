"""Prompts that ask for JSON and nothing else, without JSON mode: "respond only with
JSON", "return the JSON within a ```json code block".

The reply is a JSON object of the shape the prompt shows (see `json_shape`; else
`{"answer": ...}`), inside a ```json fence when the prompt asks for a code block, bare
otherwise.
"""

from __future__ import annotations

import random
import re

from mockserver.engines.structured import json_within
from mockserver.engines.styles.json_shape import asked_or_default
from mockserver.engines.styles.prefilter import may_match
from mockserver.engines.styles.prompt import Prompt

NAME = "json_only"
_ASK = re.compile(
    r"\b(?:respond|reply|answer|return|output|provide|format)\b[^.\n]{0,40}\bJSON\b"
    r"|\bonly (?:valid )?JSON\b|\bJSON (?:object )?only\b|```json",
    re.IGNORECASE,
)
# Every alternative of _ASK names JSON (see `prefilter`).
ASK_NEEDS = (("json",),)
_FENCE = re.compile(r"```json|\bcode ?block\b", re.IGNORECASE)


def reply(prompt: Prompt, rng: random.Random, visible: int) -> str | None:
    if prompt.response_format.get("type") not in (None, "text"):
        return None
    asking = prompt.last_user[-4000:] + "\n" + prompt.instructions[:8000]
    if not (may_match(asking, *ASK_NEEDS) and _ASK.search(asking)):
        return None
    made = json_within(asked_or_default(prompt.everything), rng.randbytes(16), visible)
    return f"```json\n{made}\n```" if _FENCE.search(asking) else made
