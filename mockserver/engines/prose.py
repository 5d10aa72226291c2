"""English prose for generated replies: sentence templates filled from Faker's word lists.

Faker's own `paragraph()` strings random words together; replies read more like an
assistant's when sentences have a shape and mention the topic of the user's question.
Everything is drawn from the reply's seeded `random.Random`, so the prose is
deterministic; the word lists are read from Faker once (see `vocabulary`).
"""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Callable, Sequence
from typing import Any

from mockserver.engines.matching import content_text
from mockserver.engines.vocabulary import Pick, Vocabulary, picker, vocabulary

_TEMPLATES = (
    "To {bs}, start with {topic}.",
    "{catch} is a sensible way to think about {topic}.",
    "A good first step is to {bs}.",
    "Most teams that {bs} also review {topic} early.",
    "Keep {topic} simple at first, then {bs}.",
    "In practice, {topic} depends on a {catch_lower}.",
    "It helps to {bs} before you change {topic}.",
    "Consider how a {job} would {bs}.",
    "For example, a team in {city} might {bs}.",
    "The main risk with {topic} is an unclear {noun}.",
    "Finally, {bs} and measure the result.",
)
_STOPWORDS = frozenset(
    "about above after again also because been before being between could does doing "
    "from have having here into just like more most only other over please same should "
    "some such than that their them then there these they this those through under very "
    "what when where which while will with would your yours".split()
)
# A run of 5 or more letters (the look-behind spares the engine retrying inside a run).
_WORD = re.compile(r"(?<![A-Za-z])[A-Za-z]{5,}")
TOPIC_CHOICES = 3
# The question of a long prompt is at its end (a document, then "summarise this"): the
# topic is read from the message's last characters, so a long prompt costs no more.
TOPIC_WINDOW = 1000


def topic_of(messages: list[dict[str, Any]]) -> list[str]:
    """The longest content words of the last user message: what the reply talks about.

    Long words are most often the nouns of a question; a capitalised word keeps its
    case (a name such as "Python") unless it only opens the message.
    """
    for message in reversed(messages):
        if message.get("role") == "user":
            return _longest_words(content_text(message.get("content")))
    return []


def _longest_words(text: str) -> list[str]:
    opening = len(text) <= TOPIC_WINDOW
    words = _WORD.findall(text[-TOPIC_WINDOW:])
    first = words[0] if opening and words else None
    if not opening:
        words = words[1:]  # the window may open mid-word
    # Distinct words, longest first (ties in order of appearance), then only as many
    # as it takes to find TOPIC_CHOICES that are not stopwords.
    chosen: dict[str, None] = {}
    for word in sorted(dict.fromkeys(words), key=len, reverse=True):
        if word.lower() in _STOPWORDS:
            continue
        chosen[word.lower() if word == first or word.isupper() else word] = None
        if len(chosen) == TOPIC_CHOICES:
            break
    return list(chosen)


def write_prose(
    rng: random.Random,
    topic_words: Sequence[str],
    paragraphs: int,
    sentences: tuple[int, int] = (2, 5),
) -> str:
    """`paragraphs` paragraphs of `sentences` (fewest, most) sentences each, separated by
    blank lines."""
    words, pick = vocabulary(), picker(rng)
    return "\n\n".join(
        " ".join(_sentence(pick, words, topic_words) for _ in range(rng.randint(*sentences)))
        for _ in range(paragraphs)
    )


def _sentence(pick: Pick, words: Vocabulary, topic_words: Sequence[str]) -> str:
    pieces = []
    for literal, field_name in _COMPILED[pick(_TEMPLATES)]:
        pieces.append(literal)
        if field_name:
            pieces.append(_FIELDS[field_name](pick, words, topic_words))
    sentence = "".join(pieces)
    return sentence[0].upper() + sentence[1:]


_Field = Callable[[Pick, Vocabulary, Sequence[str]], str]
_FIELDS: dict[str, _Field] = {
    "bs": lambda pick, words, _: words.phrase(pick, words.bs),
    "topic": lambda pick, words, topic: _topic(pick, words, topic),
    "catch": lambda pick, words, _: words.phrase(pick, words.catch_phrase),
    "catch_lower": lambda pick, words, _: words.phrase(pick, words.catch_phrase).lower(),
    "job": lambda pick, words, _: pick(words.jobs).lower(),
    "city": lambda pick, words, _: words.city(pick),
    "noun": lambda pick, words, _: pick(words.nouns),
}


# Each template as (literal text, field name or None) pairs: filled by joining pieces,
# not by `str.format`, which costs twice as much per sentence.
_COMPILED = {
    template: tuple((literal, name) for literal, name, _, _ in string.Formatter().parse(template))
    for template in _TEMPLATES
}


def _topic(pick: Pick, words: Vocabulary, topic_words: Sequence[str]) -> str:
    if not topic_words:
        return "the " + pick(words.nouns)
    word = pick(topic_words)
    return word if word[0].isupper() else "the " + word  # "Python", but "the database"


MAX_FACTS = 4
MAX_QUOTE = 200


def tool_results_summary(messages: list[dict[str, Any]]) -> str:
    """Sentences that report the tool results closing the conversation, one per result."""
    names = _call_names(messages)
    sentences = []
    for message in _trailing_tool_messages(messages):
        call_id = message.get("tool_call_id")
        name = message.get("name") or (names.get(call_id, "") if isinstance(call_id, str) else "")
        name = name or "the tool"
        sentences.append(f"According to {name}, {_facts(content_text(message.get('content')))}.")
    return " ".join(sentences)


def _trailing_tool_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    trailing: list[dict[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") not in ("tool", "function"):
            break
        trailing.insert(0, message)
    return trailing


def _call_names(messages: list[dict[str, Any]]) -> dict[str, str]:
    """The function each tool call id named, from the assistant messages (whose calls the
    schema checked; another role's `tool_calls` is an unknown field, any JSON at all)."""
    names: dict[str, str] = {}
    for message in messages:
        calls = message.get("tool_calls") if message.get("role") == "assistant" else None
        for call in calls if isinstance(calls, list) else []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(call.get("id"), str):
                names[call["id"]] = str(function.get("name") or "the tool")
    return names


def _facts(text: str) -> str:
    """A JSON object becomes "a is 1, b is 2"; a list its size; other text a short quote."""
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    if isinstance(value, dict) and value:
        pairs = [(k, v) for k, v in value.items() if not isinstance(v, dict | list)]
        shown = pairs[:MAX_FACTS] or [(k, json.dumps(v)) for k, v in list(value.items())[:1]]
        return ", ".join(f"{key} is {val}" for key, val in shown)
    if isinstance(value, list):
        return f"there are {len(value)} results"
    quote = str(value).strip().rstrip(".")
    return f"the result is: {quote[:MAX_QUOTE]}" if quote else "there is no result"
