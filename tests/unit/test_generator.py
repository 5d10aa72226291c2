"""The deterministic generator: pure function of request and seed, budgets, stop, prose."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.contract.api_versions import resolve_dated
from mockserver.contract.errors import AzureError
from mockserver.contract.model_card import load_model_card
from mockserver.contract.request import check_chat_request, decode_body
from mockserver.engines.base import EngineCall, Script
from mockserver.engines.generator import Generator
from mockserver.engines.reply import Completion
from mockserver.serialize.ids import IdSource
from mockserver.tokens import counting as tokens

CARD = load_model_card("o3-mini")
VERSION = resolve_dated("2025-04-01-preview")
GRANULE = 64
# The hidden tokens real o3-mini bills with an answer besides reasoning and visible tokens
# (completion - reasoning - visible, tests/sdk/test_real_o3mini_usage.py): 13 with a text
# answer in 4 of 6 recordings (pydantic-ai "hello" and stop_settings, envoy-ai-gateway),
# 21 with one tool call (crewai's o_model_family recording), its name and arguments visible.
TEXT_FRAMING = 13
CALL_FRAMING = 8  # each call's, beside TEXT_FRAMING: 13 + 8 = 21
EFFORTS = ("low", "medium", "high")
# A paragraph: sentences that open with a capital and end with a period, one space apart.
PARAGRAPH = re.compile(r"[A-Z][^.\n]*\.(?: [A-Z][^.\n]*\.)*")


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def call_for(body: dict[str, Any]) -> EngineCall:
    """Check a body as the pipeline does (via the wire form) and wrap it for an engine."""
    decoded = decode_body(json.dumps(body).encode())
    request = check_chat_request(decoded, VERSION, CARD)
    framing, response_format = CARD.prompt_framing, request.body.get("response_format")
    prompt = tokens.prompt_tokens(request.messages, request.tools, framing, response_format)
    return EngineCall(request=request, card=CARD, deployment="o3-mini", prompt_tokens=prompt)


def generator(server_seed: int = 0) -> Generator:
    return Generator(server_seed, IdSource(deterministic=True, fixed_created=1738281600))


def complete(body: dict[str, Any], server_seed: int = 0) -> Completion:
    return generator(server_seed).complete(call_for(body))


def contents(completion: Completion) -> list[str]:
    return [choice.content or "" for choice in completion.choices]


_question = st.text(st.characters(codec="utf-8"), min_size=1, max_size=200)
_words_question = st.lists(
    st.from_regex(r"[A-Za-z]{1,12}", fullmatch=True), min_size=1, max_size=25
).map(" ".join)


# --- determinism ------------------------------------------------------------------------


def test_same_request_same_completion() -> None:
    body = {"messages": [user("How do I write a Python API?")]}
    first, second = complete(body), complete(body)
    assert first == second
    same = generator(0)
    assert same.complete(call_for(body)) == same.complete(call_for(body)) == first


def test_different_server_seed_different_content() -> None:
    body = {"messages": [user("How do I write a Python API?")]}
    assert contents(complete(body, 0)) != contents(complete(body, 1))
    assert contents(complete(body, 1)) == contents(complete(body, 1))


def test_seed_parameter_changes_content() -> None:
    question = [user("How do I write a Python API?")]
    unseeded = contents(complete({"messages": question}))
    seeded_1 = contents(complete({"messages": question, "seed": 1}))
    seeded_2 = contents(complete({"messages": question, "seed": 2}))
    assert len({tuple(unseeded), tuple(seeded_1), tuple(seeded_2)}) == 3
    assert contents(complete({"messages": question, "seed": 1})) == seeded_1


def test_budget_fields_do_not_change_the_text() -> None:
    question = [user("Explain database indexes in detail please")]
    plain = contents(complete({"messages": question}))[0]
    effort = contents(complete({"messages": question, "reasoning_effort": "high"}))[0]
    roomy = contents(complete({"messages": question, "max_completion_tokens": 90_000}))[0]
    assert plain == effort == roomy


def test_n_gives_distinct_choices() -> None:
    completion = complete({"messages": [user("Name some sorting algorithms")], "n": 4})
    assert [choice.index for choice in completion.choices] == [0, 1, 2, 3]
    assert len(set(contents(completion))) == 4
    assert all(choice.finish_reason == "stop" for choice in completion.choices)


def test_first_of_n_is_the_single_choice() -> None:
    question = [user("Name some sorting algorithms")]
    single = complete({"messages": question})
    several = complete({"messages": question, "n": 3})
    assert contents(several)[0] == contents(single)[0]
    assert several.usage.reasoning_tokens == 3 * single.usage.reasoning_tokens


def test_completion_names_the_model() -> None:
    completion = complete({"messages": [user("hi")]})
    assert completion.model == "o3-mini-2025-01-31"
    assert completion.system_fingerprint == CARD.system_fingerprint


def test_usage_prompt_tokens_is_the_call_prompt_size() -> None:
    body = {"messages": [user("What steps should I think about when writing my first Python API?")]}
    # 19 on o3-mini, which opens the reply with 2 tokens where o1 (the Azure doc's 20) uses 3:
    # real o3-mini bills 13 for "What is the capital of France?" (crewai's recording).
    assert complete(body).usage.prompt_tokens == 19


# --- reasoning --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(question=_question, seed=st.none() | st.integers(0, 2**31))
def test_reasoning_never_shrinks_with_effort(question: str, seed: int | None) -> None:
    """Real o3-mini spends 64 on "What is the capital of France?" even on high effort
    (crewai's recording): a trivial prompt may cost the same on every effort."""
    spent = []
    for effort in EFFORTS:
        body: dict[str, Any] = {"messages": [user(question)], "reasoning_effort": effort}
        if seed is not None:
            body["seed"] = seed
        reasoning = complete(body).usage.reasoning_tokens
        assert reasoning >= GRANULE
        assert reasoning % GRANULE == 0
        spent.append(reasoning)
    assert spent[0] <= spent[1] <= spent[2]


def test_default_effort_is_medium() -> None:
    question = [user("What is a monad?")]
    default = complete({"messages": question}).usage.reasoning_tokens
    medium = complete({"messages": question, "reasoning_effort": "medium"}).usage.reasoning_tokens
    assert default == medium


# --- the budget -------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    question=_question,
    effort=st.sampled_from(EFFORTS),
    n=st.integers(1, 3),
    budget=st.one_of(st.integers(1, 700), st.integers(1, 7000)),
)
def test_budget_rules(question: str, effort: str, n: int, budget: int) -> None:
    base = {"messages": [user(question)], "reasoning_effort": effort, "n": n}
    full = complete(base)
    cut = complete({**base, "max_completion_tokens": budget})

    per_choice_reasoning, remainder = divmod(cut.usage.reasoning_tokens, n)
    assert remainder == 0
    full_reasoning = full.usage.reasoning_tokens // n
    assert per_choice_reasoning == min(full_reasoning, budget)
    if per_choice_reasoning < budget:
        assert per_choice_reasoning % GRANULE == 0

    # The framing counts inside the budget (OpenAI's reasoning guide: "reasoning tokens,
    # visible output tokens, and non-visible formatting tokens"); a cut reply bills the
    # whole budget, as o1-mini's and o4-mini's forum reports and the gpt-35-turbo recording.
    spent = [
        budget
        if choice.finish_reason == "length"
        else per_choice_reasoning + TEXT_FRAMING + len(tokens.encode(choice.content or ""))
        for choice in cut.choices
    ]
    assert all(choice_spent <= budget for choice_spent in spent)
    assert cut.usage.completion_tokens == sum(spent)

    if per_choice_reasoning + TEXT_FRAMING >= budget:
        for choice in cut.choices:
            assert choice.content == ""
            assert choice.finish_reason == "length"
        assert cut.usage.completion_tokens == budget * n
    if per_choice_reasoning >= budget:
        assert cut.usage.reasoning_tokens == cut.usage.completion_tokens

    for uncut_text, choice in zip(contents(full), cut.choices, strict=True):
        text = choice.content or ""
        assert uncut_text.startswith(text)
        if choice.finish_reason == "stop":
            assert text == uncut_text
        else:
            assert choice.finish_reason == "length"
            assert text != uncut_text


