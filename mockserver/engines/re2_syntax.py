"""A schema `pattern` RE2 has accepted, rewritten in the syntax of Python's `re`.

Strings are drawn from a pattern by rstr, which reads it with Python's parser, while the
pattern is RE2 syntax (see `mockserver.support.regexes`). Most of the two agree; what
RE2 has and `re` has not is rewritten here as `re` says it:

- `\\z` (end of text) as `\\Z`; `\\x{10FFFF}` as `\\U0010ffff`; `\\Q...\\E` as the
  literal characters it quotes;
- a Unicode class (`\\pL`, `\\p{Lu}`, `\\P{Greek}`, `\\p{^N}`) as a class of the sample
  characters RE2 says it holds: the printable ASCII ones when there are any (`\\pL+`
  gives readable words), else the others;
- `(?<name>` as `(?P<name>`, and the flag `U` (ungreedy) dropped: it changes which match
  is found first, not which strings match.

A `[`, `&`, `~` or `|` inside brackets is escaped, which `re` would otherwise warn may
mean a set operation one day. So a POSIX class (`[[:alpha:]]`) is read as its characters,
as the validator (jsonschema-rs, ECMA-262 syntax) reads it too. What is left that `re`
cannot read (a flag group in the middle of a pattern, `\\C`) is left as it is: rstr's
parser then raises `re.error`, and the schema has no value this generator can write.
"""

from __future__ import annotations

import functools
import string

from mockserver.support.regexes import UnsupportedRegexError, linear_regex

# Characters a Unicode class is drawn from: ASCII, Latin-1, and a few of each script and
# kind of character (letters, marks, digits, punctuation, symbols, spaces, controls).
_SAMPLE_RANGES = (
    (0x00, 0xFF),
    (0x100, 0x17F),  # Latin Extended-A
    (0x300, 0x36F),  # combining marks
    (0x391, 0x3C9),  # Greek
    (0x410, 0x44F),  # Cyrillic
    (0x5D0, 0x5EA),  # Hebrew
    (0x620, 0x64A),  # Arabic
    (0x660, 0x669),  # Arabic-Indic digits
    (0x905, 0x939),  # Devanagari
    (0x966, 0x96F),  # Devanagari digits
    (0xE01, 0xE30),  # Thai
    (0x10A0, 0x10C5),  # Georgian
    (0x2000, 0x206F),  # spaces, punctuation, format characters
    (0x2070, 0x209C),  # super- and subscripts
    (0x20A0, 0x20C0),  # currency
    (0x2100, 0x218B),  # letterlike, number forms
    (0x2190, 0x21FF),  # arrows
    (0x2200, 0x22FF),  # mathematical operators
    (0x2460, 0x24FF),  # enclosed alphanumerics
    (0x3000, 0x303F),  # CJK punctuation
    (0x3041, 0x3096),  # Hiragana
    (0x30A1, 0x30FA),  # Katakana
    (0x4E00, 0x4E3F),  # CJK ideographs
    (0xAC00, 0xAC3F),  # Hangul
    (0xE000, 0xE00F),  # private use
    (0xFF01, 0xFF5E),  # fullwidth forms
    (0x10400, 0x1044F),  # Deseret
    (0x1D400, 0x1D44F),  # mathematical letters
    (0x1F300, 0x1F32F),  # pictographs
    (0x1F600, 0x1F64F),  # emoji
    (0xF0000, 0xF000F),  # supplementary private use
)
_SAMPLES = "".join(chr(code) for low, high in _SAMPLE_RANGES for code in range(low, high + 1))
_READABLE = frozenset(string.printable[:-5])  # printable ASCII, not \t\n\r\x0b\x0c
# Literal inside brackets, but read by `re` as a possible set operation (a FutureWarning).
_ESCAPED_IN_CLASS = frozenset("[&~|")


