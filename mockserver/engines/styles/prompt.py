"""The prompt as the reply styles read it: its instructions, its question, its history.

Prompts can be megabytes long; every recogniser reads only bounded windows of them (the
head of the instructions, the tail of the conversation), so a style costs the same on any
prompt and its regular expressions run on at most a few tens of kilobytes.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mockserver.engines.matching import content_text
from mockserver.engines.prose import topic_of, write_prose

# Format instructions sit at a prompt's start (a system message, a template's head)...
INSTRUCTION_CHARS = 32_000
# ...and the question and what the tools answered at its end.
CONVERSATION_CHARS = 32_000
# A question quoted back (a tool's query, an answer) is cut to this many characters.
QUOTE_CHARS = 200
_SYSTEM_ROLES = ("system", "developer")
# A ReAct or code-agent history: "Observation: <what the tool returned>".
_OBSERVATION = re.compile(r"^Observation:[ \t]*\n?(?:Execution logs:[ \t]*\n)?(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Prompt:
    """A chat request's texts, in the windows the styles read."""

    messages: list[dict[str, Any]]
    response_format: dict[str, Any] = field(default_factory=dict)
    tools: list[dict[str, Any]] = field(default_factory=list)

    @cached_property
    def instructions(self) -> str:
        """The system/developer messages and the first user message: where formats are set."""
        texts = [_text(m) for m in self.messages if m.get("role") in _SYSTEM_ROLES]
        first_user = next((m for m in self.messages if m.get("role") == "user"), None)
        if first_user is not None:
            texts.append(_text(first_user))
        return "\n\n".join(text[:INSTRUCTION_CHARS] for text in texts)

    @cached_property
    def last_user(self) -> str:
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return _text(message)[-CONVERSATION_CHARS:]
        return ""

    @cached_property
    def conversation(self) -> str:
        """What follows the instructions: the user's turns, the model's, the tools' results
        (the last CONVERSATION_CHARS of them)."""
        turns: list[str] = []
        room = CONVERSATION_CHARS
        for message in reversed(self.messages):
            if room <= 0:
                break
            if message.get("role") not in _SYSTEM_ROLES:
                turns.insert(0, _text(message)[-room:])
                room -= len(turns[0]) + 1
        return "\n".join(turns)

    @property
    def everything(self) -> str:
        return self.instructions + "\n\n" + self.last_user

    def topic(self) -> list[str]:
        return topic_of(self.messages)


def observations(history: str) -> list[str]:
    """The first line of each `Observation:` in a ReAct-style history, in order."""
    return [match.group(1).strip() for match in _OBSERVATION.finditer(history)]


def sentence(prompt: Prompt, rng: random.Random) -> str:
    """One sentence of prose about the prompt's topic."""
    return write_prose(rng, prompt.topic(), 1, sentences=(1, 1))


def quoted(text: str) -> str:
    """A question or a result as one short line, to quote back."""
    line = " ".join(text.split())
    return line if len(line) <= QUOTE_CHARS else line[:QUOTE_CHARS].rsplit(" ", 1)[0]


def answer_from(observed: list[str], prompt: Prompt, rng: random.Random) -> str:
    """A final answer: what the last tool said, as a model restates it, else prose."""
    last = next((text for text in reversed(observed) if text), "")
    return quoted(last) if last else sentence(prompt, rng)


def _text(message: dict[str, Any]) -> str:
    return content_text(message.get("content"))