@settings(max_examples=200, deadline=None)
@given(question=_question, effort=st.sampled_from(EFFORTS), n=st.integers(1, 4))
def test_completion_tokens_are_reasoning_framing_and_visible(
    question: str, effort: str, n: int
) -> None:
    completion = complete({"messages": [user(question)], "reasoning_effort": effort, "n": n})
    per_choice_reasoning = completion.usage.reasoning_tokens // n
    visible = sum(len(tokens.encode(text)) for text in contents(completion))
    # Real o3-mini: 87 = 64 + 13 + 10 for "Hello there! How can I help you today?".
    assert completion.usage.completion_tokens == n * (per_choice_reasoning + TEXT_FRAMING) + visible
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_budget_exactly_the_reasoning_leaves_no_visible_text() -> None:
    question = [user("Why is the sky blue?")]
    reasoning = complete({"messages": question}).usage.reasoning_tokens
    cut = complete({"messages": question, "max_completion_tokens": reasoning})
    assert cut.choices[0].content == ""
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage.completion_tokens == cut.usage.reasoning_tokens == reasoning


@pytest.mark.parametrize("over", [1, TEXT_FRAMING - 1, TEXT_FRAMING])
def test_the_framing_is_paid_before_the_first_visible_token(over: int) -> None:
    """The hidden framing counts inside max_completion_tokens: a budget that leaves room
    for it and nothing more is a cut, empty reply billed the whole budget."""
    question = [user("Why is the sky blue?")]
    reasoning = complete({"messages": question}).usage.reasoning_tokens
    cut = complete({"messages": question, "max_completion_tokens": reasoning + over})
    assert cut.choices[0].content == ""
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage.completion_tokens == reasoning + over
    assert cut.usage.reasoning_tokens == reasoning


