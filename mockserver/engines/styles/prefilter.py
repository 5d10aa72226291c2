"""A literal test in front of a style's regular expression: cheap, and never "no" where
the expression would say "yes".

The recognisers are case-insensitive patterns with no literal prefix, so the regex engine
tries them at every position of a prompt's window (tens of microseconds on a short
prompt, a millisecond on a long one). Each needs some words to match at all ("JSON", a
verb of answering...): a text without them is refused here by `in` tests on its folded
form (`support.folding`: what `re.IGNORECASE` matches to an ASCII letter is that letter).
A text that has them is searched only where a match could open (`search_at_starts`).
"""

from __future__ import annotations

import re

from mockserver.support.folding import folded

__all__ = ["folded", "may_match", "search_at_starts"]


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


def search_at_starts(
    pattern: re.Pattern[str], text: str, starts: tuple[str, ...]
) -> re.Match[str] | None:
    """`pattern.search(text)` for a case-insensitive pattern whose every match opens with
    one of `starts` (lower-case ASCII words): tried only where the folded text holds one,
    leftmost first, so it is the match `search` finds, without the engine trying the
    pattern at every other position. Folding keeps positions (`support.folding`)."""
    lowered = folded(text)
    positions: list[int] = []
    for word in starts:
        found = lowered.find(word)
        while found >= 0:
            positions.append(found)
            found = lowered.find(word, found + 1)
    positions.sort()
    match = pattern.match
    for position in positions:
        matched = match(text, position)
        if matched is not None:
            return matched
    return None
