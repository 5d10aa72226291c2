"""DSPy's ChatAdapter format: each output field under a `[[ ## name ## ]]` marker.

Recognised by the `[[ ## completed ## ]]` marker in the prompt. The output fields and
their types are read from the adapter's "Your output fields are:" list (else from the
markers the closing request names), and each gets a value of its type: prose for `str`,
a number for `int`/`float`, `True`/`False` for `bool`, one of the options for a
`Literal[...]`, JSON for `dict`/`list`. The reply ends with `[[ ## completed ## ]]`.

DSPy's ReAct asks for `next_tool_name` among the tools and `finish`: a tool (with its
described arguments) until the trajectory holds an observation, then `finish`; a field
that answers (`answer`) restates the last observation.
"""

from __future__ import annotations

import ast
import random
import re
from typing import Any

import orjson

from mockserver.engines.styles.arguments import PYTHON_TYPES, arguments_for
from mockserver.engines.styles.prompt import Prompt, quoted, sentence

NAME = "field_markers"
COMPLETED = "[[ ## completed ## ]]"
_OUTPUTS = re.compile(r"Your output fields are:\n((?:\d+\. [^\n]*\n?)+)")
_FIELD = re.compile(r"^\d+\. `(\w+)` \((.*?)\):", re.MULTILINE)
_MARKER = re.compile(r"\[\[ ## (\w+) ## \]\]")
_RESPOND = "Respond with the corresponding output fields"
# DSPy ReAct's trajectory: `tool_name_N` then, after the arguments, `observation_N`.
_OBSERVATION = re.compile(r"\[\[ ## observation_(\d+) ## \]\]\n(.*?)(?:\n\n|\Z)", re.DOTALL)
_TOOL_NAME = re.compile(r"\[\[ ## tool_name_(\d+) ## \]\]\n(\w+)")
_INPUT_VALUE = re.compile(
    r"\[\[ ## (\w+) ## \]\]\n(.*?)(?=\n\n\[\[ ## |\n\nRespond with|\Z)", re.DOTALL
)
_OPTIONS = re.compile(r"'([^'\n]*)'|\"([^\"\n]*)\"")
_TOOL_ARGUMENTS = re.compile(
    r"\(\d+\) (\w+), whose description is .*?It takes arguments (\{[^\n]*\})\."
)
FINISH = "finish"
_ANSWERING = ("answer", "output", "result", "response", "final_answer")


def reply(prompt: Prompt, rng: random.Random, visible: int) -> str | None:
    # Not in `everything` (a copy of both windows): the marker holds no blank line, so it
    # cannot straddle the two. A one-character test first: it is a memchr, where a
    # 21-character `in` takes ~20 us on a 32,000-character window.
    if not (_has(prompt.instructions, COMPLETED) or _has(prompt.last_user, COMPLETED)):
        return None
    fields = _output_fields(prompt)
    if not fields:
        return None
    inputs = dict(_INPUT_VALUE.findall(prompt.last_user))
    observed = _tool_observations(prompt.last_user)
    context = _Context(prompt, rng, visible, inputs, observed)
    parts = [f"[[ ## {name} ## ]]\n{context.value(name, kind)}" for name, kind in fields]
    return "\n\n".join([*parts, COMPLETED])


def _has(text: str, marker: str) -> bool:
    return "[" in text and marker in text


def json_fields(prompt: Prompt, rng: random.Random, visible: int) -> dict[str, Any] | None:
    """DSPy's JSONAdapter asks for the same typed output fields as one JSON object."""
    listed = _OUTPUTS.search(prompt.instructions)
    if listed is None:
        return None
    observed = _tool_observations(prompt.last_user)
    context = _Context(prompt, rng, visible, dict(_INPUT_VALUE.findall(prompt.last_user)), observed)
    return {
        name: _as_json(context.value(name, kind), kind)
        for name, kind in _FIELD.findall(listed.group(1))
    }


def _as_json(text: str, kind: str) -> Any:
    """A field's value as JSON holds it: numbers, booleans and objects as themselves."""
    base = PYTHON_TYPES.get(kind.split("[")[0].strip().lower())
    if base in ("integer", "number", "object", "array"):
        return orjson.loads(text)
    return text == "True" if base == "boolean" else text


def _tool_observations(history: str) -> list[str]:
    """What the tools answered, without `finish`'s own "Completed." """
    finished = {step for step, tool in _TOOL_NAME.findall(history) if tool == FINISH}
    return [text for step, text in _OBSERVATION.findall(history) if step not in finished]


def _output_fields(prompt: Prompt) -> list[tuple[str, str]]:
    listed = _OUTPUTS.search(prompt.instructions)
    if listed:
        return _FIELD.findall(listed.group(1))
    closing = prompt.last_user[prompt.last_user.rfind(_RESPOND) :]
    if _RESPOND not in prompt.last_user:
        return []
    names = [name for name in _MARKER.findall(closing) if name != "completed"]
    return [(name, "str") for name in dict.fromkeys(names)]


class _Context:
    """What the values are made from: the prompt, the reply's randomness, the inputs."""

    def __init__(
        self,
        prompt: Prompt,
        rng: random.Random,
        visible: int,
        inputs: dict[str, str],
        observed: list[str],
    ) -> None:
        self.prompt, self.rng, self.visible = prompt, rng, visible
        self.inputs, self.observed = inputs, observed
        self.tool: str | None = None

    def value(self, name: str, kind: str) -> str:
        base = kind.split("[")[0].strip().lower()
        if base == "literal":
            return self._option(kind)
        if base in ("dict", "list") or PYTHON_TYPES.get(base) in ("object", "array"):
            return self._structured(name, base)
        return self._scalar(name, PYTHON_TYPES.get(base, "string"))

    def _scalar(self, name: str, kind: str) -> str:
        if kind == "integer":
            return str(self.rng.randint(1, 100))
        if kind == "number":
            return str(round(self.rng.uniform(0.5, 1.0), 2))
        if kind == "boolean":
            return self.rng.choice(("True", "False"))
        if name in _ANSWERING and self.observed:
            return quoted(self.observed[-1])
        return sentence(self.prompt, self.rng)

    def _option(self, kind: str) -> str:
        options = [single or double for single, double in _OPTIONS.findall(kind)]
        if not options:
            return sentence(self.prompt, self.rng)
        others = [option for option in options if option != FINISH]
        if FINISH in options and (self.observed or not others):
            self.tool = FINISH
        else:
            self.tool = others[self.rng.randrange(len(others))]
        return self.tool

    def _structured(self, name: str, base: str) -> str:
        if base == "list":
            return orjson.dumps([sentence(self.prompt, self.rng)]).decode()
        schema = self._tool_schema() if name.endswith("tool_args") else None
        if schema is None:
            return "{}"
        ask = quoted(next(iter(self.inputs.values()), ""))
        return orjson.dumps(arguments_for(schema, ask, self.rng, self.visible)).decode()

    def _tool_schema(self) -> dict[str, Any] | None:
        """DSPy ReAct's "It takes arguments {...}" for the tool chosen above."""
        for tool, described in _TOOL_ARGUMENTS.findall(self.prompt.instructions):
            if tool == self.tool:
                return _schema_of(described)
        return None


def _schema_of(described: str) -> dict[str, Any] | None:
    try:
        properties = ast.literal_eval(described)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(properties, dict):
        return None
    return {"type": "object", "properties": properties, "required": list(properties)}