def test_one_visible_token_past_the_reasoning_and_framing() -> None:
    question = [user("Why is the sky blue?")]
    full = complete({"messages": question})
    reasoning = full.usage.reasoning_tokens
    budget = reasoning + TEXT_FRAMING + 1
    cut = complete({"messages": question, "max_completion_tokens": budget})
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage.completion_tokens == budget
    first_token = tokens.encode(contents(full)[0])[:1]
    assert cut.choices[0].content == tokens.decode(first_token)
    # A budget of exactly what the whole answer costs does not cut it.
    fits = complete({"messages": question, "max_completion_tokens": full.usage.completion_tokens})
    assert (fits.choices, fits.usage) == (full.choices, full.usage)


# --- tool calls and refusals ------------------------------------------------------------

CUSTOMERS_TOOL = {
    "type": "function",
    "function": {
        "name": "comapny_customer_data",
        "description": "Useful for getting customer related data.",
        "parameters": {"properties": {}, "type": "object"},
    },
}


def scripted(body: dict[str, Any], script: Script) -> Completion:
    return generator(0).complete(dataclasses.replace(call_for(body), script=script))


def _call_tokens(completion: Completion) -> int:
    calls = completion.choices[0].tool_calls
    return sum(tokens.count(call.name) + tokens.count(call.arguments) for call in calls)


def test_a_tool_call_bills_its_framing_name_and_arguments() -> None:
    """Real o3-mini: 347 = 320 reasoning + 21 + 5 (the name) + 1 ("{}"), crewai's recording."""
    body = {"messages": [user("How many customers?")], "tools": [CUSTOMERS_TOOL]}
    completion = complete({**body, "tool_choice": "required"})
    assert completion.choices[0].tool_calls
    expected = TEXT_FRAMING + CALL_FRAMING + _call_tokens(completion)
    assert completion.usage.completion_tokens == completion.usage.reasoning_tokens + expected


