"""English prose for generated replies: sentence templates filled from Faker's word lists.

Faker's own `paragraph()` strings random words together; replies read more like an
assistant's when sentences have a shape and mention the topic of the user's question.
Everything is drawn from the seeded Faker instance, so the prose is deterministic.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable
from functools import cache
from typing import Any

from faker import Faker

from mockserver.matching import content_text

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
_WORD = re.compile(r"[A-Za-z]{5,}")
TOPIC_CHOICES = 3


def topic_of(messages: list[dict[str, Any]]) -> list[str]:
    """The longest content words of the last user message: what the reply talks about.

    Long words are most often the nouns of a question; a capitalised word keeps its
    case (a name such as "Python") unless it only opens the message.
    """
    for message in reversed(messages):
        if message.get("role") == "user":
            words = _WORD.findall(content_text(message.get("content")))
            kept = [_case(w, i) for i, w in enumerate(words) if w.lower() not in _STOPWORDS]
            return sorted(dict.fromkeys(kept), key=len, reverse=True)[:TOPIC_CHOICES]
    return []


def _case(word: str, position: int) -> str:
    return word.lower() if position == 0 or word.isupper() else word


def write_prose(faker: Faker, topic_words: list[str], paragraphs: int) -> str:
    """`paragraphs` paragraphs of 2-5 sentences each, separated by blank lines."""
    rng = faker.random
    return "\n\n".join(
        " ".join(_sentence(faker, topic_words) for _ in range(rng.randint(2, 5)))
        for _ in range(paragraphs)
    )


def _sentence(faker: Faker, topic_words: list[str]) -> str:
    template = faker.random.choice(_TEMPLATES)
    # Only the fields this template names are drawn: Faker calls are the generator's cost.
    fields = {name: _FIELDS[name](faker, topic_words) for name in _fields_of(template)}
    sentence = template.format(**fields)
    return str(sentence[0].upper() + sentence[1:])


_FIELDS: dict[str, Callable[[Faker, list[str]], str]] = {
    "bs": lambda faker, _: str(faker.bs()),
    "topic": lambda faker, words: _topic(faker, words),
    "catch": lambda faker, _: str(faker.catch_phrase()),
    "catch_lower": lambda faker, _: str(faker.catch_phrase()).lower(),
    "job": lambda faker, _: str(faker.job()).lower(),
    "city": lambda faker, _: str(faker.city()),
    "noun": lambda faker, _: str(faker.word(part_of_speech="noun")),
}


@cache
def _fields_of(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


def _topic(faker: Faker, topic_words: list[str]) -> str:
    if not topic_words:
        return "the " + faker.word(part_of_speech="noun")
    word: str = faker.random.choice(topic_words)
    return word if word[0].isupper() else "the " + word  # "Python", but "the database"


MAX_FACTS = 4
MAX_QUOTE = 200


def tool_results_summary(messages: list[dict[str, Any]]) -> str:
    """Sentences that report the tool results closing the conversation, one per result."""
    names = _call_names(messages)
    sentences = []
    for message in _trailing_tool_messages(messages):
        name = message.get("name") or names.get(message.get("tool_call_id", ""), "the tool")
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
    return {
        call.get("id", ""): call.get("function", {}).get("name", "the tool")
        for message in messages
        for call in message.get("tool_calls") or []
    }


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
