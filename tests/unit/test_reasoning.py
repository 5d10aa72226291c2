"""The reasoning model: how many reasoning tokens o3-mini spends, from the request alone.

The recorded cases themselves are replayed end to end in tests/sdk/test_real_o3mini_usage.py;
these tests pin the shape of the model: multiples of 64, more for a longer or harder turn,
for tools and schemas, less once a tool has answered, more with effort where it matters.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.contract.model_card import load_model_card
from mockserver.tokens.reasoning import Turn, difficulty, reasoning_tokens

PROFILE = load_model_card("o3-mini").reasoning_profile
GRANULE = 64
STEADY = bytes([1]) + bytes(31)  # a digest whose jitter is 0 (1 % 3 - 1)
EFFORTS = ("low", "medium", "high")
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], **extra}


def spent(body: dict[str, Any], effort: str = "medium", digest: bytes = STEADY) -> int:
    return reasoning_tokens(PROFILE, effort, body, digest)


def test_everyday_prompts_cost_what_real_o3mini_spends() -> None:
    """Recorded o3-mini values (within the factor of 2 the replay test asserts)."""
    # pydantic-ai__test_max_completion_tokens[o3-mini].yaml: 64 for "hello".
    assert spent(ask("hello")) == 64
    # crewai__test_o3_mini_reasoning_effort_high.yaml: 64 on high effort.
    assert spent(ask("What is the capital of France?"), "high") <= 128
    # pydantic-ai__test_reasoning_model_with_temperature.yaml: 192 for the same question
    # about Mexico on medium; the mock gives both questions the same 128.
    assert spent(ask("What is the capital of Mexico?")) == 128
    # pydantic-ai__test_stop_settings[openai].yaml: 448 for a question with a constraint.
    paris = (
        'What is the capital of France? Give me an answer that contains the word "Paris", '
        "but is not the first word."
    )
    assert 224 <= spent(ask(paris)) <= 896


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=300),
    effort=st.sampled_from(EFFORTS),
    digest=st.binary(min_size=32, max_size=32),
)
def test_reasoning_is_a_positive_multiple_of_the_granule(
    text: str, effort: str, digest: bytes
) -> None:
    reasoning = spent(ask(text), effort, digest)
    assert reasoning >= GRANULE
    assert reasoning % GRANULE == 0
    assert reasoning == spent(ask(text), effort, digest)


def test_a_longer_turn_reasons_more() -> None:
    assert spent(ask("word " * 10)) < spent(ask("word " * 1000)) < spent(ask("word " * 100_000))


def test_constraints_in_the_ask_add_reasoning() -> None:
    plain = "Name a fruit that is red and sweet and grows on trees in cold places."
    constrained = 'Name a fruit that is "red", but not sweet, and only grows on trees, never cold.'
    assert spent(ask(constrained)) > spent(ask(plain))


def test_constraints_are_read_at_the_end_and_capped() -> None:
    """A long document full of "not" does not make the model think for ever: only the
    last `constraint_window` characters are read, and at most `max_constraints` count."""
    document = "This is not that, but not this either. " * 20_000
    assert spent(ask(document)) <= spent(ask("x " * 200_000)) + PROFILE.max_constraints * 64


def test_offered_tools_and_schemas_add_reasoning() -> None:
    question = "What is the weather like in Paris today?"
    schema = {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}}}
    assert spent(ask(question, tools=[WEATHER_TOOL])) > spent(ask(question))
    assert spent(ask(question, response_format=schema)) > spent(ask(question))
    refused = ask(question, tools=[WEATHER_TOOL], tool_choice="none")
    assert spent(refused) == spent(ask(question))


def test_reporting_a_tool_result_reasons_less_than_choosing_the_tool() -> None:
    """crewAI's o3-mini recording: 320 to choose the tool, 128 to report its result."""
    question = "What is the weather like in Paris today? Answer only with facts, not guesses."
    choosing = ask(question, tools=[WEATHER_TOOL])
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    reporting = {
        "messages": [
            *choosing["messages"],
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "Sunny, 21 degrees"},
        ],
        "tools": [WEATHER_TOOL],
    }
    assert spent(reporting) < spent(choosing)


def test_the_turn_is_what_follows_the_assistants_last_message() -> None:
    history = [{"role": "user", "content": "word " * 5000}, {"role": "assistant", "content": "ok"}]
    turn = Turn.of([*history, {"role": "user", "content": "thanks"}], PROFILE.constraint_window)
    assert turn.text == "thanks"
    assert not turn.brings_tool_results
    follow_up = {"messages": [*history, {"role": "user", "content": "thanks"}]}
    assert spent(follow_up) == spent(ask("thanks"))


def test_effort_multiplies_the_reasoning_of_a_hard_prompt() -> None:
    hard = ask(
        "Prove that the sum of two odd numbers is even, but do not use algebra, only words, "
        "and never more than three sentences. " + "Context: " + "numbers " * 400
    )
    low, medium, high = (spent(hard, effort) for effort in EFFORTS)
    assert low < medium < high
    assert high >= 2 * low


def test_a_trivial_prompt_costs_little_on_every_effort() -> None:
    for effort in EFFORTS:
        assert spent(ask("hello"), effort) == 64


def test_long_reasoning_varies_by_one_granule_with_the_request() -> None:
    hard = ask('Explain "quicksort", but not with code, and only in exactly five steps.')
    counts = {spent(hard, "high", bytes([first]) + bytes(31)) for first in range(3)}
    middle = spent(hard, "high", STEADY)
    assert counts == {middle - GRANULE, middle, middle + GRANULE}
    assert difficulty(PROFILE, hard) > 0


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.text(max_size=30), min_size=1, max_size=6), window=st.integers(1, 80))
def test_the_turn_keeps_the_last_characters_of_its_text(texts: list[str], window: int) -> None:
    messages = [{"role": "user", "content": text} for text in texts]
    assert Turn.of(messages, window).text == "\n".join(texts)[-window:]
