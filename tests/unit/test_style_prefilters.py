"""The reply styles' literal prefilters: the same decisions and replies as the regular
expressions alone, on any text (case-folded letters outside ASCII included); the
reasoning constraints counted on folded text; the styles' generator seeded on use."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.contract.model_card import load_model_card
from mockserver.engines.styles import code_fence, json_only, only_answer, react
from mockserver.engines.styles.prefilter import folded, may_match
from mockserver.engines.styles.prompt import Prompt
from mockserver.support.seeded_random import SeededOnUse

FRAGMENTS = (
    *("JSON", "json", "Json", "j\u017fon", "JSO", "```json", "```python", "valid", "object"),
    *("respond", "Reply", "ANSWER", "return", "output", "say", "format", "provide"),
    *("only", "Just", "exactly", "solely", "nothing but", "a single", "single", "one"),
    *("yes or no", "'yes' or 'no'", "yes/no", "true or false", "TRUE/FALSE", "number"),
    *("integer", "\u0130nteger", "d\u0131git", "digits", "word", "a word", "the"),
    *("write", "Implement", "create", "generate", "give me", "show me", "code"),
    *("function", "\u017fcript", "program", "cla\u017f\u017f", "method", "query", "snippet"),
    *("module", "algorithm", "in", "rust", "\u212aotlin", "Action Input:", "Thought:"),
    *("with", "me", "a", ".", "?", "\n", ",", "\u00e9t\u00e9", "\U0001f600"),
    *("answer with only", "Respond with just", "reply \u017folely", "only say", "output a"),
)
SEPARATORS = (" ", " ", " ", "", "\n", ". ")
STYLES: tuple[Any, ...] = (json_only, only_answer, code_fence, react)


@st.composite
def texts(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.sampled_from(FRAGMENTS), max_size=14))
    separators = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(pieces)))
    return "".join(piece + separator for piece, separator in zip(pieces, separators, strict=False))


def prompt_of(instructions: str, question: str) -> Prompt:
    messages = [{"role": "system", "content": instructions}, {"role": "user", "content": question}]
    return Prompt(messages)


def unfiltered(style: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str | None]:
    """The style with its prefilter always saying "maybe": the regular expression decides."""

    def reply(prompt: Prompt, seed: int) -> str | None:
        with monkeypatch.context() as patched:
            if hasattr(style, "may_match"):
                patched.setattr(style, "may_match", lambda *_: True)
            else:
                patched.setattr(react, "_FORMAT_LINE", "")
            made: str | None = style.reply(prompt, random.Random(seed), 500)
        return made

    return reply


@settings(max_examples=400, deadline=None)
@given(instructions=texts(), question=texts(), seed=st.integers(0, 3))
def test_a_prefiltered_style_replies_as_its_expression_alone(
    instructions: str, question: str, seed: int
) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        for style in STYLES:
            prompt = prompt_of(instructions, question)
            filtered = style.reply(prompt, random.Random(seed), 500)
            assert filtered == unfiltered(style, monkeypatch)(
                prompt_of(instructions, question), seed
            )


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("J\u017fON", "json"),
        ("\u0130NTEGER", "integer"),
        ("d\u0131git", "digit"),
        ("\u212aEY", "key"),
    ],
)
def test_letters_that_fold_onto_ascii_are_read_as_it(text: str, word: str) -> None:
    assert re.search(word, text, re.IGNORECASE)
    assert word in folded(text) and may_match(text, (word,))


def test_a_text_without_a_needed_word_is_refused() -> None:
    assert not may_match("Tell me about Paris.", ("json",))
    assert not may_match("Reply with only one thing.", ("reply",), ("only",), ("yes", "word"))
    assert may_match("Reply with only one word.", ("reply",), ("only",), ("yes", "word"))


# Each alternative word of the expressions (copied from them, not from the prefilters).
ONE_WORD_EACH = [
    *(f"{verb} with only yes or no" for verb in ("answer", "respond", "reply", "return")),
    *(f"{verb} with only yes or no" for verb in ("output", "say")),
    *(f"answer {limit} yes or no" for limit in ("only", "just", "exactly", "solely")),
    *(f"answer {limit} yes or no" for limit in ("nothing but", "a single")),
    *(f"Answer only {kind}" for kind in ("yes/no", "true/false", "the integer", "digits", "word")),
    *(f"{verb} a function" for verb in ("write", "implement", "create", "generate", "code")),
    *(f"{verb} a function" for verb in ("give me", "show me", "provide")),
    *(f"write a {noun}" for noun in ("code", "function", "script", "program", "class")),
    *(f"write a {noun}" for noun in ("method", "query", "snippet", "module", "algorithm")),
    "Respond in JSON.",
]


@pytest.mark.parametrize("question", ONE_WORD_EACH)
def test_each_needed_word_lets_its_style_answer(question: str) -> None:
    prompt = prompt_of("Be brief.", question.upper())
    made = [style.reply(prompt, random.Random(0), 500) for style in STYLES]
    assert any(reply is not None for reply in made)


CONSTRAINT_FRAGMENTS = (
    *("not", "NOT", "No\u0442", "but", "B\u0055T", "only", "ONLY", "exactly", "must", "mu\u017ft"),
    *("without", "never", "except", "unless", "\u212anot", "notable", "butter", '"', '"quoted"'),
    *("\n", " ", ".", "-", "_", "\u0130", "\u0131", "caf\u00e9", "\u00c9t\u00e9", "x"),
)


@settings(max_examples=500, deadline=None)
@given(pieces=st.lists(st.sampled_from(CONSTRAINT_FRAGMENTS), max_size=20))
def test_constraints_on_folded_text_are_the_case_insensitive_ones(pieces: list[str]) -> None:
    profile = load_model_card("o3-mini").reasoning_profile
    text = "".join(pieces)
    folded_pattern = profile.folded_constraint_pattern
    assert folded_pattern is not None
    assert len(folded_pattern.findall(folded(text))) == len(
        profile.constraint_pattern.findall(text)
    )


DRAWS: dict[str, Callable[[random.Random], Any]] = {
    "random": lambda rng: rng.random(),
    "randint": lambda rng: rng.randint(1, 100),
    "choice": lambda rng: rng.choice("abcdefg"),
    "randbytes": lambda rng: rng.randbytes(16),
    "randrange": lambda rng: rng.randrange(2**70),
    "uniform": lambda rng: rng.uniform(0.5, 1.0),
    "sample": lambda rng: rng.sample(range(40), 4),
    "choices": lambda rng: rng.choices("xyz", k=3),
    "gauss": lambda rng: rng.gauss(0, 1),
    "getstate": lambda rng: rng.getstate(),
}


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**64), draws=st.lists(st.sampled_from(sorted(DRAWS)), max_size=8))
def test_a_generator_seeded_on_use_draws_as_one_seeded_at_once(seed: int, draws: list[str]) -> None:
    lazy, eager = SeededOnUse(seed), random.Random(seed)
    assert [DRAWS[name](lazy) for name in draws] == [DRAWS[name](eager) for name in draws]
