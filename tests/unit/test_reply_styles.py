"""Reply styles, in-process: each recogniser on the prompts frameworks really send
(tests/data/captured) and on the instructions it documents, through the generator."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mockserver.config import ALL_REPLY_STYLES, Deployment
from mockserver.contract.api_versions import resolve_dated
from mockserver.contract.model_card import load_model_card
from mockserver.contract.request import check_chat_request, decode_body
from mockserver.engines.base import EngineCall
from mockserver.engines.generator import Generator
from mockserver.engines.reply import Completion
from mockserver.engines.styles import STYLES, Prompt, code_fence, only_answer, styled_reply
from mockserver.serialize.ids import IdSource
from mockserver.tokens import counting as tokens
from tests.reply_conventions import (
    calls_in,
    captured,
    dspy_fields,
    instructor_md_json,
    langchain_react,
    llama_index_react,
    smolagents_code,
)

CARD = load_model_card("o3-mini")
VERSION = resolve_dated("2025-04-01-preview")
PARIS = "Paris is the capital of France."
QUESTION = "What is the capital of France?"


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def complete(
    body: dict[str, Any], styles: dict[str, tuple[str, ...]] | None = None, seed: int = 0
) -> Completion:
    """The generator's answer to a body checked as the pipeline checks it."""
    body = {key: value for key, value in body.items() if key not in ("stream", "stream_options")}
    request = check_chat_request(decode_body(json.dumps(body).encode()), VERSION, CARD)
    framing, response_format = CARD.prompt_framing, request.body.get("response_format")
    prompt = tokens.prompt_tokens(request.messages, request.tools, framing, response_format)
    call = EngineCall(request=request, card=CARD, deployment="o3-mini", prompt_tokens=prompt)
    ids = IdSource(deterministic=True, fixed_created=1738281600)
    return Generator(seed, ids, styles).complete(call)


def text_of(body: dict[str, Any], **options: Any) -> str:
    return complete(body, **options).choices[0].content or ""


# --- DSPy: [[ ## field ## ]] markers --------------------------------------------------


def test_dspy_predict_gets_every_output_field_and_the_completed_marker() -> None:
    reply = text_of(captured("dspy", 1))
    fields = dspy_fields(reply, ["answer"])
    assert fields["answer"]
    assert reply.endswith("[[ ## completed ## ]]")


def test_dspy_typed_fields_get_values_of_their_type() -> None:
    fields = dspy_fields(text_of(captured("dspy", 2)), ["reasoning", "answer", "confidence"])
    assert isinstance(float(fields["confidence"]), float)
    assert fields["reasoning"] and fields["answer"]


def test_dspy_react_calls_a_listed_tool_with_its_arguments_then_finishes() -> None:
    names = ["next_thought", "next_tool_name", "next_tool_args"]
    first = dspy_fields(text_of(captured("dspy", 3)), names)
    assert first["next_tool_name"] == "search"
    assert json.loads(first["next_tool_args"]) == {"query": QUESTION}
    after_observation = dspy_fields(text_of(captured("dspy", 4)), names)
    assert after_observation["next_tool_name"] == "finish"
    assert json.loads(after_observation["next_tool_args"]) == {}


def test_dspy_react_extraction_answers_with_the_observation() -> None:
    fields = dspy_fields(text_of(captured("dspy", 5)), ["reasoning", "answer"])
    assert fields["answer"] == PARIS  # not finish's own "Completed."


def test_dspy_json_adapter_gets_the_typed_fields_as_one_object() -> None:
    first = json.loads(text_of(captured("dspy", 6)))  # response_format json_object
    assert list(first) == ["next_thought", "next_tool_name", "next_tool_args"]
    assert first["next_tool_name"] == "search" and first["next_tool_args"] == {"query": QUESTION}
    assert json.loads(text_of(captured("dspy", 7)))["next_tool_name"] == "finish"


# --- ReAct: LangChain and LlamaIndex ---------------------------------------------------


