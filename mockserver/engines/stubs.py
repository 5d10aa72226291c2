"""Stub rules: "when a request looks like this, answer like that", with scenarios.

    {"match": {"last_user_message": {"contains": "weather"}},
     "answer": {"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}},
     "times": 1, "priority": 1}

The first matching stub wins: lowest `priority` first, then the most recently added.
A stub with `times` answers that many requests and then stops matching. A stub in a
`scenario` matches only while the scenario is in `required_state`, and moves it to
`new_state` when it answers (WireMock's scenarios: "first a 429, then a success").
The stubs and scenario states are kept by mockserver.stores (StubStore, ScenarioStore).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from mockserver.contract.errors import catalogue_names
from mockserver.engines.matching import RequestMatch
from mockserver.faults.kinds import parse_fault
from mockserver.support.json_files import read_json_file
from mockserver.support.json_values import writable

ANSWER_KINDS = ("content", "tool_calls", "structured_output", "refusal", "error", "fault")


class ToolCallAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    arguments: Annotated[dict[str, Any] | str | None, AfterValidator(writable)] = Field(
        default=None,
        description="an object or a JSON string; omitted: generated from the tool's schema",
    )


# A day, the longest wait real 429s have asked for ("Please retry after 86400 seconds").
MAX_RETRY_AFTER_SECONDS = 86_400


class ErrorAnswer(BaseModel):
    """An Azure error: a catalogue name, or a status and body of your own."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, description="a name from the error catalogue")
    values: Annotated[dict[str, Any], AfterValidator(writable)] = Field(
        default_factory=dict, description="the name's placeholders"
    )
    status: int | None = Field(default=None, ge=400, le=599)
    body: Annotated[dict[str, Any] | None, AfterValidator(writable)] = None

    @model_validator(mode="after")
    def _name_or_body(self) -> ErrorAnswer:
        if (self.name is None) == (self.status is None or self.body is None):
            raise ValueError("give either name, or both status and body")
        if self.name is not None and self.name not in catalogue_names():
            raise ValueError(f"no error named {self.name!r}; known: {', '.join(catalogue_names())}")
        retry_after = self.values.get("retry_after", 0)
        if type(retry_after) is not int or not 0 <= retry_after <= MAX_RETRY_AFTER_SECONDS:
            # The message's N and the retry-after headers are made from it: whole seconds.
            raise ValueError(
                f"values.retry_after is whole seconds, 0 to {MAX_RETRY_AFTER_SECONDS}: "
                f"not {retry_after!r}"
            )
        return self


class UsageOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int | None = Field(default=None, ge=0, le=2**31)
    completion_tokens: int | None = Field(default=None, ge=0, le=2**31)
    reasoning_tokens: int | None = Field(default=None, ge=0, le=2**31)
    cached_tokens: int | None = Field(default=None, ge=0, le=2**31)


class StubAnswer(BaseModel):
    """One kind of answer, plus optional usage, content-filter verdict and delay."""

    model_config = ConfigDict(extra="forbid")

    content: str | None = None
    tool_calls: list[ToolCallAnswer] | None = None
    structured_output: Annotated[Any, AfterValidator(writable)] = Field(
        default=None, description="a JSON value sent as content"
    )
    refusal: str | None = None
    error: ErrorAnswer | None = None
    fault: str | None = Field(default=None, description="an x-mock-fault value")
    usage: UsageOverride | None = None
    content_filter: dict[str, Literal["low", "medium", "high"]] | None = Field(
        default=None,
        description="categories the output filter flags, e.g. {'violence': 'high'}: the "
        "choice ends with finish_reason content_filter",
    )
    delay_ms: int = Field(default=0, ge=0, le=600_000)

    @model_validator(mode="after")
    def _one_kind(self) -> StubAnswer:
        given = [kind for kind in ANSWER_KINDS if getattr(self, kind) is not None]
        if len(given) > 1:
            raise ValueError(f"give one kind of answer, not {', '.join(given)}")
        return self

    @field_validator("fault")
    @classmethod
    def _known_fault(cls, fault: str | None) -> str | None:
        if fault is not None:
            parse_fault(fault)
        return fault


class Stub(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    priority: int = Field(
        default=5, ge=-(2**31), le=2**31, description="lower answers first, as in WireMock"
    )
    times: int | None = Field(
        default=None, ge=1, le=2**31, description="answers this many; None: all"
    )
    match: RequestMatch = Field(default_factory=RequestMatch)
    answer: StubAnswer = Field(default_factory=StubAnswer)
    scenario: str | None = None
    required_state: str | None = None
    new_state: str | None = None
    answered: int = Field(
        default=0, ge=0, le=2**63 - 1, description="how many requests it has answered"
    )

    def exhausted(self) -> bool:
        return self.times is not None and self.answered >= self.times


class StubFileError(ValueError):
    """A stub file that is not JSON, or not stubs."""


def load_stub_files(directory: Path) -> list[Stub]:
    """Every `*.json` in `directory`: a stub, a list of stubs, or {"stubs": [...]}."""
    if not directory.is_dir():
        raise StubFileError(f"stubs directory {directory} does not exist")
    stubs: list[Stub] = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = read_json_file(path)
            items = data.get("stubs", [data]) if isinstance(data, dict) else data
            stubs.extend(Stub.model_validate(item) for item in items)
        except (ValueError, ValidationError, AttributeError, TypeError) as error:
            raise StubFileError(f"{path}: {error}") from None
    return stubs