@pytest.mark.parametrize("count", [1, 2, 3])
def test_each_scripted_tool_call_adds_its_framing(count: int) -> None:
    body = {"messages": [user("How many customers?")], "tools": [CUSTOMERS_TOOL]}
    script = Script(tool_calls=(("comapny_customer_data", "{}"),) * count)
    completion = scripted(body, script)
    assert len(completion.choices[0].tool_calls) == count
    hidden = TEXT_FRAMING + CALL_FRAMING * count
    visible = _call_tokens(completion)
    assert (
        completion.usage.completion_tokens == completion.usage.reasoning_tokens + hidden + visible
    )


def test_a_tool_call_without_room_for_its_framing_is_an_empty_cut_reply() -> None:
    body = {"messages": [user("How many customers?")], "tools": [CUSTOMERS_TOOL]}
    reasoning = complete(body).usage.reasoning_tokens
    budget = reasoning + TEXT_FRAMING + CALL_FRAMING
    cut = complete({**body, "tool_choice": "required", "max_completion_tokens": budget})
    assert cut.choices[0].tool_calls == ()
    assert (cut.choices[0].content, cut.choices[0].finish_reason) == ("", "length")
    assert cut.usage.completion_tokens == budget


def test_a_refusal_is_framed_as_a_text_answer_and_cut_by_the_budget() -> None:
    body: dict[str, Any] = {"messages": [user("Do something bad")]}
    refusal = "I'm sorry, but I can't help with that."
    whole = scripted(body, Script(refusal=refusal))
    visible = tokens.count(refusal)
    assert whole.choices[0].refusal == refusal
    assert whole.usage.completion_tokens == whole.usage.reasoning_tokens + TEXT_FRAMING + visible
    budget = whole.usage.completion_tokens - 1
    cut = scripted({**body, "max_completion_tokens": budget}, Script(refusal=refusal))
    assert cut.choices[0].finish_reason == "length"
    assert cut.choices[0].refusal == tokens.decode(tokens.encode(refusal)[: visible - 1])
    assert cut.usage.completion_tokens == budget


# --- stop sequences ---------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(question=_question, data=st.data())
def test_stop_sequences_cut_before_the_first_occurrence(question: str, data: st.DataObject) -> None:
    base: dict[str, Any] = {"messages": [user(question)]}
    text = contents(complete(base))[0]
    assert text

    def piece() -> str:
        start = data.draw(st.integers(0, len(text) - 1))
        length = data.draw(st.integers(1, 12))
        return text[start : start + length]

    stops = data.draw(
        st.lists(
            st.one_of(st.builds(piece), st.sampled_from(["zzqx", "\n\n", ". ", "The"])),
            min_size=1,
            max_size=4,
        )
    )
    stop: str | list[str] = stops[0] if len(stops) == 1 and data.draw(st.booleans()) else stops
    cut = complete({**base, "stop": stop})

    positions = [text.find(s) for s in stops if text.find(s) >= 0]
    expected = text[: min(positions)] if positions else text
    assert cut.choices[0].content == expected
    assert cut.choices[0].finish_reason == "stop"
    for s in stops:
        assert s not in expected
    visible = len(tokens.encode(expected))
    assert cut.usage.completion_tokens == cut.usage.reasoning_tokens + TEXT_FRAMING + visible


def test_stop_absent_from_the_text_changes_nothing() -> None:
    base: dict[str, Any] = {"messages": [user("Tell me about compilers")]}
    assert contents(complete({**base, "stop": ["@@@@"]})) == contents(complete(base))


# --- the prose --------------------------------------------------------------------------


def test_content_length_varies_across_requests() -> None:
    lengths = {
        len(contents(complete({"messages": [user(f"Question number {i} about caching")]}))[0])
        for i in range(30)
    }
    assert len(lengths) >= 10


def _assert_english_prose(text: str) -> None:
    assert text.strip() == text
    assert text
    for paragraph in text.split("\n\n"):
        assert PARAGRAPH.fullmatch(paragraph), paragraph
        for word in paragraph.split():
            # Compounds ("client-server", "planning/management") and business jargon
            # ("B2B", "24/7") and possessives ("barrister's") are words too.
            for piece in re.split(r"[-/']", word.strip(".,()'")):
                assert piece.isalnum(), (word, paragraph)


