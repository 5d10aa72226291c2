"""The reasoning constraints' folded pattern finds what the case-insensitive one finds,
match for match (its words' leading `\\b` is a look-behind after their first letter)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.contract.model_card import load_model_card
from mockserver.support.folding import folded
from mockserver.tokens.reasoning import ReasoningProfile

PROFILE = load_model_card("o3-mini").reasoning_profile
FRAGMENTS = (
    *PROFILE.constraint_words,
    *(word.upper() for word in PROFILE.constraint_words),
    *("No\u0442", "mu\u017ft", "\u212anot", "notable", "butter", "cannot", "xonly", "9not"),
    *('"', '"quoted"', '"not"', "\n", " ", ".", "-", "_", "'", "\u0130", "caf\u00e9", "x"),
)


def matches(profile: ReasoningProfile, text: str) -> list[str]:
    pattern = profile.folded_constraint_pattern
    assert pattern is not None
    return pattern.findall(folded(text))


@settings(max_examples=800, deadline=None)
@given(pieces=st.lists(st.sampled_from(FRAGMENTS), max_size=24))
def test_the_folded_pattern_finds_the_same_matches(pieces: list[str]) -> None:
    text = "".join(pieces)
    expected = [folded(found) for found in PROFILE.constraint_pattern.findall(text)]
    assert matches(PROFILE, text) == expected


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from('nNotbuOLYexacly "\n\u00e9_9.'), max_size=40))
def test_on_any_text_of_the_words_letters(text: str) -> None:
    expected = [folded(found) for found in PROFILE.constraint_pattern.findall(text)]
    assert matches(PROFILE, text) == expected


def test_words_that_open_with_no_letter_keep_no_folded_pattern() -> None:
    odd = ReasoningProfile(**{**PROFILE.model_dump(), "constraint_words": ("-not",)})
    assert odd.folded_constraint_pattern is None
    assert odd.constraint_pattern.findall("a-not b") == ["-not"]
