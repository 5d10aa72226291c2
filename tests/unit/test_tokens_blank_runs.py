"""Runs of a million blanks: tiktoken's regex engine overflows its stack on them and panics,
so `counting.encode` cuts them out and byte-pair encodes each as the one piece o200k's
pattern makes of it (counting._encode_cutting_runs). These tests hold that cut to
tiktoken's own `encode_ordinary` wherever tiktoken can answer: on drawn texts with the cut
made at every run of 2 or more blanks, and on fixed texts with runs past LONG_RUN."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.tokens import counting

# `\s` of the o200k pattern: Unicode's White_Space, \r and \n the line breaks among them.
BLANKS = "\t\x0b\x0c \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
BLANKS += "\u2028\u2029\u202f\u205f\u3000"
LINE_BREAKS = "\r\n"
# Not `\s`, though some look like it: Python's str.isspace takes \x1c-\x1f.
LOOKALIKES = "\x1c\x1d\x1e\x1f\u180e\u200b\u2060\ufeff"
# What can stand beside a run: letters of each case, a mark, digits, punctuation (the
# contraction's apostrophe, the `/` the punctuation alternative takes with line breaks),
# CJK, an emoji.
NEIGHBOURS = "aZsdltA\u01c5\u02b0\u0301\u0e01\u4e001\u0661\u2167!'/.-_\"#\u20ac\u00e9\U0001f600"
TAB, IDEOGRAPHIC_SPACE = "\t", "\u3000"


def tiktoken_tokens(text: str) -> list[int]:
    tokens: list[int] = counting.encoding().encode_ordinary(text)
    return tokens


def piece_tokens(piece: str) -> list[int]:
    """The tokens of `piece` byte-pair encoded as one piece, as tiktoken does each piece."""
    tokens: list[int] = counting.encoding()._core_bpe.encode_single_piece(piece.encode())
    return tokens


def cut_at_every_run(text: str) -> list[int]:
    return counting._encode_cutting_runs(text, 2)


@st.composite
def whitespace_heavy(draw: st.DrawFn) -> str:
    """Runs of blanks (one kind or mixed), line breaks and lookalikes between neighbours."""
    chunks = draw(
        st.lists(
            st.one_of(
                st.tuples(st.sampled_from(BLANKS), st.integers(1, 40)).map(lambda r: r[0] * r[1]),
                st.text(st.sampled_from(BLANKS), min_size=1, max_size=12),
                st.text(st.sampled_from(BLANKS + LINE_BREAKS), min_size=1, max_size=12),
                st.text(st.sampled_from(LOOKALIKES + " "), min_size=1, max_size=6),
                st.text(st.sampled_from(NEIGHBOURS), min_size=1, max_size=4),
                st.sampled_from(["'s", "'LL", "'re ", "123456", "\r\n", "/\n", "!\n\n "]),
            ),
            max_size=20,
        )
    )
    return "".join(chunks)


@given(whitespace_heavy())
@settings(max_examples=1500, deadline=None)
def test_cutting_every_run_is_tiktokens_tokenization_on_whitespace_heavy_texts(
    text: str,
) -> None:
    assert cut_at_every_run(text) == tiktoken_tokens(text)


@given(st.text(max_size=200))
@settings(max_examples=1000, deadline=None)
def test_cutting_every_run_is_tiktokens_tokenization_on_any_unicode(text: str) -> None:
    assert cut_at_every_run(text) == tiktoken_tokens(text)


@given(
    st.text(
        st.one_of(st.sampled_from(BLANKS + LINE_BREAKS + LOOKALIKES), st.characters()),
        max_size=200,
    ),
    st.integers(2, 6),
)
@settings(max_examples=1000, deadline=None)
def test_cutting_runs_of_any_length_is_tiktokens_tokenization(text: str, min_run: int) -> None:
    assert counting._encode_cutting_runs(text, min_run) == tiktoken_tokens(text)


def test_lone_surrogates_are_replaced_as_tiktoken_replaces_them() -> None:
    for text in ["\ud800  x", "a\udfff" + " " * 5, "  \ud83d\ude00  !", "\ud83d" + " " * 3]:
        assert cut_at_every_run(text) == tiktoken_tokens(text)


def _around(run: str) -> list[str]:
    """`run` before each kind of neighbour, after some, between line breaks, alone."""
    afters = ["", "1", "123", "!", "'s", "x", "Hello", "\u4e00", "\n", "\r\n", "\n x", "/", "  "]
    texts = [run + after for after in afters]
    texts += ["x" + run, "!" + run + "!", "\n" + run + "\n", "\n" + run + "x", "x\n" + run]
    texts += [run + "\n" + run, "a" + run + "b" + run + "c"]
    return texts


def test_long_runs_beside_every_neighbour_are_tiktokens_tokenization() -> None:
    long = counting.LONG_RUN + 5
    for text in _around(" " * long):
        assert counting.encode(text) == tiktoken_tokens(text), repr(text[-20:])
    for run in [TAB * long, IDEOGRAPHIC_SPACE * long, " \t\u00a0" * (long // 3)]:
        for text in [run, run + "x", "1" + run + "1", run + "\n"]:
            assert counting.encode(text) == tiktoken_tokens(text), repr(text[-20:])


def test_seven_hundred_thousand_blanks_are_tiktokens_tokenization() -> None:
    spaces = " " * 700_000
    for text in [
        spaces,
        spaces + "x",
        "x" + spaces + "1",
        TAB * 700_000,
        IDEOGRAPHIC_SPACE * 700_000,
    ]:
        expected = tiktoken_tokens(text)
        assert counting.encode(text) == expected
        assert cut_at_every_run(text) == expected


def test_a_million_blanks_are_one_piece() -> None:
    """Past tiktoken's limit: the run is the piece `\\s+(?!\\S)` makes of it, all of it at
    the text's end, all but its last blank before a non-blank."""
    tabs = TAB * 1_000_000
    assert counting.count(tabs) == len(piece_tokens(tabs))
    spaces = " " * 1_000_000
    one_piece = piece_tokens(spaces)
    assert counting.encode(spaces) == one_piece
    assert len(one_piece) == 7_813  # 128 spaces a token
    assert counting.encode("x" + spaces + "x") == [
        *tiktoken_tokens("x"),
        *piece_tokens(spaces[1:]),
        *tiktoken_tokens(" x"),
    ]
    assert counting.encode(spaces + "\n" + spaces) == [
        *tiktoken_tokens(spaces + "\n"),  # `\s*[\r\n]+`, which tiktoken matches
        *piece_tokens(spaces),
    ]