@settings(max_examples=200, deadline=None)
@given(question=st.one_of(_question, _words_question), n=st.integers(1, 3))
def test_text_is_english_prose(question: str, n: int) -> None:
    for text in contents(complete({"messages": [user(question)], "n": n})):
        _assert_english_prose(text)


def test_prose_is_not_lorem_ipsum() -> None:
    text = " ".join(contents(complete({"messages": [user("Explain HTTP caching")], "n": 8})))
    lowered = set(re.findall(r"[a-z]+", text.lower()))
    assert not lowered & {"lorem", "ipsum", "dolor", "consectetur", "adipiscing"}
    assert {"the", "to"} <= lowered


@pytest.mark.parametrize("effort", EFFORTS)
def test_long_prompts_reason_more_than_short_ones(effort: str) -> None:
    long = {"messages": [user("word " * 30_000)], "reasoning_effort": effort}
    short = {"messages": [user("word " * 3)], "reasoning_effort": effort}
    reasoning = complete(long).usage.reasoning_tokens
    assert reasoning > complete(short).usage.reasoning_tokens
    assert reasoning % GRANULE == 0


# --- integral floats --------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra", [{"n": 2.0}, {"max_completion_tokens": 100.0}, {"n": 1e2}, {"seed": 1.0}]
)
def test_integral_floats_are_refused_or_treated_as_integers(extra: dict[str, Any]) -> None:
    """JSON `2.0` passes the integer check; then it must behave as 2, not crash the engine."""
    body = {"messages": [user("hi")], **extra}
    try:
        call = call_for(body)
    except AzureError as error:
        assert error.status == 400
        return
    completion = generator(0).complete(call)
    assert len(completion.choices) == int(extra.get("n", 1))
    budget = extra.get("max_completion_tokens")
    if budget is not None:
        assert completion.usage.completion_tokens <= budget


HUGE_TOOL = {
    "type": "function",
    "function": {
        "name": "f",
        "parameters": {
            "type": "object",
            "properties": {
                "a": {"type": "array", "items": {"type": "integer"}, "minItems": 1_000_000_000}
            },
            "required": ["a"],
        },
    },
}
HUGE_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "out",
        "schema": {
            "type": "object",
            "properties": {"text": {"type": "string", "minLength": 100_000_000}},
            "required": ["text"],
        },
    },
}


@pytest.mark.parametrize("n", [1, 8])
def test_choices_of_a_schema_no_value_fits_share_one_cut_text(n: int) -> None:
    """Each choice would be cut at the budget whatever its seed: they carry the same text,
    written once, and each bills the whole limit."""
    body = {"messages": [user("hello")], "tools": [HUGE_TOOL], "tool_choice": "required"}
    single = complete({**body, "max_completion_tokens": 3000})
    several = complete({**body, "max_completion_tokens": 3000, "n": n})
    texts = [call.arguments for choice in several.choices for call in choice.tool_calls]
    assert len(texts) == n
    assert all(text is texts[0] for text in texts)  # one string, not n equal ones
    assert texts[0] == single.choices[0].tool_calls[0].arguments
    assert {choice.finish_reason for choice in several.choices} == {"length"}
    assert several.usage.completion_tokens == n * 3000
    ids = {call.id for choice in several.choices for call in choice.tool_calls}
    assert len(ids) == n  # each choice's call has its own id


def test_structured_outputs_no_value_fits_share_one_cut_text() -> None:
    body = {"messages": [user("hello")], "response_format": HUGE_FORMAT, "n": 4}
    completion = complete({**body, "max_completion_tokens": 3000})
    texts = contents(completion)
    assert all(text is texts[0] for text in texts)
    assert {choice.finish_reason for choice in completion.choices} == {"length"}
    assert completion.usage.completion_tokens == 4 * 3000
