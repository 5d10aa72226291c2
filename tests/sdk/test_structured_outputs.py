"""Structured outputs through the `openai` SDK: json_schema, `.parse()`, json_object, and the
tool and output schemas of real recorded requests (crewAI cassettes), replayed."""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, cast

import openai
import pytest
from openai.lib._pydantic import to_strict_json_schema
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from pydantic import BaseModel, Field

from tests.contract.real_traffic import load_yaml
from tests.sdk.helpers import TOOL_CALL_ID
from tests.support.schemas import assert_valid
from tests.support.testdata import REAL_TRAFFIC

MODEL = "o3-mini"

TICKET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "priority": {"type": "string", "enum": ["low", "medium", "high"]},
        "due": {"type": "string", "format": "date"},
        "assignee": {"anyOf": [{"type": "string", "format": "email"}, {"type": "null"}]},
        "estimate_hours": {"type": "number", "minimum": 0, "maximum": 40},
        "labels": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"order": {"type": "integer"}, "text": {"type": "string"}},
                "required": ["order", "text"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["title", "priority", "due", "assignee", "estimate_hours", "labels", "steps"],
    "additionalProperties": False,
}
LOOSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "minLength": 10, "maxLength": 80},
        "sentiment": {"type": "string", "enum": ["positive", "neutral", "negative"]},
        "confidence": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "website": {"type": "string", "format": "uri"},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
    },
    "required": ["summary", "sentiment"],
}


def user(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


def json_schema_format(name: str, schema: dict[str, Any], strict: bool | None) -> Any:
    spec: dict[str, Any] = {"name": name, "schema": schema}
    if strict is not None:
        spec["strict"] = strict
    return {"type": "json_schema", "json_schema": spec}


def structured_content(completion: ChatCompletion) -> Any:
    """The JSON of a structured reply, after the shape checks every such reply passes."""
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.refusal is None
    assert choice.message.tool_calls is None
    assert isinstance(choice.message.content, str)
    text = choice.message.content
    assert text == json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
    return json.loads(text)


# --- response_format json_schema ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "strict"),
    [(TICKET_SCHEMA, True), (TICKET_SCHEMA, False), (TICKET_SCHEMA, None), (LOOSE_SCHEMA, None)],
    ids=["strict", "strict-false", "strict-unset", "non-strict-keywords"],
)
def test_json_schema_content_validates(
    client: openai.AzureOpenAI, schema: dict[str, Any], strict: bool | None
) -> None:
    for seed in range(5):
        completion = client.chat.completions.create(
            model=MODEL,
            messages=user("Turn this into a ticket: the login page is broken since Monday."),
            response_format=json_schema_format("ticket", schema, strict),
            seed=seed,
        )
        assert_valid(structured_content(completion), schema)


def test_json_schema_is_deterministic(client: openai.AzureOpenAI) -> None:
    request: dict[str, Any] = {
        "model": MODEL,
        "messages": user("Turn this into a ticket: the printer is on fire."),
        "response_format": json_schema_format("ticket", TICKET_SCHEMA, True),
    }
    first = client.chat.completions.create(**request).choices[0].message.content
    second = client.chat.completions.create(**request).choices[0].message.content
    assert first == second


def test_json_schema_with_n_2(client: openai.AzureOpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=user("Turn this into a ticket: the build is red."),
        response_format=json_schema_format("ticket", TICKET_SCHEMA, True),
        n=2,
    )
    assert len(completion.choices) == 2
    for choice in completion.choices:
        assert choice.finish_reason == "stop"
        assert choice.message.content is not None
        assert_valid(json.loads(choice.message.content), TICKET_SCHEMA)


def test_json_object_reply_is_a_dict(client: openai.AzureOpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=user("Describe the Eiffel Tower as a JSON object."),
        response_format={"type": "json_object"},
    )
    content = structured_content(completion)
    assert isinstance(content, dict)
    assert content


def test_json_object_word_in_system_message(client: openai.AzureOpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Always answer in JSON."},
            {"role": "user", "content": "Describe the Eiffel Tower."},
        ],
        response_format={"type": "json_object"},
    )
    assert isinstance(structured_content(completion), dict)


# --- .parse() with pydantic models --------------------------------------------------------------


class Currency(enum.StrEnum):
    EUR = "EUR"
    USD = "USD"
    GBP = "GBP"


class LineItem(BaseModel):
    description: str = Field(description="What was sold")
    quantity: int = Field(ge=1, le=1000)
    unit_price: float = Field(ge=0)
    sku: Optional[str] = None  # noqa: UP045 - the Optional spelling users write


class Address(BaseModel):
    street: str
    city: str
    postal_code: str
    country: str


