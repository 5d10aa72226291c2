"""Regular expressions that come from users: compiled by RE2, so matching is linear.

Stub matchers and a JSON Schema's `pattern` are written by whoever sends them; with a
backtracking engine a pattern like `(a+)+$` takes exponential time on a short text and
freezes the server. RE2 (google-re2) matches in time linear in the text; what it cannot
match that way (backreferences, lookaround) it refuses to compile, and so do we, saying why.

Linear in the text, but also proportional to the compiled program when RE2 gives up on its
DFA: `a{1000}` is a thousand instructions. Programs are capped at PROGRAM_BYTES (RE2's
`max_mem`), which admits every pattern of ordinary use (dates, ids, emails, `\\p{L}+`) and
about ten thousand counted repetitions in all.
"""

from __future__ import annotations

import functools
from typing import Protocol

import re2

PROGRAM_BYTES = 128 * 1024
RE2_SYNTAX = (
    "regexes use RE2 syntax (https://github.com/google/re2/wiki/Syntax), which matches in "
    "linear time: no backreferences (\\1) and no lookaround ((?=...), (?!...), (?<=...), "
    "(?<!...)); a repetition count goes up to 1000, and the compiled pattern must fit in "
    f"{PROGRAM_BYTES // 1024} KiB"
)


class LinearRegex(Protocol):
    """What a compiled RE2 pattern offers here (google-re2 ships no type hints)."""

    def search(self, text: str) -> object | None: ...

    def match(self, text: str) -> object | None: ...


class UnsupportedRegexError(ValueError):
    """A regex RE2 does not compile: unsupported syntax, or a program over PROGRAM_BYTES."""


@functools.lru_cache(maxsize=1024)
def linear_regex(pattern: str) -> LinearRegex:
    """`pattern` compiled by RE2, or UnsupportedRegexError saying why it cannot be."""
    options = re2.Options()
    options.log_errors = False  # the reason goes into the error, not onto stderr
    options.max_mem = PROGRAM_BYTES
    try:
        compiled: LinearRegex = re2.compile(pattern, options)
    except re2.error as error:
        reason = error.args[0].decode() if error.args else "it does not compile"
        raise UnsupportedRegexError(
            f"regex /{pattern}/ is refused: {reason}; {RE2_SYNTAX}"
        ) from None
    return compiled


def searched(regex: LinearRegex, text: str) -> bool:
    """Whether `regex` is found in `text`. RE2 reads UTF-8: a header's bytes that were not
    UTF-8 (kept as surrogate escapes) are searched as U+FFFD, as a decoder shows them."""
    try:
        return regex.search(text) is not None
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")  # the bytes as they came
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "surrogatepass")  # a lone surrogate of another kind
        return regex.search(raw.decode("utf-8", "replace")) is not None
