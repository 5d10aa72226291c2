"""Reply styles: text that follows the format a prompt asks for, so agents that parse
the model's text (ReAct, DSPy, code agents, JSON-only prompts) run to their end on the
generator.

Each style is a module with a `NAME` and a pure `reply(prompt, rng, visible)` that returns
the reply text, or None when the prompt does not ask for its format. They are tried in
the order of `STYLES`, most specific first: the first that answers wins; none answering
leaves the generator's prose. With `response_format: json_object` only `json_object`
applies (the reply must be JSON). The text is cut to the visible budget by the
generator, as any text is. Stubs are answered before the generator, so they still win.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection

from mockserver.engines.styles import (
    code_agent,
    code_fence,
    field_markers,
    json_object,
    json_only,
    only_answer,
    react,
)
from mockserver.engines.styles.prompt import Prompt

Style = Callable[[Prompt, random.Random, int], "str | None"]
STYLES: dict[str, Style] = {
    field_markers.NAME: field_markers.reply,
    react.NAME: react.reply,
    code_agent.NAME: code_agent.reply,
    json_object.NAME: json_object.reply,
    json_only.NAME: json_only.reply,
    only_answer.NAME: only_answer.reply,
    code_fence.NAME: code_fence.reply,
}

__all__ = ["STYLES", "Prompt", "styled_reply"]


def styled_reply(
    prompt: Prompt, rng: random.Random, visible: int, enabled: Collection[str]
) -> str | None:
    """The reply of the first enabled style that recognises the prompt, or None."""
    json_mode = prompt.response_format.get("type") == "json_object"
    for name, style in STYLES.items():
        if name not in enabled or (json_mode and name != json_object.NAME):
            continue
        made = style(prompt, rng, visible)
        if made is not None:
            return made
    return None
