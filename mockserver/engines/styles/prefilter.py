"""A literal test in front of a style's regular expression: cheap, and never "no" where
the expression would say "yes".

The recognisers are case-insensitive patterns with no literal prefix, so the regex engine
tries them at every position of a prompt's window (tens of microseconds on a short
prompt, a millisecond on a long one). Each needs some words to match at all ("JSON", a
verb of answering...): a text without them is refused here by `in` tests on its folded
form (`support.folding`: what `re.IGNORECASE` matches to an ASCII letter is that letter).
"""

from __future__ import annotations

from mockserver.support.folding import folded

__all__ = ["folded", "may_match"]


def may_match(text: str, *needed: tuple[str, ...]) -> bool:
    """False only when the text lacks every word of one of the `needed` groups (lower-case
    ASCII words): a pattern that needs one word of each group cannot match it."""
    lowered = folded(text)
    for words in needed:  # loops, not any(): this runs on every request
        for word in words:
            if word in lowered:
                break
        else:
            return False
    return True
