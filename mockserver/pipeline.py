"""The chat-completions path, in the order Azure checks a request, free of HTTP types.

gateway: api-version -> auth (both in mockserver.http.gateway, before any engine) ->
         deployment -> model/api-version gate
backend: JSON body -> schema of the api-version -> o3-mini rules -> token limits
answer:  engine chain -> completion (the route picks the wire shape: JSON or a stream)
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.config import Deployment
from mockserver.contract.api_versions import ApiVersion, resolve_dated, resolve_v1
from mockserver.contract.errors import catalogue_error, invalid_request
from mockserver.contract.model_card import ModelCard, load_model_card
from mockserver.contract.request import ChatRequest, check_chat_request, decode_body
from mockserver.engines.base import Effects, EngineCall
from mockserver.engines.generator import content_payload
from mockserver.engines.matching import RequestView
from mockserver.engines.reply import Completion
from mockserver.serialize.ids import ResponseIdentity
from mockserver.state import AppState
from mockserver.stores.quota import rate_limit_error
from mockserver.tokens import counting as tokens


@dataclass(frozen=True)
class IncomingCall:
    """What a route read off the HTTP request."""

    surface: str  # "dated" (/openai/deployments/...) or "v1" (/openai/v1/...)
    api_version: str | None
    headers: Mapping[str, str]
    body: bytes
    deployment: str | None = None  # from the path, on the dated surface


@dataclass(frozen=True)
class Target:
    """Where a request goes once the gateway let it through."""

    version: ApiVersion
    deployment_name: str
    deployment: Deployment
    card: ModelCard


@dataclass(frozen=True)
class Answer:
    """A checked request and its completion, ready for either wire shape."""

    request: ChatRequest
    completion: Completion
    identity: ResponseIdentity
    effects: Effects
    digest: bytes  # the request's identity: seeds the latency jitter


# Bodies longer than this have their prompt tokens counted off the event loop (tiktoken
# releases the GIL while it encodes; 64 KiB takes about 2 ms, a 32 MiB body a second).
PROMPT_BYTES_ON_LOOP = 64 * 1024


async def answer_chat(
    state: AppState, target: Target, body: dict[str, Any], call: IncomingCall, effects: Effects
) -> Answer:
    """The backend's part: check the body, count, answer."""
    request = check_chat_request(body, target.version, target.card)
    if len(call.body) > PROMPT_BYTES_ON_LOOP:
        digest, prompt = await asyncio.to_thread(content_facts, state, request, target.card)
    else:
        digest, prompt = content_facts(state, request, target.card)
    check_token_limits(request, prompt, target.card)
    _admit(state, target, prompt + (request.max_completion_tokens or 0))
    view = RequestView(call.surface, target.deployment_name, call.api_version, call.headers, body)
    engine_call = EngineCall(
        request, target.card, target.deployment_name, prompt, view, effects, digest=digest
    )
    completion = await state.engines.answer(engine_call)
    effects.usage = completion.usage
    spent_beyond_estimate = completion.usage.completion_tokens - (
        request.max_completion_tokens or 0
    )
    state.quota.spend(target.deployment_name, spent_beyond_estimate)
    return Answer(request, completion, state.ids.chat_completion(digest), effects, digest)


def content_facts(state: AppState, request: ChatRequest, card: ModelCard) -> tuple[bytes, int]:
    """The request's answer digest and its prompt tokens.

    Both are pure functions of the content fields, so they are memoised by their
    canonical bytes: a repeated prompt costs one hash of those bytes, not a SHA-256 and
    a token count again.
    """
    payload = content_payload(request, state.settings.seed)
    key = card.name.encode() + b"\n" + payload  # prompt tokens depend on the model's framing
    facts = state.content_facts.get(key)
    if facts is None:
        prompt = tokens.prompt_tokens(
            request.messages,
            request.tools,
            card.prompt_framing,
            request.body.get("response_format"),
        )
        facts = (hashlib.sha256(payload).digest(), prompt)
        state.content_facts.put(key, facts)
    return facts


def route_to_deployment(state: AppState, call: IncomingCall) -> tuple[Target, dict[str, Any]]:
    """The gateway's checks past the key (deployment, model gate), and the decoded body.

    On v1 the body names the deployment, so it is decoded first; on the dated surface a
    body that is not JSON is reported only after the gateway let the request through.
    """
    settings = state.settings
    dated = call.surface == "dated"
    version = resolve_dated(call.api_version) if dated else resolve_v1(call.api_version)
    body = None if dated else decode_body(call.body)
    name = (call.deployment or "") if dated else _v1_deployment_name(body or {})
    deployment = settings.deployments.get(name)
    if deployment is None:
        raise catalogue_error("DeploymentNotFound")
    card = load_model_card(deployment.model)
    if settings.model_api_version_gate and version.date < card.min_api_version[:10]:
        raise catalogue_error("ModelApiVersionTooOld", min_api_version=card.min_api_version)
    target = Target(version, name, deployment, card)
    return target, decode_body(call.body) if body is None else body


def _v1_deployment_name(body: dict[str, Any]) -> str:
    """On v1 the body's `model` names the deployment."""
    model = body.get("model")
    if not isinstance(model, str):
        raise invalid_request("you must provide a model parameter", None, None)
    return model


def check_token_limits(request: ChatRequest, prompt_tokens: int, card: ModelCard) -> None:
    requested = request.max_completion_tokens
    if requested is not None:
        _check_completion_budget(requested, card)
    if prompt_tokens > card.context_window:
        raise catalogue_error(
            "context_length_exceeded",
            context_window=card.context_window,
            prompt_tokens=prompt_tokens,
        )
    if requested is not None and prompt_tokens + requested > card.context_window:
        raise catalogue_error(
            "context_length_exceeded_with_completion",
            context_window=card.context_window,
            total_tokens=prompt_tokens + requested,
            prompt_tokens=prompt_tokens,
            completion_tokens=requested,
        )


def _check_completion_budget(requested: int, card: ModelCard) -> None:
    if requested < 1:
        raise invalid_request(
            "Invalid 'max_completion_tokens': integer below minimum value. Expected a value "
            f">= 1, but got {requested} instead.",
            "max_completion_tokens",
            "integer_below_min_value",
        )
    if requested > card.max_output_tokens:
        raise catalogue_error(
            "max_completion_tokens_too_large",
            requested=requested,
            max_output_tokens=card.max_output_tokens,
        )


def _admit(state: AppState, target: Target, estimate: int) -> None:
    """Charge the request's estimate; over the limit, Azure's 429 when quota is enforced."""
    enforced = target.deployment.enforce_quota
    if enforced is None:
        enforced = state.settings.enforce_quota
    refusal = state.quota.admit(target.deployment_name, target.deployment, estimate, enforced)
    if refusal is not None:
        raise rate_limit_error(refusal, target.version.name)