def test_langchain_react_acts_then_gives_the_final_answer() -> None:
    tool, tool_input = langchain_react(text_of(captured("langchain", 1)))
    assert (tool, tool_input) == ("search", QUESTION)  # one-parameter tool: the bare text
    assert langchain_react(text_of(captured("langchain", 2))) == ("Final Answer", PARIS)


def test_llama_index_react_acts_with_json_input_then_answers() -> None:
    tool, arguments = llama_index_react(text_of(captured("llama-index", 1)))
    assert (tool, arguments) == ("search", {"query": QUESTION})
    assert llama_index_react(text_of(captured("llama-index", 2))) == ("Answer", PARIS)


def test_react_closes_with_the_thought_the_prompt_shows() -> None:
    assert "Thought: I now know the final answer\n" in text_of(captured("langchain", 2))
    llama = text_of(captured("llama-index", 2))
    assert llama.startswith("Thought: I can answer without using any more tools.")


def test_react_input_for_a_signature_of_several_parameters_is_a_json_object() -> None:
    body = captured("langchain", 1)
    prompt = body["messages"][0]["content"].replace(
        "search(query: str) -> str", "search(query: str, limit: int) -> str"
    )
    _, tool_input = langchain_react(text_of({"messages": [user(prompt)]}))
    arguments = json.loads(tool_input)
    assert arguments["query"] == QUESTION and isinstance(arguments["limit"], int)


def test_react_input_is_json_when_the_format_asks_for_json() -> None:
    prompt = captured("langchain", 1)["messages"][0]["content"].replace(
        "Action Input: the input to the action",
        "Action Input: the input to the action, just a simple JSON object",
    )
    _, tool_input = langchain_react(text_of({"messages": [user(prompt)]}))
    assert json.loads(tool_input) == {"query": QUESTION}


# CrewAI 1.x's text ReAct (its native Azure provider sends no `tools`), cut to the parts
# the format depends on.
CREWAI_SYSTEM = """You ONLY have access to the following tools:

Tool Name: get_weather
Tool Arguments: {
  "properties": {"city": {"title": "City", "type": "string"}},
  "required": ["city"],
  "type": "object"
}
Tool Description: Get the current weather for a city.

IMPORTANT: Use the following format in your response:

```
Thought: you should always think about what to do
Action: the action to take, only one name of [get_weather], just the name, exactly as it's written.
Action Input: the input to the action, just a simple JSON object, enclosed in curly braces.
Observation: the result of the action
```

Once all necessary information is gathered, return the following format:

```
Thought: I now know the final answer
Final Answer: the final answer to the original input question
```"""
CREWAI_TASK = (
    "\nCurrent Task: What is the weather in Paris?\n\nBegin! This is VERY important.\n\nThought:"
)


def test_crewai_react_fills_the_described_arguments_with_the_task() -> None:
    messages = [{"role": "system", "content": CREWAI_SYSTEM}, user(CREWAI_TASK)]
    tool, tool_input = langchain_react(text_of({"messages": messages}))
    assert (tool, json.loads(tool_input)) == (
        "get_weather",
        {"city": "What is the weather in Paris?"},
    )
    messages.append(
        {"role": "assistant", "content": f"Action: get_weather\nAction Input: {tool_input}"}
    )
    messages.append(user("Observation: Sunny, 21 C in Paris."))
    assert langchain_react(text_of({"messages": messages})) == (
        "Final Answer",
        "Sunny, 21 C in Paris.",
    )


# --- code agents: smolagents ------------------------------------------------------------


def test_smolagents_code_calls_the_tool_then_final_answer() -> None:
    first = calls_in(smolagents_code(text_of(captured("smolagents", 1)) + "</code>"))
    (search,) = first["search"]
    assert [(k.arg, ast_value(k.value)) for k in search.keywords] == [("query", QUESTION)]
    assert "final_answer" not in first
    last = calls_in(smolagents_code(text_of(captured("smolagents", 2)) + "</code>"))
    (final,) = last["final_answer"]
    assert ast_value(final.args[0]) == PARIS


def ast_value(node: Any) -> Any:
    import ast

    return ast.literal_eval(node)


