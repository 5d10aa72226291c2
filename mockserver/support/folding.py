"""Text as `re.IGNORECASE` reads ASCII letters: a literal test on the folded text finds a
word wherever a case-insensitive pattern could match it.

Besides their upper case, four characters match an ASCII letter under `re.IGNORECASE` (the
dotted and dotless i, the Kelvin sign, the long s): they are mapped to it before
lower-casing. Lower-casing keeps every other character one character, and a word character
a word character, so `\\b` and the positions of the text stay as they were.
"""

from __future__ import annotations

# The characters other than 'A'-'Z' that `re.IGNORECASE` matches to an ASCII letter.
_FOLDED_TO_ASCII = str.maketrans({"\u0130": "i", "\u0131": "i", "\u212a": "k", "\u017f": "s"})


def folded(text: str) -> str:
    """The text with what `re.IGNORECASE` matches to an ASCII letter as that letter, in
    lower case."""
    if text.isascii():
        return text.lower()
    return text.translate(_FOLDED_TO_ASCII).lower()