def test_runs_shorter_than_long_run_are_far_from_tiktokens_limit() -> None:
    """`encode` leaves runs shorter than LONG_RUN to tiktoken: it takes three times that."""
    for blank in [" ", TAB]:
        text = "x" + blank * (3 * counting.LONG_RUN) + "x"
        assert cut_at_every_run(text) == tiktoken_tokens(text)


@given(st.integers(0, 3 * counting.SAMPLE_STEP), st.sampled_from([" ", TAB, " \u3000"]))
@settings(max_examples=25, deadline=None)
def test_the_sample_sees_every_long_run(offset: int, blank: str) -> None:
    run = (blank * counting.LONG_RUN)[: counting.LONG_RUN]
    assert counting._may_hold_long_run("x" * offset + run + "x")


def test_the_sample_lets_ordinary_long_texts_through() -> None:
    prose = "Words, spaces  and\tindented\n    code; " * 30_000
    assert not counting._may_hold_long_run(prose)
    assert not counting._may_hold_long_run(" " * (counting.LONG_RUN - 1))


def test_a_tiktoken_panic_is_raised_as_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line of defence: were a text to make tiktoken panic again (here the
    blank-run cut is turned off), the request's handler gets an Exception, answered as
    Azure's 500, not a BaseException that leaves the request unanswered."""
    monkeypatch.setattr(counting, "LONG_RUN", 2**40)
    with pytest.raises(counting.TokenizerPanicError) as raised:
        counting.encode(" " * 1_000_000)
    assert type(raised.value.__cause__).__name__ == "PanicException"
