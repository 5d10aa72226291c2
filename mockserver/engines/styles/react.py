"""ReAct (Yao et al., 2022) as LangChain's and LlamaIndex's agents prompt it.

Recognised when the instructions define the format with an `Action Input:` line. The
reply is a `Thought:` line and then, until a tool has answered, `Action:` (one of the
tools the prompt lists) and `Action Input:`; once an `Observation:` is in the history,
the prompt's own closing thought and `Final Answer:` (or `Answer:`, LlamaIndex's word)
restating what the tool returned. Tool input: JSON valid for the tool's `Tool Args`
schema when the prompt gives one (LlamaIndex; CrewAI's `Tool Arguments`), the bare
question for a one-parameter `name(param: type)` signature (LangChain passes the text as
that parameter), else a JSON object of the signature's parameters (also when the format
asks for JSON input).
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

import orjson

from mockserver.engines.styles.arguments import arguments_for, schema_of_signature
from mockserver.engines.styles.prompt import Prompt, answer_from, observations, quoted

NAME = "react"
_FORMAT_LINE = "Action Input:"
_FORMAT = re.compile(r"^Action Input:", re.MULTILINE)
_TOOL_LIST = re.compile(r"(?:one|name) of \[([^\]\n]*)\]|\(one of ([^)\n]*)\)")
# "Action Input: the input to the action, just a simple JSON object": JSON even for one
# parameter.
_JSON_INPUT = re.compile(r"^Action Input:[^\n]*\bJSON\b", re.MULTILINE)
_TOOL_NAME = re.compile(r"^(?:> ?)?Tool Name: *(\S+)", re.MULTILINE)
# LlamaIndex's `Tool Args: {...}` line, CrewAI's `Tool Arguments:` and a JSON Schema below.
_TOOL_ARGS = re.compile(r"^Tool Arg(?:ument)?s: *(?=\{)", re.MULTILINE)
_CLOSING = re.compile(r"^Thought: ?([^\n]*)\n((?:Final )?Answer):", re.MULTILINE)
_QUESTION = re.compile(r"^(?:Question|Current Task):[ \t]*(\S[^\n]*)$", re.MULTILINE)
_BEGIN = "Begin!"


def reply(prompt: Prompt, rng: random.Random, visible: int) -> str | None:
    instructions = prompt.instructions
    if _FORMAT_LINE not in instructions or not _FORMAT.search(instructions):
        return None
    history = _history(prompt)
    tools = _tool_names(instructions)
    observed = observations(history)
    if observed or not tools:
        return _final(instructions, answer_from(observed, prompt, rng))
    tool = tools[rng.randrange(len(tools))]
    ask = _ask(prompt, history)
    action_input = _action_input(instructions, tool, ask, rng, visible)
    thought = f"Thought: I should use {tool} to look this up."
    return f"{thought}\nAction: {tool}\nAction Input: {action_input}"


def _history(prompt: Prompt) -> str:
    """The conversation past the format's own example (LangChain's template ends with
    `Begin!`, then the question and the agent's scratchpad)."""
    conversation = prompt.conversation
    return (
        conversation[conversation.rfind(_BEGIN) + len(_BEGIN) :]
        if _BEGIN in conversation
        else conversation
    )


def _tool_names(instructions: str) -> list[str]:
    listed = _TOOL_LIST.search(instructions)
    if listed:
        names = (listed.group(1) or listed.group(2) or "").split(",")
        return [name.strip() for name in names if name.strip()]
    return _TOOL_NAME.findall(instructions)


def _ask(prompt: Prompt, history: str) -> str:
    question = _QUESTION.search(history)
    if question is None:  # CrewAI states the task before its `Begin!`
        question = next(reversed(list(_QUESTION.finditer(prompt.last_user))), None)
    return quoted(question.group(1) if question else prompt.last_user)


def _final(instructions: str, answer: str) -> str:
    closing = _CLOSING.search(instructions)
    thought, word = closing.groups() if closing else ("I now know the final answer", "Final Answer")
    return f"Thought: {thought.strip()}\n{word}: {answer}"


def _action_input(instructions: str, tool: str, ask: str, rng: random.Random, visible: int) -> str:
    schema = _described_schema(instructions, tool)
    if schema is None:
        parameters = _signature(instructions, tool)
        if len(parameters) <= 1 and not _JSON_INPUT.search(instructions):
            return ask
        parameters = parameters or [("input", "str")]
        schema = schema_of_signature(parameters)
    return orjson.dumps(arguments_for(schema, ask, rng, visible)).decode()


def _described_schema(instructions: str, tool: str) -> dict[str, Any] | None:
    """The JSON Schema after `Tool Name: <tool>` (LlamaIndex, CrewAI), if one is given."""
    for named in _TOOL_NAME.finditer(instructions):
        if named.group(1) != tool:
            continue
        described = _TOOL_ARGS.search(instructions, named.end())
        following = _TOOL_NAME.search(instructions, named.end())
        if described is None or (following and following.start() < described.start()):
            return None
        try:
            schema, _ = json.JSONDecoder().raw_decode(instructions, described.end())
        except (ValueError, RecursionError):
            return None
        return schema if isinstance(schema, dict) else None
    return None


def _signature(instructions: str, tool: str) -> list[tuple[str, str]]:
    """LangChain's `tool(param: type, ...) -> type - description` line."""
    line = re.search(rf"^{re.escape(tool)}\(([^)\n]*)\)", instructions, re.MULTILINE)
    if line is None:
        return []
    parameters = []
    for part in line.group(1).split(","):
        name, _, kind = part.partition(":")
        if name.strip().isidentifier():
            parameters.append((name.strip(), kind.split("=")[0].strip() or "str"))
    return parameters