def test_code_agent_follows_the_older_end_code_convention() -> None:
    system = captured("smolagents", 1)["messages"][0]["content"][0]["text"]
    old = re.sub(
        r"The code sequence must be opened with[^\n]*", "Code: ```py ... <end_code>", system
    )
    reply = text_of({"messages": [{"role": "system", "content": old}, user("New task:\nhi")]})
    assert "Code:\n```py\n" in reply and reply.endswith("```<end_code>")
    assert smolagents_code(reply, ("```py", "```<end_code>"))


# --- JSON: json_object keys from the prompt, JSON-only prompts -------------------------


def test_instructor_json_mode_gets_the_schema_in_the_system_prompt() -> None:
    made = json.loads(text_of(captured("instructor", 1)))
    assert set(made) == {"name", "age"}
    assert isinstance(made["name"], str) and isinstance(made["age"], int)


def test_instructor_md_json_gets_a_json_code_block_of_the_schema() -> None:
    made = instructor_md_json(text_of(captured("instructor", 2)))
    assert set(made) == {"name", "age"} and isinstance(made["age"], int)


@pytest.mark.parametrize(
    ("instruction", "keys", "types"),
    [
        ('Reply as JSON like {"city": "Oslo", "population": 700000, "tags": ["x"]}.',
         {"city", "population", "tags"}, {"city": str, "population": int, "tags": list}),
        ("Return a JSON object with the keys `title`, `score` and `summary`.",
         {"title", "score", "summary"}, {"title": str, "score": float, "summary": str}),
    ],
)  # fmt: skip
def test_json_object_uses_the_keys_and_types_the_prompt_shows(
    instruction: str, keys: set[str], types: dict[str, type]
) -> None:
    body = {"messages": [user(instruction)], "response_format": {"type": "json_object"}}
    made = json.loads(text_of(body))
    assert set(made) == keys
    for key, kind in types.items():
        assert isinstance(made[key], (int, float) if kind is float else kind)


def test_json_object_without_a_shape_keeps_the_default_object() -> None:
    body = {
        "messages": [user("Describe Norway in JSON.")],
        "response_format": {"type": "json_object"},
    }
    assert set(json.loads(text_of(body))) == {"title", "summary", "keywords"}


def test_json_only_instruction_gets_bare_json() -> None:
    reply = text_of({"messages": [user('Respond only with JSON: {"answer": "...", "sure": true}')]})
    made = json.loads(reply)
    assert set(made) == {"answer", "sure"} and isinstance(made["sure"], bool)


# --- answer with only X, code fences ---------------------------------------------------


@pytest.mark.parametrize(
    ("question", "shape"),
    [
        ("Is Oslo in Norway? Answer with only yes or no.", r"Yes|No"),
        ("Is water wet? Reply with just 'true' or 'false'.", r"True|False"),
        ("How many legs does a spider have? Respond with only a number.", r"\d+"),
        ("Name the capital of Norway. Answer with a single word.", r"[A-Z][a-z]+"),
    ],
)
def test_answer_with_only_x_gets_exactly_that(question: str, shape: str) -> None:
    assert re.fullmatch(shape, text_of({"messages": [user(question)]}))


@pytest.mark.parametrize(
    ("ask", "fence"),
    [
        ("Write a Rust function that reverses a string.", "rust"),
        ("Please implement a function in JavaScript that debounces calls.", "javascript"),
        ("Write a function that parses a CSV line.", "python"),
        ("Give me a SQL query listing the newest orders.", "sql"),
    ],
)
def test_code_requests_get_a_block_in_the_named_language(ask: str, fence: str) -> None:
    reply = text_of({"messages": [user(ask)]})
    assert re.search(rf"\n```{fence}\n.+\n```$", reply, re.DOTALL), reply


def test_python_code_block_is_valid_python() -> None:
    reply = text_of({"messages": [user("Write a Python function that counts vowels.")]})
    code = reply.split("```python\n", 1)[1].removesuffix("```")
    compile(code, "<reply>", "exec")


# --- order, determinism, budget, the switch --------------------------------------------


def test_styles_are_tried_in_the_documented_order_matching_the_setting() -> None:
    assert tuple(STYLES) == ALL_REPLY_STYLES


