"""Replies limited to one kind of answer: "answer with only yes or no", "respond with just
a number", "reply with one word", "answer only with true or false".

Recognised from the last user message (else the instructions): a verb of answering, then
"only"/"just"/"exactly"/"a single" within a few words, then what the answer may be. The
reply is exactly that and nothing else: `Yes`/`No`, `True`/`False`, an integer, or one
topic word of the prompt.
"""

from __future__ import annotations

import random
import re

from mockserver.engines.styles.prefilter import may_match, search_at_starts
from mockserver.engines.styles.prompt import Prompt
from mockserver.engines.vocabulary import vocabulary

NAME = "only_answer"
_LIMIT = r"(?:only|just|exactly|solely|nothing but|a single)"
_VERB = r"(?:answer|respond|reply|return|output|say)"
_KIND = (
    r"(?P<yes>['\"]?yes['\"]? or ['\"]?no['\"]?|yes/no)"
    r"|(?P<true>['\"]?true['\"]? or ['\"]?false['\"]?|true/false)"
    r"|(?P<number>(?:a|one|the) (?:single )?(?:number|integer|digit)|numbers?|digits?)"
    r"|(?P<word>(?:(?:a|one) (?:single )?)?word)\b"
)
ASK = re.compile(
    rf"\b(?:{_VERB}\b[^.\n]{{0,30}}?\b{_LIMIT}\b|{_LIMIT} {_VERB}\b)[^.\n]{{0,20}}?\b(?:{_KIND})",
    re.IGNORECASE,
)
# What ASK cannot match without: a verb, a limiting word and a kind of answer.
ASK_NEEDS = (
    ("answer", "respond", "reply", "return", "output", "say"),
    ("only", "just", "exactly", "solely", "nothing but", "a single"),
    ("yes", "true", "number", "integer", "digit", "word"),
)
# Where a match of ASK opens: a verb, or a limiting word.
ASK_STARTS = ASK_NEEDS[0] + ASK_NEEDS[1]


def reply(prompt: Prompt, rng: random.Random, visible: int) -> str | None:
    asked = _asked(prompt.last_user[-2000:]) or _asked(prompt.instructions[:4000])
    if asked is None:
        return None
    if asked.group("yes"):
        return rng.choice(("Yes", "No"))
    if asked.group("true"):
        return rng.choice(("True", "False"))
    if asked.group("number"):
        return str(rng.randint(1, 100))
    words = prompt.topic() or vocabulary().nouns
    return words[rng.randrange(len(words))].capitalize()


def _asked(text: str) -> re.Match[str] | None:
    return search_at_starts(ASK, text, ASK_STARTS) if may_match(text, *ASK_NEEDS) else None
