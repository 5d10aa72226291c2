"""A style's expression searched only where a match can open finds the match `search`
finds: the same span and groups, on texts full of the words, their case variants and the
letters that fold onto ASCII."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.engines.styles import code_fence, only_answer
from mockserver.engines.styles.prefilter import folded, search_at_starts
from mockserver.engines.styles.prompt import Prompt

FRAGMENTS = (
    *("answer", "ANSWER", "Respond", "reply", "re\u017fpond", "return", "output", "say"),
    *("essay", "only", "Just", "exactly", "\u017folely", "nothing but", "a single", "single"),
    *("yes or no", "'yes' or 'no'", "yes/no", "true or false", "TRUE/FALSE", "number"),
    *("a number", "\u0130nteger", "d\u0131git", "digits", "word", "one word", "the"),
    *("write", "Implement", "create", "generate", "give me", "show me", "provide", "code"),
    *("function", "\u017fcript", "program", "cla\u017f\u017f", "method", "query", "snippet"),
    *("module", "algorithm", "with", "me", "a", "x", "_", "9", "\u00e9t\u00e9"),
    *("answer with only", "Respond with just", "only say", "write a function", "decode"),
)
SEPARATORS = (" ", " ", " ", "", "\n", ". ", "?", ", ")
# An expression of the styles' kind: it opens with a word of `STARTS`, then looks ahead.
ASK = re.compile(
    r"\b(?:answer|reply|say|write|code)\b[^.\n]{0,30}?\b(?:only|just|a)\b"
    r"[^.\n]{0,20}?\b(?:(?P<yes>yes or no)|(?P<number>a number)|(?P<code>function|script))"
    r"|\b(?:only|nothing but) (?:say|answer)\b",
    re.IGNORECASE,
)
STARTS = ("answer", "reply", "say", "write", "code", "only", "nothing but")


@st.composite
def texts(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.sampled_from(FRAGMENTS), max_size=16))
    separators = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(pieces)))
    return "".join(piece + separator for piece, separator in zip(pieces, separators, strict=False))


def found(match: re.Match[str] | None) -> tuple[tuple[int, int], dict[str, str | None]] | None:
    return None if match is None else (match.span(), match.groupdict())


@settings(max_examples=1500, deadline=None)
@given(text=texts())
def test_the_match_is_the_one_search_finds(text: str) -> None:
    assert found(search_at_starts(ASK, text, STARTS)) == found(ASK.search(text))


def test_asks_are_found_where_they_are() -> None:
    text = "An essay. Then: ANSWER with only yes or no; only say it. Write just a \u017fcript"
    assert found(search_at_starts(ASK, text, STARTS)) == found(ASK.search(text)) is not None
    assert search_at_starts(ASK, "essay: a number", STARTS) is None


@settings(max_examples=400, deadline=None)
@given(question=texts(), seed=st.integers(0, 3))
def test_the_styles_reply_as_with_a_plain_search(question: str, seed: int) -> None:
    prompt = Prompt([{"role": "user", "content": question}])
    with pytest.MonkeyPatch.context() as patched:
        for style in (only_answer, code_fence):
            made = style.reply(prompt, random.Random(seed), 500)
            patched.setattr(
                style, "search_at_starts", lambda pattern, text, _: pattern.search(text)
            )
            assert style.reply(prompt, random.Random(seed), 500) == made


# The styles' own expressions: each may be searched only at its start words, which holds
# only while every match of it opens with one of them. Tried at every position of texts
# full of the words (and their folded look-alikes), so an edit of an expression or of its
# start words that breaks the tie fails here, not as a changed reply.
STYLES = ((only_answer.ASK, only_answer.ASK_STARTS), (code_fence.ASK, code_fence.ASK_STARTS))


@settings(max_examples=600, deadline=None)
@given(text=texts())
def test_every_match_of_a_style_opens_with_one_of_its_start_words(text: str) -> None:
    lowered = folded(text)
    for pattern, starts in STYLES:
        for position in range(len(text) + 1):
            if pattern.match(text, position) is not None:
                assert lowered.startswith(starts, position), (pattern.pattern, text, position)


def test_the_start_words_are_tried_on_texts_where_the_styles_match() -> None:
    # The check above must see matches at all: one text per style that matches.
    assert only_answer.ASK.search("Answer with only yes or no.")
    assert code_fence.ASK.search("Write a function that adds.")
    assert found(search_at_starts(code_fence.ASK, "Please write a function", code_fence.ASK_STARTS))
