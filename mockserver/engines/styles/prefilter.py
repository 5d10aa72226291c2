"""A literal test in front of a style's regular expression: cheap, and never "no" where
the expression would say "yes".

The recognisers are case-insensitive patterns with no literal prefix, so the regex engine
tries them at every position of a prompt's window (tens of microseconds on a short
prompt, a millisecond on a long one). Each needs some words to match at all ("JSON", a
verb of answering...): a text without them is refused here by `in` tests on its folded
form. Folding is what `re.IGNORECASE` does to ASCII letters: besides their upper case,
four other characters match one (the dotted and dotless i, the Kelvin sign, the long s),
so they are mapped to it before lower-casing.
"""

from __future__ import annotations

# The characters other than 'A'-'Z' that `re.IGNORECASE` matches to an ASCII letter.
_FOLDED_TO_ASCII = str.maketrans({"\u0130": "i", "\u0131": "i", "\u212a": "k", "\u017f": "s"})


def folded(text: str) -> str:
    """The text as the prefilters read it: what `re.IGNORECASE` matches to an ASCII letter
    is that letter, in lower case."""
    if text.isascii():
        return text.lower()
    return text.translate(_FOLDED_TO_ASCII).lower()


def may_match(text: str, *needed: tuple[str, ...]) -> bool:
    """False only when the text lacks every word of one of the `needed` groups (lower-case
    ASCII words): a pattern that needs one word of each group cannot match it."""
    lowered = folded(text)
    return all(any(word in lowered for word in words) for words in needed)