class Invoice(BaseModel):
    invoice_number: str = Field(pattern=r"^INV-\d{4}$")
    id: uuid.UUID
    issued_on: dt.date
    due_at: dt.datetime | None = None
    currency: Currency
    status: Literal["draft", "sent", "paid"]
    billing_address: Address
    shipping_address: Address | None = None
    items: list[LineItem] = Field(description="The invoice lines")
    notes: str | None
    paid: bool


class Employee(BaseModel):
    name: str
    title: str
    reports: list[Employee]


class Department(BaseModel):
    """Nested $defs: Department -> Team -> Employee (recursive) and Address."""

    class Team(BaseModel):
        name: str
        lead: Employee
        office: Address | None

    name: str
    teams: list[Department.Team]
    headquarters: Address


Department.model_rebuild()

PARSE_MODELS: list[type[BaseModel]] = [Invoice, Department, Employee, LineItem]


def parse_methods(client: openai.AzureOpenAI) -> list[Any]:
    methods: list[Any] = [client.chat.completions.parse]
    beta = getattr(getattr(getattr(client, "beta", None), "chat", None), "completions", None)
    if beta is not None and hasattr(beta, "parse"):
        methods.append(beta.parse)
    return methods


@pytest.mark.parametrize("model", PARSE_MODELS, ids=lambda m: m.__name__)
def test_parse_returns_an_instance(client: openai.AzureOpenAI, model: type[BaseModel]) -> None:
    schema = to_strict_json_schema(model)
    for parse in parse_methods(client):
        for seed in range(3):
            completion = parse(
                model=MODEL,
                messages=user("Extract the data from the attached document."),
                response_format=model,
                seed=seed,
            )
            choice = completion.choices[0]
            assert choice.finish_reason == "stop"
            assert choice.message.refusal is None
            parsed = choice.message.parsed
            assert isinstance(parsed, model)
            assert_valid(json.loads(choice.message.content), schema)
            assert parsed == model.model_validate_json(choice.message.content)


def test_parse_invoice_is_populated(client: openai.AzureOpenAI) -> None:
    completion = client.chat.completions.parse(
        model=MODEL,
        messages=user("Extract the invoice from this email: ..."),
        response_format=Invoice,
    )
    invoice = completion.choices[0].message.parsed
    assert isinstance(invoice, Invoice)
    assert invoice.invoice_number.startswith("INV-")
    assert isinstance(invoice.id, uuid.UUID)
    assert isinstance(invoice.issued_on, dt.date)
    assert isinstance(invoice.currency, Currency)
    assert invoice.billing_address.city
    assert all(1 <= item.quantity <= 1000 for item in invoice.items)


def test_parse_sees_optional_fields_both_ways(client: openai.AzureOpenAI) -> None:
    """Over a few seeds, nullable fields come back both null and filled."""
    notes: set[bool] = set()
    for seed in range(12):
        invoice = (
            client.chat.completions.parse(
                model=MODEL,
                messages=user("Extract the invoice."),
                response_format=Invoice,
                seed=seed,
            )
            .choices[0]
            .message.parsed
        )
        assert invoice is not None
        notes.add(invoice.notes is None)
    assert notes == {True, False}


async def test_async_parse(async_client: openai.AsyncAzureOpenAI) -> None:
    async with async_client:
        completion = await async_client.chat.completions.parse(
            model=MODEL, messages=user("Extract the invoice."), response_format=Invoice
        )
    assert isinstance(completion.choices[0].message.parsed, Invoice)


def test_parse_with_a_strict_function_tool(client: openai.AzureOpenAI) -> None:
    """`openai.pydantic_function_tool` makes a strict tool; `.parse()` parses its arguments."""
    completion = client.chat.completions.parse(
        model=MODEL,
        messages=user("Record this invoice please."),
        tools=[openai.pydantic_function_tool(Invoice, name="record_invoice")],
        tool_choice="required",
    )
    message = completion.choices[0].message
    assert message.tool_calls is not None
    call = message.tool_calls[0]
    assert TOOL_CALL_ID.match(call.id)
    assert call.function.name == "record_invoice"
    assert isinstance(call.function.parsed_arguments, Invoice)


@pytest.mark.parametrize("budget", [1, 100])
def test_parse_with_a_tiny_budget_raises_length_error(
    client: openai.AzureOpenAI, budget: int
) -> None:
    with pytest.raises(openai.LengthFinishReasonError) as caught:
        client.chat.completions.parse(
            model=MODEL,
            messages=user("Extract the invoice."),
            response_format=Invoice,
            max_completion_tokens=budget,
        )
    completion = caught.value.completion
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == budget


# --- real recorded requests, replayed ----------------------------------------------------------


@dataclass(frozen=True)
class RecordedTurn:
    label: str
    body: dict[str, Any]  # the request as the client sent it
    tool_name: str | None  # the first tool the real service called; None: it sent a message


