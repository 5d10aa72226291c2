"""The fixed battery of probe requests `contract verify` sends to both sides.

Each probe is one request on the dated route
(`POST {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=V`), chosen
to exercise one behaviour the mock claims to share with Azure:

- `plain`: one user message, `reasoning_effort: low`, a 4,000-token budget. Azure: 200.
- `unsupported-<name>`: one probe per parameter the o3-mini model card refuses
  (`max_tokens`, `temperature`, `top_p`, `presence_penalty`, `frequency_penalty`,
  `top_logprobs`, `logit_bias`, `parallel_tool_calls`, `audio`, `prediction`,
  `data_sources`). Azure: 400 `unsupported_parameter`.
- `forbidden-logprobs`: `logprobs: true`. Azure: 403 (the o4-mini capture).
- `reasoning-effort-invalid`: `reasoning_effort: "extreme"`. Azure: 400 `invalid_value`.
- `context-length-exceeded`: a prompt of 200,001+ tokens. Azure: 400
  `context_length_exceeded`.
- `max-completion-tokens-too-large`: `max_completion_tokens: 100001`. Azure: 400.
- `stream-include-usage`: `stream: true` with `stream_options.include_usage`. Azure: 200,
  SSE frames ending with a usage frame and `[DONE]`.
- `tool-call-named`: a `get_weather` tool and `tool_choice` naming it. Azure: a tool call.
- `structured-output-strict`: `response_format` `json_schema`, strict. Azure: JSON content.
- `unknown-deployment`: a deployment that does not exist. Azure: 404 `DeploymentNotFound`.
- `missing-api-version`: no `api-version` query parameter. Azure: 404 "Resource not found".

Every user message ends with `(mockserver drift probe <name>)`, so a stub can answer one
probe (`{"last_user_message": {"contains": "drift probe plain)"}}`). The battery costs
little on a real deployment: two short completions, one short stream and a tool call
are answered; the other probes are refused before the model runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from mockserver.contract.model_card import load_model_card

DEFAULT_API_VERSION = "2025-04-01-preview"
MODEL = "o3-mini"
UNKNOWN_DEPLOYMENT = "mockserver-drift-no-such-deployment"
# " hello" is one o200k_base token: this prompt is over the 200,000-token context window.
OVERSIZED_PROMPT = "hello" + " hello" * 200_000
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
# A value of the right type for each parameter o3-mini refuses, so only the refusal differs.
UNSUPPORTED_VALUES: dict[str, Any] = {
    "max_tokens": 100,
    "temperature": 0.5,
    "top_p": 0.5,
    "presence_penalty": 0.5,
    "frequency_penalty": 0.5,
    "logprobs": True,
    "top_logprobs": 2,
    "logit_bias": {"1734": -100},
    "parallel_tool_calls": False,
    "audio": {"voice": "alloy", "format": "wav"},
    "prediction": {"type": "content", "content": "Hello."},
    "data_sources": [
        {
            "type": "azure_search",
            "parameters": {
                "endpoint": "https://search.invalid",
                "index_name": "probe",
                "authentication": {"type": "api_key", "key": "probe"},
            },
        }
    ],
}
# Parameters that are only meaningful beside others: sent with them.
UNSUPPORTED_COMPANIONS: dict[str, dict[str, Any]] = {
    "parallel_tool_calls": {"tools": [WEATHER_TOOL]},
}


@dataclass(frozen=True)
class Target:
    """One side of the comparison: an endpoint root, its key, deployment and api-version."""

    base_url: str  # e.g. https://my-resource.openai.azure.com (no trailing path)
    api_key: str
    deployment: str
    api_version: str = DEFAULT_API_VERSION


@dataclass(frozen=True)
class Probe:
    """One request of the battery."""

    name: str
    description: str
    body: dict[str, Any]
    deployment: str | None = None  # None: the target's deployment
    with_api_version: bool = True
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    def url(self, target: Target) -> str:
        deployment = quote(self.deployment or target.deployment, safe="")
        url = f"{target.base_url.rstrip('/')}/openai/deployments/{deployment}/chat/completions"
        if self.with_api_version:
            url += f"?api-version={quote(target.api_version, safe='')}"
        return url


def marker(name: str) -> str:
    """The text every message of probe `name` ends with."""
    return f"(mockserver drift probe {name})"


def _messages(name: str, text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": f"{text} {marker(name)}"}]


def _probe(name: str, description: str, text: str, **params: Any) -> Probe:
    return Probe(name, description, {"messages": _messages(name, text), **params})


def battery() -> tuple[Probe, ...]:
    """The probes, in the order they are sent."""
    return (
        _probe(
            "plain",
            "a plain successful completion",
            "Name three rivers of Europe.",
            reasoning_effort="low",
            max_completion_tokens=4000,
        ),
        *unsupported_parameter_probes(),
        *forbidden_parameter_probes(),
        *_limit_probes(),
        *_feature_probes(),
        *_gateway_probes(),
    )


def unsupported_parameter_probes() -> list[Probe]:
    """One probe per parameter the o3-mini model card refuses."""
    card = load_model_card(MODEL)
    return [
        _probe(
            f"unsupported-{name.replace('_', '-')}",
            f"the unsupported parameter {name}",
            "Say hello.",
            **{name: UNSUPPORTED_VALUES[name], **UNSUPPORTED_COMPANIONS.get(name, {})},
        )
        for name in card.unsupported_parameters
    ]


def forbidden_parameter_probes() -> list[Probe]:
    """One probe per parameter the o3-mini model card answers with a 403."""
    card = load_model_card(MODEL)
    return [
        _probe(
            f"forbidden-{name.replace('_', '-')}",
            f"the forbidden parameter {name}",
            "Say hello.",
            **{name: UNSUPPORTED_VALUES[name]},
        )
        for name in card.forbidden_parameters
    ]


def _limit_probes() -> list[Probe]:
    return [
        _probe(
            "reasoning-effort-invalid",
            "reasoning_effort outside low/medium/high",
            "Say hello.",
            reasoning_effort="extreme",
        ),
        Probe(
            "context-length-exceeded",
            "a prompt over the 200,000-token context window",
            {"messages": _messages("context-length-exceeded", OVERSIZED_PROMPT)},
        ),
        _probe(
            "max-completion-tokens-too-large",
            "max_completion_tokens over the 100,000-token output limit",
            "Say hello.",
            max_completion_tokens=100_001,
        ),
    ]


def _feature_probes() -> list[Probe]:
    schema = {
        "type": "object",
        "properties": {"rivers": {"type": "array", "items": {"type": "string"}}},
        "required": ["rivers"],
        "additionalProperties": False,
    }
    return [
        _probe(
            "stream-include-usage",
            "a stream with stream_options.include_usage",
            "Name three rivers of Europe.",
            reasoning_effort="low",
            max_completion_tokens=4000,
            stream=True,
            stream_options={"include_usage": True},
        ),
        _probe(
            "tool-call-named",
            "a tool call forced by tool_choice naming the function",
            "What is the weather in Paris?",
            reasoning_effort="low",
            tools=[WEATHER_TOOL],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        ),
        _probe(
            "structured-output-strict",
            "structured output with a strict json_schema",
            "Name three rivers of Europe.",
            reasoning_effort="low",
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "rivers", "strict": True, "schema": schema},
            },
        ),
    ]


def _gateway_probes() -> list[Probe]:
    return [
        Probe(
            "unknown-deployment",
            "a deployment that does not exist",
            {"messages": _messages("unknown-deployment", "Say hello.")},
            deployment=UNKNOWN_DEPLOYMENT,
        ),
        Probe(
            "missing-api-version",
            "no api-version query parameter",
            {"messages": _messages("missing-api-version", "Say hello.")},
            with_api_version=False,
        ),
    ]
