"""Which tool, if any, a reply calls: a rule a user can predict from the request.

- `tool_choice: "none"`, or no tools: a message.
- a named function: a call to that function (the service then reports `finish_reason:
  "stop"`, not "tool_calls").
- `"required"`: a call to the best-matching tool (the first tool when nothing matches).
- the deprecated `functions` / `function_call` pair is decided the same way.
- `"auto"` (the default): after tool results (a user nudge after them included), a message
  that uses them; otherwise a call
  to the tool whose name or description shares the most words with the last user
  message, and a message when no tool shares a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mockserver.matching import last_user_text

_WORD = re.compile(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])|\d+")
_IGNORED = frozenset({"the", "and", "for", "with", "get", "set", "use", "you", "can", "any"})


@dataclass(frozen=True)
class ToolDecision:
    function: dict[str, Any] | None  # the function definition to call; None: a message
    named: bool = False  # the request named this function in tool_choice
    legacy: bool = False  # asked with the deprecated functions/function_call pair


MESSAGE = ToolDecision(None)


def decide_tool(body: dict[str, Any]) -> ToolDecision:
    functions = [tool["function"] for tool in body.get("tools") or [] if tool.get("function")]
    choice = body.get("tool_choice")
    legacy = not functions and bool(body.get("functions"))
    if legacy:
        functions, choice = body["functions"], _as_tool_choice(body.get("function_call"))
    if not functions or choice == "none":
        return MESSAGE
    if isinstance(choice, dict):
        wanted = choice["function"]["name"]
        chosen = next(f for f in functions if f["name"] == wanted)
        return ToolDecision(chosen, named=True, legacy=legacy)
    messages: list[dict[str, Any]] = body["messages"]
    if choice == "required":
        return ToolDecision(best_match(functions, messages) or functions[0])
    if answers_tool_results(messages):
        return MESSAGE
    match = best_match(functions, messages)
    return ToolDecision(match, legacy=legacy) if match else MESSAGE


def _as_tool_choice(function_call: Any) -> Any:
    """`function_call` in the words of `tool_choice`: "none", "auto" or a named function."""
    if isinstance(function_call, dict):
        return {"type": "function", "function": {"name": function_call["name"]}}
    return function_call


def answers_tool_results(messages: list[dict[str, Any]]) -> bool:
    """True when the model's last turn was answered by tool results it has not yet used.

    Frameworks add a user nudge after the results ("Analyze the tool result..."): user,
    system and developer messages are looked past, so the reply still uses the results.
    """
    for message in reversed(messages):
        role = message.get("role")
        if role in ("tool", "function"):
            return True
        if role == "assistant":
            return False
    return False


def best_match(functions: list[dict[str, Any]], messages: list[dict[str, Any]]) -> Any:
    """The function sharing the most words with the last user message; ties: the first."""
    asked = _words(last_user_text(messages) or "")
    scored = [(len(asked & _words(_describe(f))), -i, f) for i, f in enumerate(functions)]
    score, _, function = max(scored, key=lambda item: item[:2])
    return function if score > 0 else None


def _describe(function: dict[str, Any]) -> str:
    return f"{function['name'].replace('_', ' ')} {function.get('description') or ''}"


def _words(text: str) -> set[str]:
    words = {w.lower() for w in _WORD.findall(text)}
    return {_stem(w) for w in words if len(w) > 2 and w not in _IGNORED}


def _stem(word: str) -> str:
    """A crude singular: "forecasts" -> "forecast", "searches" -> "search", "prices" -> "price"."""
    if word.endswith("ing") and len(word) > 6:
        return word[:-3]
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word
