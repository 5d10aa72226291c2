"""The generator's memo of completions: a repeated request gets the answer a fresh
generator makes, but for the per-call tool-call ids; anything the answer reads changes
the key."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.contract.api_versions import resolve_dated
from mockserver.contract.model_card import load_model_card
from mockserver.contract.request import check_chat_request, decode_body
from mockserver.engines.base import EngineCall, Script
from mockserver.engines.completion_memo import CompletionMemo
from mockserver.engines.generator import Generator
from mockserver.engines.reply import Choice, Completion, Usage
from mockserver.serialize.ids import IdSource
from mockserver.tokens import counting as tokens

CARD = load_model_card("o3-mini")
VERSION = resolve_dated("2025-04-01-preview")
ASKS = (
    "What is the capital of France?",
    "hello",
    "Answer with only yes or no: is the sky blue?",
    "Respond only with JSON giving the name and age of a person.",
    "Write a python function that reverses a string.",
    "Reply with just a number between 1 and 10.",
    "Summarise why databases need indexes, and mention 'latency' but not 'cost'.",
)
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
ANSWER = {
    "type": "function",
    "function": {
        "name": "final_answer",
        "description": "Provides a final answer to the given problem.",
        "parameters": {"type": "object", "properties": {"answer": {"type": "string"}}},
    },
}


def person_format(properties: tuple[str, ...] = ("name", "age")) -> dict[str, Any]:
    """A json_schema response format, its properties in the order given."""
    kinds = {"name": {"type": "string"}, "age": {"type": "integer"}}
    schema = {
        "type": "object",
        "properties": {name: kinds[name] for name in properties},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    return {"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}


PERSON_SCHEMA = person_format()
REACT_SYSTEM = (
    "Answer the following questions as best you can. You have access to the following "
    "tools:\n\nsearch(query: str) -> str - look something up\n\nUse the following format:"
    "\n\nQuestion: the input question\nThought: think\nAction: the action to take, should "
    "be one of [search]\nAction Input: the input to the action\nObservation: the result"
    "\n\nBegin!"
)


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if draw(st.booleans()):
        messages.append(
            {"role": "system", "content": draw(st.sampled_from(("Be brief.", REACT_SYSTEM)))}
        )
    messages.append({"role": "user", "content": draw(st.sampled_from(ASKS))})
    body: dict[str, Any] = {"messages": messages}
    tools = draw(st.sampled_from(((), (WEATHER,), (WEATHER, ANSWER))))
    if tools:
        body["tools"] = list(tools)
        choice = draw(st.sampled_from((None, "auto", "required", "none", "named")))
        if choice == "named":
            body["tool_choice"] = {"type": "function", "function": {"name": "get_weather"}}
        elif choice is not None:
            body["tool_choice"] = choice
    elif draw(st.booleans()):
        body["response_format"] = draw(st.sampled_from(({"type": "json_object"}, PERSON_SCHEMA)))
        if body["response_format"]["type"] == "json_object":
            messages[-1]["content"] += " Answer in JSON."
    optional = {
        "n": st.integers(1, 3),
        "max_completion_tokens": st.sampled_from((1, 20, 300, 5000)),
        "reasoning_effort": st.sampled_from(("low", "medium", "high")),
        "stop": st.sampled_from((".", ["the", "\n"], "zzz")),
        "seed": st.integers(0, 3),
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            body[name] = draw(values)
    return body


def call_for(body: dict[str, Any]) -> EngineCall:
    request = check_chat_request(decode_body(json.dumps(body).encode()), VERSION, CARD)
    framing, response_format = CARD.prompt_framing, request.body.get("response_format")
    prompt = tokens.prompt_tokens(request.messages, request.tools, framing, response_format)
    return EngineCall(request=request, card=CARD, deployment="o3-mini", prompt_tokens=prompt)


def generator(seed: int = 0, deterministic: bool = True) -> Generator:
    return Generator(seed, IdSource(deterministic=deterministic, fixed_created=1738281600))


def twice(memoising: Generator, call: EngineCall) -> Completion:
    """The completion of a call made a second time: the memo keeps it from then on."""
    memoising.complete(call)
    return memoising.complete(call)


def without_call_ids(completion: Completion) -> Completion:
    choices = tuple(
        dataclasses.replace(
            choice,
            tool_calls=tuple(dataclasses.replace(call, id="") for call in choice.tool_calls),
        )
        for choice in completion.choices
    )
    return dataclasses.replace(completion, choices=choices)


def call_ids(completion: Completion) -> list[str]:
    return [call.id for choice in completion.choices for call in choice.tool_calls]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies(), seed=st.integers(0, 2))
async def test_a_memoised_completion_is_the_fresh_one(body: dict[str, Any], seed: int) -> None:
    memoising = generator(seed)
    first = await memoising.make(call_for(body))
    again = await memoising.make(call_for(body))  # kept the second time it is made
    assert len(memoising.completions) == 1
    remembered = await memoising.make(call_for(body))
    assert remembered == again == first == generator(seed).complete(call_for(body))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies())
def test_tool_call_ids_are_minted_again_for_each_answer(body: dict[str, Any]) -> None:
    memoising = generator(deterministic=False)
    first, again = memoising.complete(call_for(body)), memoising.complete(call_for(body))
    assert without_call_ids(again) == without_call_ids(first)
    assert without_call_ids(first) == without_call_ids(generator().complete(call_for(body)))
    assert not set(call_ids(first)) & set(call_ids(again))
    assert all(call_id.startswith("call_") for call_id in call_ids(again))


def test_a_seed_changed_at_run_time_is_a_new_answer() -> None:
    memoising, body = generator(0), {"messages": [{"role": "user", "content": ASKS[0]}]}
    before = twice(memoising, call_for(body))
    memoising.seed = 7  # as PATCH /__admin/settings does
    after = twice(memoising, call_for(body))
    assert after == generator(7).complete(call_for(body)) and len(memoising.completions) == 2
    assert before != after


def test_the_same_content_in_another_key_order_is_not_the_same_answer() -> None:
    memoising = generator()
    body = {
        "messages": [{"role": "user", "content": "The person"}],
        "response_format": PERSON_SCHEMA,
    }
    twice(memoising, call_for(body))
    swapped = {**body, "response_format": person_format(("age", "name"))}
    assert twice(memoising, call_for(swapped)) == generator().complete(call_for(swapped))
    assert len(memoising.completions) == 2


def test_reply_styles_deployment_and_card_are_in_the_key() -> None:
    ask = {"messages": [{"role": "user", "content": ASKS[2]}]}
    memoising = Generator(0, IdSource(True, 0), {"plain": ()})
    styled = twice(memoising, call_for(ask))
    plain = twice(memoising, dataclasses.replace(call_for(ask), deployment="plain"))
    assert styled.choices[0].content in ("Yes", "No") and plain != styled
    other_card = CARD.model_copy(update={"system_fingerprint": "fp_other"})
    carded = twice(memoising, dataclasses.replace(call_for(ask), card=other_card))
    assert carded.system_fingerprint == "fp_other" and len(memoising.completions) == 3


def test_a_stub_script_is_in_the_key() -> None:
    memoising, fresh = generator(), generator()
    asked = call_for(
        {"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 900}
    )
    scripts = (Script(content="Scripted."), Script(content="Other."), Script(refusal="No."))
    for script in scripts:
        twice(memoising, dataclasses.replace(asked, script=script))
    assert len(memoising.completions) == len(scripts)  # one each: the script is in the key
    for script in scripts:
        scripted = dataclasses.replace(asked, script=script)
        assert memoising.complete(scripted) == fresh.complete(scripted)  # a hit, as fresh
    hit = memoising.complete(dataclasses.replace(asked, script=scripts[2])).choices[0]
    assert (hit.content, hit.refusal) == (None, "No.")


def completion_of(text: str) -> Completion:
    return Completion((Choice(0, text, "stop"),), Usage(1, 1), "o3-mini", None)


def test_the_memo_is_bounded_by_entries_and_size() -> None:
    memo = CompletionMemo(max_entries=2, max_size=100, second_sighting=False)
    for index in range(3):
        memo.put((index,), CARD, completion_of("x" * 10), key_size=10)
    assert len(memo) == 2 and memo.get((0,), CARD) is None and memo.get((2,), CARD) is not None
    memo.put(("big",), CARD, completion_of("y" * 200), key_size=1)
    assert memo.get(("big",), CARD) is None and memo.size == 40
    memo.put(("large",), CARD, completion_of("z" * 80), key_size=5)
    assert len(memo) == 1 and memo.size == 85
    other = CARD.model_copy()
    assert memo.get(("large",), other) is None  # another card under a reused id is a miss
