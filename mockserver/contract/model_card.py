"""Model cards: the limits, version and parameter rules of a model, as data in contracts/."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from mockserver.contract.data import contracts_dir, load_json
from mockserver.tokens.counting import PromptFraming
from mockserver.tokens.reasoning import ReasoningProfile


class ReasoningEffort(BaseModel):
    model_config = ConfigDict(frozen=True)

    supported: list[str]
    default: str
    known_elsewhere: list[str]


class CompletionFraming(BaseModel):
    """The hidden tokens a model bills for an answer besides its reasoning and visible
    tokens: the markers opening and closing it (evidence in the card's `$comment`)."""

    model_config = ConfigDict(frozen=True)

    answer_tokens: int = Field(ge=0)  # every answer, text or tool calls
    tokens_per_tool_call: int = Field(ge=0)  # each call adds its own

    def hidden_tokens(self, tool_calls: int) -> int:
        return self.answer_tokens + self.tokens_per_tool_call * tool_calls


class ModelCard(BaseModel):
    """What the service knows of one model (contracts/models/<name>.json)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    name: str
    version: str
    id: str
    created_at: int
    lifecycle_status: str
    encoding: str
    context_window: int
    max_output_tokens: int
    min_api_version: str
    system_fingerprint: str | None
    capabilities: dict[str, bool]
    unsupported_parameters: dict[str, str]
    # Values of refused parameters the service still takes: clients send them as defaults.
    accepted_defaults: dict[str, bool | int | float | str] = Field(default_factory=dict)
    forbidden_parameters: dict[str, str] = Field(default_factory=dict)  # answered with a 403
    supported_values: dict[str, list[str]] = Field(default_factory=dict)
    served_service_tier: str = "default"
    reasoning_effort: ReasoningEffort
    prompt_framing: PromptFraming  # how prompt tokens are billed (mockserver.tokens.counting)
    reasoning_profile: ReasoningProfile  # how much it reasons (mockserver.tokens.reasoning)
    completion_framing: CompletionFraming  # hidden tokens billed with each answer
    supported_content_parts: list[str]
    comment: str = Field(default="", alias="$comment")


@cache
def load_model_card(name: str) -> ModelCard:
    return ModelCard.model_validate(load_json(f"models/{name}.json"))


def known_models() -> list[str]:
    return sorted(path.stem for path in (contracts_dir() / "models").glob("*.json"))
