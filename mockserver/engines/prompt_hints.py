"""What a prompt asks for, as schema values echo it: the things it names, the words it uses.

A model filling `{"city": ...}` after "What is the weather in Paris?" writes "Paris", and
one asked to "extract the people: Alice Martin is 31 and Bob Martin is 27" returns two
people named Alice Martin and Bob Martin, not an empty list. `PromptHints` carries what
`jsonschema_gen` needs for that, read from the question (the last user message):

- `entities`: the names in it, in order: runs of capitalised words ("Alice Martin",
  "New York", "ACME"), a lone capitalised word that starts a sentence left out ("What",
  "Extract"), as it is capitalised for being first;
- `words`: its lower-cased words, singular, to tell whether it asks for the items an
  array holds ("people", "cities") or asks to list or extract at all;
- `query`: its first words, for a search tool's `query`;
- `result`: the start of the latest tool result (a `tool` message, or a user turn
  "Observation: ..." as text-protocol agents send it), for a final answer's `answer`.

Only the question's first `QUESTION_CHARS` characters are read: a prompt can be megabytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from mockserver.engines.matching import last_user_text, message_text

QUESTION_CHARS = 4000
# A search query repeats at most this many of the question's words.
QUERY_WORDS = 12
# A final answer quotes at most this many characters of the latest tool result.
RESULT_CHARS = 200
_OBSERVATION = "Observation:"
# smolagents' ToolCallingAgent sends its earlier calls back as assistant text that starts so.
CALLS_AS_TEXT = "Calling tools:"
MAX_ENTITIES = 32
# A capitalised word (Latin-1 capitals too: "Émile"); a "." ends it, so a run of names
# stops at a sentence's end ("ACME Corp. List ...").
_NAME_WORD = r"[A-Z\u00c0-\u00d6\u00d8-\u00de][\w'\u2019&-]*"
_ENTITY = re.compile(rf"{_NAME_WORD}(?:[ \t]+{_NAME_WORD})*")
_SENTENCE_ENDS = '.!?\n"“('
# Capitalised for starting a sentence, not for naming something: dropped from a run of
# names ("Tell Alice" -> "Alice"); a lone capitalised word starting a sentence is dropped too.
_STARTERS = frozenset(
    "What Which Who Whom Whose Where When How Why Is Are Was Were Do Does Did Can Could "
    "Would Should Will Please Extract List Find Tell Give Get Show Write Summarize Summarise "
    "Search Book Send Compare Create Describe Explain Name Translate Check Look Call Answer "
    "The A An In On At For From To Of By With My Our Your This That These Those It We You "
    "They He She If And But Or So Then Also Now Here There".split()
)
_WORD = re.compile(r"[A-Za-z]+")
# "I", and words capitalised inside a sentence for emphasis or as a label, name nothing.
_NOT_NAMES = frozenset({"I", "JSON", "OK", "NOT", "MUST", "ONLY", "Please", "Return", "Use"})
_TITLES = frozenset({"Dr", "Mr", "Mrs", "Ms", "Prof"})  # "Dr. Zoë Smith": the name is after
# A question that says one of these asks for items, whatever the array is called.
LISTING_WORDS = frozenset(
    {"list", "extract", "find", "enumerate", "suggest", "generate", "identify", "name"}
    | {"all", "each", "every", "item", "example", "several", "some", "give"}
)
# Plurals a crude singular would miss.
_IRREGULAR = {"people": "person", "children": "child", "men": "man", "women": "woman"}


@dataclass(frozen=True)
class PromptHints:
    entities: tuple[str, ...] = ()
    words: frozenset[str] = frozenset()
    query: str = ""
    result: str = ""

    def asks_for(self, array_name: str | None) -> bool:
        """Whether the question asks for the items of an array called `array_name`."""
        named = singular(array_name or "") in self.words if array_name else False
        return named or bool(self.words & LISTING_WORDS)


NO_HINTS = PromptHints()


def hints_from_messages(messages: list[dict[str, Any]]) -> PromptHints:
    """The hints of the last user message (none when there is none) and the latest result."""
    question = hints_from_text(last_user_text(messages) or "")
    return replace(question, result=latest_result(messages))


def latest_result(messages: list[dict[str, Any]]) -> str:
    """The start of the latest tool result in the conversation, or "" when there is none."""
    for message in reversed(messages):
        role, text = message.get("role"), message_text(message)
        if role in ("tool", "function") or (role == "user" and text.startswith(_OBSERVATION)):
            text = text.removeprefix(_OBSERVATION)
            return " ".join(text[: RESULT_CHARS * 2].split())[:RESULT_CHARS]
        if role == "assistant" and not _calls(message):
            return ""  # the model answered since: that result is spent
    return ""


def _calls(message: dict[str, Any]) -> bool:
    return bool(message.get("tool_calls") or message.get("function_call")) or (
        message_text(message).startswith(CALLS_AS_TEXT)
    )


def hints_from_text(text: str) -> PromptHints:
    question = text[:QUESTION_CHARS]
    words = [w.lower() for w in _WORD.findall(question)]
    return PromptHints(
        entities=tuple(entities_in(question))[:MAX_ENTITIES],
        words=frozenset(singular(w) for w in words),
        query=" ".join(question.split()[:QUERY_WORDS]).rstrip("?.!"),
    )


def entities_in(text: str) -> list[str]:
    """The names in `text`, in order, each once."""
    found: dict[str, None] = {}
    for match in _ENTITY.finditer(text):
        parts = [p.rstrip("'\u2019") for p in match.group().split()]
        parts = [p for p in parts if p not in _NOT_NAMES and p not in _TITLES]
        if not parts:
            continue
        if parts[0] in _STARTERS or (len(parts) == 1 and _starts_sentence(text, match.start())):
            parts = parts[1:]  # capitalised for starting a sentence or a heading ("Note: The")
        if parts:
            found.setdefault(" ".join(parts))
    return list(found)


def _starts_sentence(text: str, start: int) -> bool:
    """Whether only blanks stand between `start` and a sentence's end (or the text's start)."""
    position = start - 1
    while position >= 0 and text[position] in " \t" and start - position < 16:
        position -= 1
    return position < 0 or text[position] in _SENTENCE_ENDS


def singular(word: str) -> str:
    """A crude singular: "people" -> "person", "cities" -> "city", "items" -> "item"."""
    word = word.lower()
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word
