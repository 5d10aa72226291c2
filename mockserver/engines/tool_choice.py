"""Which tool, if any, a reply calls: a rule a user can predict from the request.

- `tool_choice: "none"`, or no tools: a message.
- a named function: a call to that function (the service then reports `finish_reason:
  "stop"`, not "tool_calls").
- the deprecated `functions` / `function_call` pair is decided the same way.
- otherwise (`"auto"`, the default, or `"required"`) the reply moves an agent's loop to its
  end. A *task* is what the conversation asked since the model last finished (answered in
  text or called the final-answer tool); each tool is called at most once per task:
  - before any tool result: a call to the unused tool whose name or description shares the
    most words with the last user message; else, for `"required"`, the first unused tool;
    else the final-answer tool when one is offered (`final_answer`, `answer`, `respond`,
    `submit`, or a description saying "final answer"); else a message.
  - after tool results (a user nudge after them included): an unused tool that shares a
    word with the task's question (the question asked for more than one thing); then the
    final-answer tool when offered; otherwise a message that uses the results.
    `"required"` answering in text once every matching tool was called is a deliberate
    deviation (docs/fidelity.md): the service would force another call, and an agent loop
    would never end.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mockserver.engines.matching import last_user_text, message_text
from mockserver.engines.prompt_hints import CALLS_AS_TEXT

_WORD = re.compile(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])|\d+")
_IGNORED = frozenset({"the", "and", "for", "with", "get", "set", "use", "you", "can", "any"})
# A tool named with only these words hands the final answer back (`submit_answer`,
# `respond_to_user`, `final_result`): one of them must be an answering word.
_ANSWERING = frozenset({"answer", "respond", "response", "reply", "submit", "finish", "done"})
_ANSWER_NAME = _ANSWERING | frozenset(
    {"final", "result", "output", "provide", "give", "return", "send", "to", "the", "user"}
)
# smolagents: "Provides a final answer to the given problem."; pydantic-ai: "The final
# response which ends this conversation".
_FINAL_DESCRIPTION = re.compile(
    r"\bfinal (answer|response|result|output)\b|\bends? (this|the) conversation\b", re.I
)
# smolagents' ToolCallingAgent sends its earlier calls back as assistant text, not as
# `tool_calls`: "Calling tools:\n[{'id': 'call_...', 'type': 'function', 'function':
# {'name': 'get_weather', 'arguments': {...}}}]", the results as user "Observation:" turns.
_CALLED_NAME = re.compile(r"""['"]name['"]\s*:\s*['"]([\w.-]{1,64})['"]""")
CALLS_AS_TEXT_CHARS = 4000  # the names are read from the start of such a message only


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
    function = next_step(functions, body["messages"], required=choice == "required")
    return ToolDecision(function, legacy=legacy) if function else MESSAGE


def _as_tool_choice(function_call: Any) -> Any:
    """`function_call` in the words of `tool_choice`: "none", "auto" or a named function."""
    if isinstance(function_call, dict):
        return {"type": "function", "function": {"name": function_call["name"]}}
    return function_call


def next_step(
    functions: list[dict[str, Any]], messages: list[dict[str, Any]], required: bool
) -> dict[str, Any] | None:
    """The function an agent's next turn calls, or None for a text answer."""
    final = final_answer_tool(functions)
    task = current_task(messages, final)
    used = set(called_names(task))
    unused = [f for f in functions if f is not final and f["name"] not in used]
    if answers_tool_results(messages):
        if final is not None and final["name"] in _last_calls(messages):
            return None  # the results acknowledge the final answer itself: the loop is over
        return best_match(unused, task) or final
    fallback = unused[0] if required and unused else None
    return best_match(unused, messages) or fallback or final or _forced(functions, required)


def _forced(functions: list[dict[str, Any]], required: bool) -> dict[str, Any] | None:
    """`required` with every tool already called and no results pending: the first tool."""
    return functions[0] if required else None


def final_answer_tool(functions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first tool whose name or description marks it as handing back the final answer."""
    return next((f for f in functions if is_final_answer(f)), None)


def is_final_answer(function: dict[str, Any]) -> bool:
    words = {w.lower() for w in _WORD.findall(function["name"])}
    if words and words <= _ANSWER_NAME and words & (_ANSWERING | {"final"}):
        return True
    return bool(_FINAL_DESCRIPTION.search(function.get("description") or ""))


def current_task(
    messages: list[dict[str, Any]], final: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The messages since the model last finished: a text answer, or a final-answer call."""
    final_name = final["name"] if final else None
    for position in range(len(messages) - 1, -1, -1):
        message = messages[position]
        if message.get("role") == "assistant" and _finishes(message, final_name):
            return messages[position + 1 :]
    return messages


def _finishes(message: dict[str, Any], final_name: str | None) -> bool:
    names = list(_names_called(message))
    return not names or final_name in names


def called_names(messages: list[dict[str, Any]]) -> Iterator[str]:
    """The names of the functions the assistant called in these messages."""
    for message in messages:
        if message.get("role") == "assistant":
            yield from _names_called(message)


def _names_called(message: dict[str, Any]) -> Iterator[str]:
    for call in message.get("tool_calls") or []:
        yield (call.get("function") or {}).get("name") or ""
    if message.get("function_call"):
        yield message["function_call"].get("name") or ""
    text = message_text(message)
    if text.startswith(CALLS_AS_TEXT):
        yield from _CALLED_NAME.findall(text[:CALLS_AS_TEXT_CHARS])


def _last_calls(messages: list[dict[str, Any]]) -> list[str]:
    """The names the assistant's last turn called."""
    empty: dict[str, Any] = {}
    last = next((m for m in reversed(messages) if m.get("role") == "assistant"), empty)
    return list(_names_called(last))


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
    """The function sharing the most words with the last user message; ties: the first.

    When the last user message is a nudge after tool results, the task's first question
    is read too (see `next_step`): the messages given are the ones whose user text counts.
    """
    if not functions:
        return None
    asked = _words(_asked(messages))
    scored = [(len(asked & _words(_describe(f))), -i, f) for i, f in enumerate(functions)]
    score, _, function = max(scored, key=lambda item: item[:2])
    return function if score > 0 else None


def _asked(messages: list[dict[str, Any]]) -> str:
    if answers_tool_results(messages):
        return " ".join(message_text(m) for m in messages if m.get("role") == "user")
    return last_user_text(messages) or ""


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
