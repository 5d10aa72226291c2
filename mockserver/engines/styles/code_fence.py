"""Prompts that ask for code: a fenced block in the language the prompt names.

Recognised from the last user message: a request to write, implement or show code (a
function, script, program, class, query, snippet...) or a ```lang fence in the prompt,
and a language named in it (else Python). The reply is one sentence about the task, then
the code in a ```lang block: a function named after the prompt's topic words, in that
language's syntax.
"""

from __future__ import annotations

import random
import re

from mockserver.engines.styles.prefilter import may_match, search_at_starts
from mockserver.engines.styles.prompt import Prompt, quoted, sentence

NAME = "code_fence"
ASK = re.compile(
    r"\b(?:write|implement|create|generate|give me|show me|provide|code)\b[^.\n?]{0,60}?"
    r"\b(?:code|function|script|program|class|method|query|snippet|module|algorithm)s?\b",
    re.IGNORECASE,
)
# What ASK cannot match without: a verb of making and a noun of code.
ASK_NEEDS = (
    ("write", "implement", "create", "generate", "give me", "show me", "provide", "code"),
    (
        *("code", "function", "script", "program", "class"),
        *("method", "query", "snippet", "module", "algorithm"),
    ),
)
# Where a match of ASK opens: a verb of making.
ASK_STARTS = ASK_NEEDS[0]
_FENCED = re.compile(r"```([a-z+#]+)")
# Language as named in prose -> the fence's info string.
_LANGUAGES = {
    "python": "python",
    "javascript": "javascript",
    "typescript": "typescript",
    "java": "java",
    "golang": "go",
    "rust": "rust",
    "c++": "cpp",
    "cpp": "cpp",
    "c#": "csharp",
    "csharp": "csharp",
    "ruby": "ruby",
    "bash": "bash",
    "shell": "bash",
    "sql": "sql",
    "kotlin": "kotlin",
    "swift": "swift",
    "php": "php",
}
_LANGUAGE = re.compile(
    r"(?<![\w+#])(" + "|".join(re.escape(name) for name in _LANGUAGES) + r")(?![\w+#])",
    re.IGNORECASE,
)
# Per language: a function taking one text argument, documented by the ask.
_TEMPLATES = {
    "python": 'def {name}(text: str) -> str:\n    """{doc}"""\n    return text.strip()\n',
    "javascript": "// {doc}\nfunction {camel}(text) {{\n  return text.trim();\n}}\n",
    "typescript": (
        "// {doc}\nfunction {camel}(text: string): string {{\n  return text.trim();\n}}\n"
    ),
    "java": (
        "// {doc}\npublic static String {camel}(String text) {{\n    return text.strip();\n}}\n"
    ),
    "go": "// {doc}\nfunc {camel}(text string) string {{\n\treturn strings.TrimSpace(text)\n}}\n",
    "rust": "/// {doc}\nfn {name}(text: &str) -> String {{\n    text.trim().to_string()\n}}\n",
    "cpp": "// {doc}\nstd::string {camel}(const std::string& text) {{\n    return text;\n}}\n",
    "csharp": (
        "// {doc}\npublic static string {pascal}(string text) {{\n    return text.Trim();\n}}\n"
    ),
    "ruby": "# {doc}\ndef {name}(text)\n  text.strip\nend\n",
    "bash": "# {doc}\n{name}() {{\n  printf '%s\\n' \"$1\"\n}}\n",
    "sql": "-- {doc}\nSELECT *\nFROM {name}\nLIMIT 10;\n",
    "kotlin": "// {doc}\nfun {camel}(text: String): String = text.trim()\n",
    "swift": "// {doc}\nfunc {camel}(_ text: String) -> String {{\n    return text\n}}\n",
    "php": (
        "<?php\n// {doc}\nfunction {camel}(string $text): string {{\n    return trim($text);\n}}\n"
    ),
}


def reply(prompt: Prompt, rng: random.Random, visible: int) -> str | None:
    asking = prompt.last_user[-4000:]
    fenced = _FENCED.search(asking)
    if not (
        fenced or (may_match(asking, *ASK_NEEDS) and search_at_starts(ASK, asking, ASK_STARTS))
    ):
        return None
    language = _language(asking, fenced)
    words = [word.lower() for word in prompt.topic()[:2]] or ["process", "text"]
    code = _TEMPLATES[language].format(
        name="_".join(words),
        camel=words[0] + "".join(word.capitalize() for word in words[1:]),
        pascal="".join(word.capitalize() for word in words),
        doc=quoted(asking)[:80].replace('"""', "'''").replace("*/", "* /"),
    )
    return f"{sentence(prompt, rng)}\n\n```{language}\n{code}```"


def _language(asking: str, fenced: re.Match[str] | None) -> str:
    if fenced and fenced.group(1).lower() in _TEMPLATES:
        return fenced.group(1).lower()
    named = _LANGUAGE.search(asking)
    return _LANGUAGES[named.group(1).lower()] if named else "python"