@functools.lru_cache(maxsize=1024)
def sre_pattern(pattern: str) -> str:
    """`pattern` (RE2 syntax, accepted by RE2) in Python's `re` syntax, as far as it goes
    (rewritten once per pattern: a schema's value is drawn many times)."""
    out: list[str] = []
    index, length = 0, len(pattern)
    in_class = class_start = False  # class_start: just after `[` or `[^`, where `]` is literal
    while index < length:
        char = pattern[index]
        if char == "\\" and index + 1 < length:
            index = _escape(pattern, index, in_class, out)
            class_start = False
        elif in_class:
            index = _in_class(pattern, index, class_start, out)
            in_class = char != "]" or class_start
            class_start = False
        elif char == "[":
            in_class = class_start = True
            caret = pattern.startswith("^", index + 1)
            out.append("[^" if caret else "[")
            index += 2 if caret else 1
        elif pattern.startswith("(?", index):
            index = _group_opening(pattern, index, out)
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _in_class(pattern: str, index: int, class_start: bool, out: list[str]) -> int:
    char = pattern[index]
    if char == "]" and class_start:
        out.append("\\]")
    else:
        out.append("\\" + char if char in _ESCAPED_IN_CLASS else char)
    return index + 1


def _escape(pattern: str, index: int, in_class: bool, out: list[str]) -> int:
    """The escape at `index` written for `re`; the index after it."""
    letter = pattern[index + 1]
    if letter == "z" and not in_class:
        out.append("\\Z")
        return index + 2
    if letter == "x" and pattern.startswith("{", index + 2):
        end = pattern.find("}", index + 3)
        if end > 0:
            try:
                out.append(_literal(chr(int(pattern[index + 3 : end], 16))))
                return end + 1
            except ValueError:
                pass  # not a code point: left for `re` to refuse
    if letter in "pP" and index + 2 < len(pattern):
        if pattern.startswith("{", index + 2):
            end = pattern.find("}", index + 3)
            name, after = pattern[index + 3 : end], end + 1
        else:
            name, after = pattern[index + 2], index + 3
        if name and after > index + 2:
            members = "".join(_literal(char) for char in unicode_class(letter, name))
            out.append(members if in_class else f"[{members}]")
            return after
    if letter == "Q":
        end = pattern.find("\\E", index + 2)
        quoted = pattern[index + 2 :] if end < 0 else pattern[index + 2 : end]
        out.append("".join(_literal(char) for char in quoted))
        return len(pattern) if end < 0 else end + 2
    out.append(pattern[index : index + 2])
    return index + 2


def _literal(char: str) -> str:
    return f"\\U{ord(char):08x}"


@functools.lru_cache(maxsize=256)
def unicode_class(letter: str, name: str) -> str:
    """The sample characters RE2's `\\p{name}` (`\\P` when `letter` is P) holds: only the
    printable ASCII ones when it holds any; "" when it holds none of them."""
    try:
        compiled = linear_regex(f"\\{letter}{{{name}}}")
    except UnsupportedRegexError:
        return ""
    held = [char for char in _SAMPLES if compiled.match(char) is not None]
    readable = [char for char in held if char in _READABLE]
    return "".join(readable or held)


def _group_opening(pattern: str, index: int, out: list[str]) -> int:
    """`(?` at `index`: RE2's `(?<name>` and its flag `U` written for `re`."""
    if pattern.startswith("(?<", index) and not pattern.startswith(("(?<=", "(?<!"), index):
        out.append("(?P<")
        return index + 3
    end = index + 2
    while end < len(pattern) and pattern[end] in "imsU-":
        end += 1
    flags = pattern[index + 2 : end]
    if "U" not in flags or end >= len(pattern) or pattern[end] not in ":)":
        out.append("(?")
        return index + 2
    on, _, off = flags.replace("U", "").partition("-")
    kept = on + ("-" + off if off else "")
    if pattern[end] == ":":
        out.append(f"(?{kept}:")
    elif kept:
        out.append(f"(?{kept})")
    return end + 1