def _recorded_reply_tool(response: dict[str, Any]) -> str | None:
    body = response.get("body", response.get("content"))
    text = body.get("string") if isinstance(body, dict) else body
    assert isinstance(text, str)
    if text.lstrip().startswith("data:"):
        chunks = [
            json.loads(line[5:])
            for line in text.splitlines()
            if line.startswith("data:") and line.strip() != "data: [DONE]"
        ]
        deltas = [c["delta"] for chunk in chunks for c in chunk.get("choices", [])]
    else:
        deltas = [c["message"] for c in json.loads(text)["choices"]]
    names = [c["function"].get("name") for d in deltas for c in d.get("tool_calls") or []]
    return next((name for name in names if name), None)


def recorded_turns() -> list[RecordedTurn]:
    """Every crewAI request that carries tools or a response_format, with what came back."""
    real = REAL_TRAFFIC
    paths: list[Path] = [
        *sorted((real / "azure").glob("crewai__*.yaml")),
        real / "openai" / "crewai__test_agent_powered_by_new_o_model_family_that_uses_tool.yaml",
    ]
    turns = []
    for path in paths:
        for index, interaction in enumerate(load_yaml(path)["interactions"]):
            request = interaction["request"]
            raw = request["body"]
            body = json.loads(raw["string"] if isinstance(raw, dict) else raw)
            if "tools" in body or "response_format" in body:
                label = f"{path.parent.name}/{path.stem.removeprefix('crewai__')}[{index}]"
                reply = _recorded_reply_tool(interaction["response"])
                turns.append(RecordedTurn(label, body, reply))
    return turns


RECORDED = recorded_turns()


def test_the_recordings_hold_tools_and_schemas() -> None:
    assert len(RECORDED) >= 8
    assert sum("tools" in turn.body for turn in RECORDED) >= 6
    assert sum("response_format" in turn.body for turn in RECORDED) >= 2
    assert sum(turn.tool_name is not None for turn in RECORDED) >= 4


@pytest.mark.parametrize("turn", RECORDED, ids=lambda turn: turn.label)
def test_recorded_request_replayed(client: openai.AzureOpenAI, turn: RecordedTurn) -> None:
    """The recorded body, sent as-is to o3-mini (minus model and streaming): the mock answers
    with the kind of reply the real service gave, and the reply fits the recorded schemas."""
    body = {k: v for k, v in turn.body.items() if k not in ("model", "stream", "stream_options")}
    completion = client.chat.completions.create(model=MODEL, **body)
    choice = completion.choices[0]
    if turn.tool_name is not None:
        assert choice.finish_reason == "tool_calls"
        assert choice.message.tool_calls is not None
        call = cast(openai.types.chat.ChatCompletionMessageToolCall, choice.message.tool_calls[0])
        assert call.function.name == turn.tool_name
        tool = next(t for t in body["tools"] if t["function"]["name"] == turn.tool_name)
        assert_valid(json.loads(call.function.arguments), tool["function"]["parameters"])
        return
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert choice.message.content
    response_format = body.get("response_format")
    if response_format is not None:
        schema = response_format["json_schema"]["schema"]
        assert_valid(structured_content(completion), schema)


@pytest.mark.parametrize(
    "turn", [t for t in RECORDED if "response_format" in t.body], ids=lambda turn: turn.label
)
def test_recorded_output_schema_under_seeds(client: openai.AzureOpenAI, turn: RecordedTurn) -> None:
    """The recorded structured-output schema alone, strict, under several seeds."""
    response_format = turn.body["response_format"]
    schema = response_format["json_schema"]["schema"]
    for seed in range(4):
        completion = client.chat.completions.create(
            model=MODEL,
            messages=user("Analyze the benefits of remote work briefly."),
            response_format=response_format,
            seed=seed,
        )
        assert_valid(structured_content(completion), schema)


@pytest.mark.parametrize(
    ("label", "tool"),
    [
        (turn.label, tool)
        for turn in RECORDED
        if turn.label.endswith("[0]")
        for tool in turn.body.get("tools", [])
    ],
    ids=lambda value: value if isinstance(value, str) else value["function"]["name"],
)
def test_recorded_tool_schema_forced(
    client: openai.AzureOpenAI, label: str, tool: dict[str, Any]
) -> None:
    """Each recorded tool, named in tool_choice: arguments valid under several seeds."""
    name = tool["function"]["name"]
    for seed in range(4):
        completion = client.chat.completions.create(
            model=MODEL,
            messages=user("Go ahead."),
            tools=[cast(Any, tool)],
            tool_choice={"type": "function", "function": {"name": name}},
            seed=seed,
        )
        assert completion.choices[0].finish_reason == "stop", label
        calls = completion.choices[0].message.tool_calls
        assert calls is not None
        call = cast(openai.types.chat.ChatCompletionMessageToolCall, calls[0])
        assert call.function.name == name
        assert_valid(json.loads(call.function.arguments), tool["function"]["parameters"])
