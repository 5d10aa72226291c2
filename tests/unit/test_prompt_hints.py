"""What a question names and asks for, as schema values echo it (engines/prompt_hints.py)."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.engines.jsonschema_gen import generate_value
from mockserver.engines.prompt_hints import (
    QUESTION_CHARS,
    entities_in,
    hints_from_messages,
    hints_from_text,
    latest_result,
    singular,
)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("What is the weather in Paris?", ["Paris"]),
        (
            "Extract the people: Alice Martin is 31 and Bob Martin is 27.",
            ["Alice Martin", "Bob Martin"],
        ),
        ("Alice Martin is 31.", ["Alice Martin"]),
        ("Tell Bob the price of ACME stock.", ["Bob", "ACME"]),
        ("Book a flight from San Francisco to New York.", ["San Francisco", "New York"]),
        ("Paris is nice. I think Paris is nicer than Rome.", ["Paris", "Rome"]),
        ("Return ONLY the JSON, please.", []),
        ("Ask Dr. Zoë Smith-Jones at ACME Corp. List them.", ["Zoë Smith-Jones", "ACME Corp"]),
        ("Émile Zola wrote it.", ["Émile Zola"]),
        ("no capital letters here", []),
    ],
)
def test_entities_are_the_names_in_order(text: str, names: list[str]) -> None:
    assert entities_in(text) == names


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("people", "person"),
        ("cities", "city"),
        ("items", "item"),
        ("boxes", "box"),
        ("class", "class"),
    ],
)
def test_singular(word: str, expected: str) -> None:
    assert singular(word) == expected


def test_an_array_is_asked_for_by_its_name_or_a_listing_word() -> None:
    assert hints_from_text("Who are the people in this story?").asks_for("people")
    assert hints_from_text("Extract everything you can.").asks_for("records")
    assert not hints_from_text("Summarise this story.").asks_for("records")
    assert not hints_from_text("Summarise this story.").asks_for(None)


def test_the_query_is_the_question_without_its_mark() -> None:
    assert hints_from_text("Who won the Tour de France in 1989?").query == (
        "Who won the Tour de France in 1989"
    )


def test_only_the_question_s_start_is_read() -> None:
    text = "x " * QUESTION_CHARS + "Visit Lisbon."
    assert hints_from_text(text).entities == ()


def test_the_last_user_message_is_the_question() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are Helpful Bot."},
        {"role": "user", "content": "What about Rome?"},
        {"role": "assistant", "content": "It is sunny in Oslo."},
        {"role": "user", "content": [{"type": "text", "text": "And in Madrid?"}]},
    ]
    assert hints_from_messages(messages).entities == ("Madrid",)
    assert hints_from_messages([]).entities == ()


def test_without_hints_values_are_unchanged() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    assert generate_value(schema, 7) == generate_value(schema, 7, hints=hints_from_text(""))


def test_an_echoed_name_is_cut_to_the_schema_s_length() -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 5}},
        "required": ["name"],
    }
    value = generate_value(schema, 1, hints=hints_from_text("Extract Alexandra Smith."))
    assert value == {"name": "Alexa"}


def test_a_list_of_names_echoes_each() -> None:
    schema = {
        "type": "object",
        "properties": {"cities": {"type": "array", "items": {"type": "string"}}},
        "required": ["cities"],
    }
    hints = hints_from_text("List the cities: Lisbon, Porto and Braga.")
    assert generate_value(schema, 3, hints=hints) == {"cities": ["Lisbon", "Porto", "Braga"]}


RESULT = {"role": "tool", "tool_call_id": "call_1", "content": "The sky over Paris is clear."}
CALL = {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function"}]}


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([{"role": "user", "content": "q"}, CALL, RESULT], "The sky over Paris is clear."),
        ([CALL, RESULT, {"role": "user", "content": "Use it."}], "The sky over Paris is clear."),
        ([{"role": "user", "content": "Observation:\n  21 C,\nclear"}], "21 C, clear"),
        ([CALL, RESULT, {"role": "assistant", "content": "It is clear."}], ""),
        ([{"role": "user", "content": "q"}], ""),
    ],
    ids=["tool", "nudge-after", "observation", "answered", "none"],
)
def test_latest_result(messages: list[dict[str, object]], expected: str) -> None:
    assert latest_result(messages) == expected


@pytest.mark.parametrize("key", ["answer", "final_answer", "summary", "result"])
def test_a_final_answer_reports_the_latest_result(key: str) -> None:
    schema = {"type": "object", "properties": {key: {"type": "string"}}, "required": [key]}
    hints = hints_from_messages([{"role": "user", "content": "Weather?"}, CALL, RESULT])
    assert generate_value(schema, 1, hints=hints) == {key: "The sky over Paris is clear."}
