"""Code agents (smolagents' CodeAgent): a `Thought:` and a Python block between the tags
the prompt names, calling the listed tools, then `final_answer(...)`.

Recognised when the instructions ask for a `final_answer` tool and name the code block's
opening and closing tags ("must be opened with '<code>', and closed with '</code>'"; older
versions: "Code:" and a ```py block ending in `<end_code>`). Until an `Observation:` is in
the history the code calls the first listed tool with the question and prints the result;
then it passes what the tool printed to `final_answer`.
"""

from __future__ import annotations

import json
import random
import re

from mockserver.engines.styles.prompt import Prompt, answer_from, observations, quoted

NAME = "code_agent"
_TAGS = re.compile(r"opened with '([^'\n]{1,20})', and closed with '([^'\n]{1,20})'")
_OLD_STYLE = "<end_code>"
_TOOL = re.compile(r"^def (\w+)\((\w+)?[^)\n]*\)", re.MULTILINE)
_TASK = re.compile(r"New task:\n(.*)", re.DOTALL)


def reply(prompt: Prompt, rng: random.Random, visible: int) -> str | None:
    instructions = prompt.instructions
    # "_" first: a one-character test is a memchr, far cheaper on a long prompt.
    if "_" not in instructions or "final_answer" not in instructions:
        return None
    if "Thought:" not in instructions:
        return None
    tags = _tags(instructions)
    if tags is None:
        return None
    observed = observations(prompt.conversation)
    tools = [(name, first) for name, first in _TOOL.findall(instructions) if name != "final_answer"]
    if observed or not tools:
        answer = json.dumps(answer_from(observed, prompt, rng))
        thought, code = "I now have what I need to answer.", f"final_answer({answer})"
    else:
        name, parameter = tools[rng.randrange(len(tools))]
        task = _TASK.search(prompt.last_user)
        ask = json.dumps(quoted(task.group(1) if task else prompt.last_user))
        argument = f"{parameter}={ask}" if parameter else ask
        thought = f"I will use the `{name}` tool to look this up, then print the result."
        code = f"result = {name}({argument})\nprint(result)"
    opening, closing = tags
    return f"Thought: {thought}\n{opening}\n{code}\n{closing}"


def _tags(instructions: str) -> tuple[str, str] | None:
    named = _TAGS.search(instructions)
    if named:
        return named.group(1), named.group(2)
    if _OLD_STYLE in instructions:
        return "Code:\n```py", "```" + _OLD_STYLE
    return None
