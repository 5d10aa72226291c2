"""The literal gates in front of the secret shapes (redaction/rules.py): a gate may let
through text its shape then finds nothing in, never the other way round, so scrubbing
with the gates gives exactly what running every shape over the text gives."""

from __future__ import annotations

import re
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.redaction import rules
from mockserver.redaction.rules import (
    MASK,
    REDACTED,
    VALUE_SHAPES,
    scrub_text,
    shapes_in,
    shapes_that_may_match,
)

# Pieces of every shape, and near misses of them, to be put together in any order.
FRAGMENTS = (
    "eyJ",
    "eyJhbGciOiJSUzI1NiJ9",
    ".",
    "eyJzdWIiOiJhbGljZSJ9.",
    "sk-",
    "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t",
    "?",
    "&",
    ";",
    "sig=",
    "CODE=",
    "Api-Key=",
    "client_secret=",
    "Bearer ",
    "bEaReR\t",
    "abcdefghijklmnop1234",
    "AccountKey=",
    "sharedaccesskey=",
    "ACCESSKEY=",
    "\u212aey=",  # the Kelvin sign folds to "k"
    "acce\u017f\u017fkey=",  # the long s folds to "s"
    "Key=",
    "=",
    "://",
    "https://",
    "user:",
    "pa55word",
    "@",
    " ",
    '"',
    "0",
    "A" * 24,
    "JQQJ9",
    "JQQJ99BA",
    "Zq8d" * 13 + "JQQJ99BACYeBjFXJ3w3AAAAACOGk3x9Q",  # an annotated key's shape
)
TEXTS = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=14).map(
    "".join
)


def every_shape_run(text: str, replacement: str) -> str:
    """What scrubbing was before the gates: each shape run over the text, in order."""
    for _, shape in VALUE_SHAPES:
        text = shape.sub(lambda match: _replaced(match, replacement), text)
    return text


def _replaced(match: re.Match[str], replacement: str) -> str:
    whole, start, end = match.group(0), match.start("s"), match.end("s")
    return whole[: start - match.start()] + replacement + whole[end - match.start() :]


@settings(max_examples=3000, deadline=None)
@given(TEXTS)
def test_a_gate_never_says_no_where_its_shape_matches(text: str) -> None:
    let_through = shapes_that_may_match(text)
    for shape in VALUE_SHAPES:
        if shape[1].search(text):
            assert shape in let_through, (shape[0], text)


@settings(max_examples=3000, deadline=None)
@given(TEXTS, st.sampled_from((REDACTED, MASK)))
def test_scrubbing_with_gates_equals_every_shape_run(text: str, replacement: str) -> None:
    assert scrub_text(text, replacement) == every_shape_run(text, replacement)


@settings(max_examples=2000, deadline=None)
@given(TEXTS, st.sampled_from((REDACTED, MASK)))
def test_a_text_scrubbed_again_is_scrubbed_the_same_and_no_secret_is_remembered(
    text: str, replacement: str
) -> None:
    # Texts no gate let through are remembered: asked again (with either replacement),
    # the same answer; and no remembered text is one a shape matches.
    first = scrub_text(text, replacement)
    other = MASK if replacement == REDACTED else REDACTED
    assert scrub_text(text, replacement) == first == every_shape_run(text, replacement)
    assert scrub_text(text, other) == every_shape_run(text, other)
    if text in rules._UNGATED_TEXTS:
        assert not any(shape.search(text) for _, shape in VALUE_SHAPES)


@settings(max_examples=1000, deadline=None)
@given(TEXTS)
def test_shapes_in_names_what_every_shape_finds(text: str) -> None:
    every = [
        name
        for name, shape in VALUE_SHAPES
        if any(match.group("s") not in (REDACTED, MASK) for match in shape.finditer(text))
    ]
    assert shapes_in(text) == every


def test_only_ascii_letters_fold_to_the_gates_lowered_literals() -> None:
    """The gates look for "bearer" and "key=" in the lower-cased text: sound only if
    every character the shapes' (?i:...) match as one of these letters lower-cases to it."""
    every_character = "".join(map(chr, range(sys.maxunicode + 1)))
    folding = re.compile("[bearky]", re.IGNORECASE).findall(every_character)
    assert {character.lower() for character in folding} == set("bearky")
    assert "\u212a" in folding  # the Kelvin sign is one of them, and lower-cases to "k"


def test_a_large_plain_text_is_let_through_by_no_gate() -> None:
    prose = "The quick brown fox, she said, jumps over the lazy dog. " * 2000
    assert shapes_that_may_match(prose) == []
    assert scrub_text(prose) is prose
