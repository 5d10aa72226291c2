"""The parse rules of the frameworks whose text protocols the reply styles follow,
reproduced from their sources (versions as in tests/data/captured/README.md), and the
captured requests they sent. A reply these rules accept is one the framework accepts."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

from tests.support.testdata import DATA_DIR

CAPTURED = DATA_DIR / "captured"


def captured(framework: str, number: int) -> dict[str, Any]:
    """The body of the framework's `number`th captured request."""
    path: Path = CAPTURED / framework / f"{number:02d}.json"
    body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["body"]
    return body


# dspy 3.4.1, dspy/adapters/chat_adapter.py: ChatAdapter.parse.
_DSPY_HEADER = re.compile(r"\[\[ ## (\w+) ## \]\]")


def dspy_fields(completion: str, output_fields: list[str]) -> dict[str, str]:
    """The sections under each `[[ ## name ## ]]` header; all output fields, or it fails."""
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in completion.splitlines():
        match = _DSPY_HEADER.match(line.strip())
        if match:
            remaining = line[match.end() :].strip()
            sections.append((match.group(1), [remaining] if remaining else []))
        else:
            sections[-1][1].append(line)
    fields: dict[str, str] = {}
    for name, lines in sections:
        if name in output_fields and name not in fields:
            fields[name] = "\n".join(lines).strip()
    assert list(fields) == output_fields, f"DSPy would fail to parse: {completion!r}"
    return fields


# langchain-classic 1.0.8, agents/output_parsers/react_single_input.py.
_LANGCHAIN_ACTION = re.compile(
    r"Action\s*\d*\s*:[\s]*(.*?)[\s]*Action\s*\d*\s*Input\s*\d*\s*:[\s]*(.*)", re.DOTALL
)


def langchain_react(text: str) -> tuple[str, str]:
    """("action", (tool, input)) or ("finish", answer), as ReActSingleInputOutputParser."""
    has_answer = "Final Answer:" in text
    action = _LANGCHAIN_ACTION.search(text)
    if action:
        assert not has_answer, "LangChain: both a final answer and a parse-able action"
        return action.group(1).strip(), action.group(2).strip(" ").strip('"')
    assert has_answer, f"LangChain: could not parse LLM output: {text!r}"
    return "Final Answer", text.split("Final Answer:")[-1].strip()


# llama-index-core 0.14.25, agent/react/output_parser.py.
_LLAMA_ACTION = re.compile(
    r"(?:\s*Thought: (.*?)|(.+))\n+Action: ([^\n\(\) ]+).*?\n+Action Input: .*?(\{.*\})",
    re.DOTALL,
)
_LLAMA_ANSWER = re.compile(r"\s*Thought:(.*?)Answer:(.*?)(?:$)", re.DOTALL)


def llama_index_react(text: str) -> tuple[str, Any]:
    """("action", (tool, kwargs)) or ("answer", text), as ReActOutputParser.parse."""
    assert "Thought:" in text
    if "Action:" in text:
        match = _LLAMA_ACTION.search(text)
        assert match, f"LlamaIndex: could not extract tool use from {text!r}"
        return match.group(3).strip(), json.loads(match.group(4))
    match = _LLAMA_ANSWER.search(text)
    assert match, f"LlamaIndex: could not extract final answer from {text!r}"
    return "Answer", match.group(2).strip()


def smolagents_code(text: str, tags: tuple[str, str] = ("<code>", "</code>")) -> ast.Module:
    """The code between the tags (smolagents 1.26.0, utils.parse_code_blobs), parsed."""
    blocks = re.findall(rf"{re.escape(tags[0])}(.*?){re.escape(tags[1])}", text, re.DOTALL)
    assert blocks, f"smolagents: no code block in {text!r}"
    return ast.parse("\n\n".join(block.strip() for block in blocks))


def calls_in(module: ast.Module) -> dict[str, list[ast.Call]]:
    found: dict[str, list[ast.Call]] = {}
    for node in ast.walk(module):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            found.setdefault(node.func.id, []).append(node)
    return found


# instructor 1.17.0, processing/function_calls.py: Mode.MD_JSON extracts the block.
_MD_JSON = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL)


def instructor_md_json(text: str) -> Any:
    match = _MD_JSON.search(text)
    assert match, f"instructor: no JSON code block in {text!r}"
    return json.loads(match.group(1))