def test_plain_questions_still_get_prose() -> None:
    prompt = Prompt([user("What should I think about when planning a garden?")])
    assert styled_reply(prompt, random.Random(0), 1000, ALL_REPLY_STYLES) is None


def test_same_request_same_reply_and_the_seed_changes_it() -> None:
    body = captured("dspy", 2)
    assert text_of(body) == text_of(body)
    assert text_of(body) != text_of(body, seed=1)
    assert dspy_fields(text_of(body, seed=1), ["reasoning", "answer", "confidence"])


def test_a_styled_reply_is_cut_at_the_visible_budget() -> None:
    body = {**captured("langchain", 1), "reasoning_effort": "low"}
    whole = complete(body)
    short = 10  # tokens fewer than the whole answer spends
    limit = whole.usage.completion_tokens - short
    cut = complete({**body, "max_completion_tokens": limit}).choices[0]
    assert cut.finish_reason == "length"
    text = whole.choices[0].content or ""
    assert cut.content and text.startswith(cut.content) and cut.content.startswith("Thought:")
    assert tokens.count(cut.content) == tokens.count(text) - short


def test_a_deployment_without_styles_answers_in_prose() -> None:
    assert "Action:" in text_of(captured("langchain", 1), styles={"o3-mini": ALL_REPLY_STYLES})
    off = text_of(captured("langchain", 1), styles={"o3-mini": ()})
    assert "Action:" not in off and "Thought:" not in off
    only_json = {"o3-mini": ("json_object",)}
    assert "Action:" not in text_of(captured("langchain", 1), styles=only_json)


def test_deployment_setting_names_only_known_styles() -> None:
    assert Deployment().reply_styles == ALL_REPLY_STYLES
    assert Deployment.model_validate({"reply_styles": []}).reply_styles == ()
    with pytest.raises(ValidationError):
        Deployment.model_validate({"reply_styles": ["telepathy"]})


def test_recognisers_read_bounded_windows_of_huge_prompts() -> None:
    huge = "Answer with only yes or no. " + "filler words " * 400_000
    prompt = Prompt([user(huge)])
    assert only_answer.reply(prompt, random.Random(0), 100) is not None  # instructions' head
    assert code_fence.reply(prompt, random.Random(0), 100) is None


# --- any prompt: a reply or None, never an exception -----------------------------------

_FRAGMENTS = [
    "[[ ## completed ## ]]",
    "Your output fields are:\n1. `a` (Literal['finish', 'finish']):\n2. `b` (dict[str, Any]):\n",
    "1. `n` (int):\n",
    "[[ ## observation_0 ## ]]\n",
    "(1) t, whose description is <desc>x</desc>. It takes arguments {'q': 5}.\n",
    "(1) t, whose description is x. It takes arguments {'q': {'type': 'string'}, [}.\n",
    "Action Input: the input, JSON\n",
    "one of [t, u]\n",
    '> Tool Name: t\nTool Args: {"properties": [1]}\n',
    'Tool Args: {"type": "object", "properties": {"q": {"type": "frob"}}}\n',
    "Observation: \n",
    "Thought: done\nAnswer: x\n",
    "final_answer Thought: opened with '<code>', and closed with '</code>'\n",
    "def t(",
    '{"properties": {"a": 5}}',
    '{"a": [], "b": {}}',
    "keys `a` and `b`",
    "respond only with JSON ```json",
    "answer with only yes or no",
    "answer with just a single word",
    "write a function in c++",
    "```frob\n",
    "{",
    "\n",
    "x" * 40,
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_FRAGMENTS) | st.text(max_size=20), max_size=12),
    st.sampled_from([{}, {"type": "json_object"}, {"type": "text"}]),
    st.sampled_from(["system", "user", "assistant"]),
)
def test_any_prompt_gets_a_reply_or_none(
    pieces: list[str], response_format: dict[str, Any], role: str
) -> None:
    text = "".join(pieces)
    messages = [{"role": role, "content": text}, user(text)]
    for budget in (0, 50):
        made = styled_reply(Prompt(messages, response_format), random.Random(0), budget, STYLES)
        assert made is None or isinstance(made, str)
