"""The one request path of every inference operation, free of HTTP types.

    x-mock-fault headers -> the engine chain: stub rules | replay | record | generator
    an engine that needs a checked request runs the checks, once:
        deployment and model gate -> seeded fault rates -> the operation parses its body
        -> o3-mini rules for the api-version -> prompt tokens and limits -> quota
    a completion: quota spent -> a stub's delay and fault -> the operation renders it
    a raw answer (replayed, relayed): goes as it is

The api-version and the key were checked before (`http.gateway`); the HTTP writer
carries out the `Outcome` (and the fault plan's damage); the journal reads the `Trace`.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any

from mockserver.config import Settings
from mockserver.contract.api_versions import resolve_dated, resolve_v1
from mockserver.contract.errors import AzureError, catalogue_error, invalid_request
from mockserver.contract.headers import model_headers
from mockserver.contract.model_card import ModelCard, load_model_card
from mockserver.contract.request import ChatRequest, check_chat_request, decode_body
from mockserver.engines.base import Asked, EngineCall
from mockserver.engines.generator import content_payload
from mockserver.engines.matching import RequestView
from mockserver.engines.replay import FixtureMissError
from mockserver.engines.reply import RawAnswer, Reply, Usage
from mockserver.faults import plan as fault_plan
from mockserver.faults.kinds import mock_header_error
from mockserver.faults.latency import (
    Latency,
    LatencyHeaderError,
    Pacer,
    latency_from_header,
    pacer_for,
    reply_seconds,
)
from mockserver.faults.plan import FaultPlan
from mockserver.operations.base import Answer, Call, Operation, Parsed, Rendered, Target
from mockserver.recordings.fixtures import RecordedRequest
from mockserver.serialize.sse import tokens_per_frame
from mockserver.state import AppState
from mockserver.stores.journal import ReplayMiss
from mockserver.stores.quota import rate_limit_error
from mockserver.tokens import counting as tokens

# Bodies longer than this have their prompt tokens counted off the event loop (tiktoken
# releases the GIL while it encodes; 64 KiB takes about 2 ms, a 32 MiB body a second).
PROMPT_BYTES_ON_LOOP = 64 * 1024


@dataclass
class Trace:
    """What the pipeline learnt of one request, for the journal and the metrics."""

    surface: str = ""
    deployment: str = ""
    json_body: dict[str, Any] | None = None  # as decoded, so the journal does not decode again
    source: str = "gateway"  # who answered, as the journal names it
    reply: Reply | None = None
    usage: Usage | None = None
    fault: str | None = None  # the kind of fault that acted (x-mock-fault, rates, a stub)
    replay_miss: ReplayMiss | None = None  # why no recording answered


@dataclass(frozen=True)
class Outcome:
    """What the pipeline decided; the HTTP writer carries it out."""

    plan: FaultPlan
    rendered: Rendered | None = None
    raw: RawAnswer | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0  # before a whole body
    pacer: Pacer | None = None  # between a stream's frames


class _FaultActsNow(Exception):  # noqa: N818 (control flow, not an error)
    """A fault ends the request where it was decided."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan


async def run(state: AppState, operation: Operation, call: Call, trace: Trace) -> Outcome:
    """Answer one inference request; raises the `AzureError` it is answered with."""
    trace.surface = call.surface
    plan = await fault_plan.from_headers(call.headers, state.stores(call.session).faults)
    try:
        if plan.acts_now:
            raise _FaultActsNow(plan)
        return await _Request(state, operation, call, trace, plan).answer()
    except _FaultActsNow as acting:
        trace.fault = acting.plan.kind
        return act_now(state, call, acting.plan)


def act_now(state: AppState, call: Call, plan: FaultPlan) -> Outcome:
    """A status or capacity fault is the error answered; a reset or a hang is the writer's."""
    retry_after_ms = state.settings.faults.retry_after_ms
    error = plan.error(call.request_id, call.api_version or "v1", retry_after_ms)
    if error is not None:
        raise error
    return Outcome(plan)


class _Request:
    """One request on its way: the checks run once, when an engine first needs them."""

    def __init__(
        self, state: AppState, operation: Operation, call: Call, trace: Trace, plan: FaultPlan
    ) -> None:
        self.state, self.operation, self.call, self.trace = state, operation, call, trace
        self.stores = state.stores(call.session)
        self.plan = plan
        self.target: Target | None = None  # once the deployment is known
        self.parsed: Parsed | None = None  # once the operation parsed the body
        self.latency: Latency | None = None  # asked with x-mock-latency
        self._checked: EngineCall | None = None
        self._refused: BaseException | None = None  # the checks' error, given to each engine

    async def answer(self) -> Outcome:
        try:
            reply = await self.state.engines.answer(self._asked())
        except FixtureMissError as miss:
            self.trace.source, self.trace.replay_miss = "fixture-miss", miss.nearest
            raise
        except AzureError as error:
            raise await self._in_model_words(error) from None
        self.trace.reply, self.trace.source = reply, reply.source
        self.trace.fault = self.plan.kind
        if reply.error is not None:
            raise await self._in_model_words(reply.error)
        if reply.raw is not None:
            return Outcome(self.plan, raw=reply.raw)
        return await self._completed(reply)

    def _asked(self) -> Asked:
        call = self.call
        in_path = self.operation.deployment_in_path(call)

        def view_of(body: dict[str, Any]) -> RequestView:
            named = in_path or str(body.get("model"))
            size = len(call.body)
            return RequestView(call.surface, named, call.api_version, call.headers, body, size)

        request = RecordedRequest(
            method=call.method, path=call.path, query=dict(call.query), headers=dict(call.headers)
        )
        return Asked(request, call.path_qs, call.body, view_of, self.check, self.stores)

    async def check(self) -> EngineCall:
        """The checks an engine needs before it answers; run once, their error kept."""
        if self._refused is not None:
            raise self._refused
        if self._checked is None:
            try:
                self._checked = await self._check()
            except (AzureError, _FaultActsNow) as refused:
                self._refused = refused
                raise
        return self._checked

    async def _check(self) -> EngineCall:
        state, call = self.state, self.call
        self.latency = _asked_latency(call)
        target, body = route(state.settings, self.operation, call)
        self.target = target
        self.trace.deployment, self.trace.json_body = target.deployment_name, body
        self.trace.source = "generator"  # past the gateway: the model's backend answers
        seed, counts = state.settings.answers.seed, self.stores.faults
        rolled = await fault_plan.rolled(target.deployment_name, target.deployment, seed, counts)
        self.plan = self.plan.with_fault(rolled, "rate")
        if rolled is not None and self.plan.acts_now:
            raise _FaultActsNow(self.plan)
        parsed = await self.operation.parse(state, call, body)
        self.parsed = parsed
        return await self._counted(target, parsed)

    async def _counted(self, target: Target, parsed: Parsed) -> EngineCall:
        """The chat checks, the prompt counted against the limits, the quota charged."""
        state, call = self.state, self.call
        request = check_chat_request(parsed.chat, target.version, target.card)
        if len(call.body) > PROMPT_BYTES_ON_LOOP:
            digest, prompt = await asyncio.to_thread(content_facts, state, request, target.card)
        else:
            digest, prompt = content_facts(state, request, target.card)
        check_token_limits(request, prompt, target.card)
        await self._admit(target, prompt + (request.max_completion_tokens or 0))
        view = RequestView(
            call.surface,
            target.deployment_name,
            call.api_version,
            call.headers,
            parsed.chat,
            len(call.body),
        )
        return EngineCall(request, target.card, target.deployment_name, prompt, view, None, digest)

    async def _admit(self, target: Target, estimate: int) -> None:
        """Charge the request's estimate; over the limit, Azure's 429 when quota is enforced."""
        enforced = target.deployment.enforce_quota
        if enforced is None:
            enforced = self.state.settings.quota.enforce
        refusal = await self.stores.quota.admit(
            target.deployment_name, target.deployment, estimate, enforced
        )
        if refusal is not None:
            raise rate_limit_error(refusal, target.version.name)

    async def _in_model_words(self, error: AzureError) -> AzureError:
        """Past the gateway, errors come from the model: in the operation's words, with the
        model's headers."""
        if self.target is None:
            return error
        if self.parsed is not None:
            error = self.operation.in_own_words(error, self.parsed)
        error.headers.update(await self._model_headers(self.target))
        return error

    async def _model_headers(self, target: Target) -> dict[str, str]:
        state = self.state
        quota = await self.stores.quota.snapshot(target.deployment_name, target.deployment)
        return model_headers(target.deployment_name, state.model_session, quota, self.call.surface)

    async def _completed(self, reply: Reply) -> Outcome:
        """Spend, then a stub's delay and fault, then the operation renders the reply."""
        checked, target, parsed = await self.check(), self.target, self.parsed
        assert reply.completion is not None and target is not None and parsed is not None
        completion = reply.completion
        self.trace.usage = completion.usage
        beyond_estimate = completion.usage.completion_tokens - (
            checked.request.max_completion_tokens or 0
        )
        await self.stores.quota.spend(target.deployment_name, beyond_estimate)
        if reply.delay_ms:
            await asyncio.sleep(reply.delay_ms / 1000)
        self.plan = self.plan.with_fault(reply.fault, "stub")
        self.trace.fault = self.plan.kind
        if reply.fault is not None and self.plan.acts_now:
            raise _FaultActsNow(self.plan)
        digest = checked.digest or b""
        identity = self.state.ids.chat_completion(digest)
        answer = Answer(checked.request, completion, identity, digest)
        try:
            rendered = await self.operation.render(self.state, self.call, parsed, answer)
        except AzureError as error:
            raise await self._in_model_words(error) from None
        return await self._outcome(target, rendered, answer)

    async def _outcome(self, target: Target, rendered: Rendered, answer: Answer) -> Outcome:
        settings = self.state.settings
        headers = {**await self._model_headers(target), **(rendered.headers or {})}
        latency = self.latency or target.deployment.latency or settings.latency
        usage = answer.completion.usage
        if rendered.frames is None:
            delay = reply_seconds(latency, usage, answer.digest)
            return Outcome(self.plan, rendered, headers=headers, delay_seconds=delay)
        per_frame = tokens_per_frame(settings.streaming.chunking, settings.streaming.buffer_tokens)
        pacer = pacer_for(latency, usage, answer.digest, per_frame)
        return Outcome(self.plan, rendered, headers=headers, pacer=pacer)


def route(settings: Settings, operation: Operation, call: Call) -> tuple[Target, dict[str, Any]]:
    """The gateway's checks past the key (deployment, model gate), and the decoded body.

    When the body names the deployment it is decoded first; when the path does, a body
    that is not JSON is reported only after the gateway let the request through.
    """
    dated = call.surface == "dated"
    version = resolve_dated(call.api_version) if dated else resolve_v1(call.api_version)
    name = operation.deployment_in_path(call)
    body = None if name is not None else decode_body(call.body)
    name = name if name is not None else _deployment_in_body(body or {})
    deployment = settings.deployments.get(name)
    if deployment is None:
        raise catalogue_error("DeploymentNotFound")
    card = load_model_card(deployment.model)
    if settings.server.model_api_version_gate and version.date < card.min_api_version[:10]:
        raise catalogue_error("ModelApiVersionTooOld", min_api_version=card.min_api_version)
    target = Target(version, name, deployment, card)
    return target, decode_body(call.body) if body is None else body


def _deployment_in_body(body: dict[str, Any]) -> str:
    """On v1 (and for the Responses API) the body's `model` names the deployment."""
    model = body.get("model")
    if not isinstance(model, str):
        raise invalid_request("you must provide a model parameter", None, None)
    return model


def _asked_latency(call: Call) -> Latency | None:
    try:
        return latency_from_header(call.headers)
    except LatencyHeaderError as error:
        raise mock_header_error(str(error)) from None


def content_facts(state: AppState, request: ChatRequest, card: ModelCard) -> tuple[bytes, int]:
    """The request's answer digest and its prompt tokens.

    Both are pure functions of the content fields, so they are memoised by their
    canonical bytes: a repeated prompt costs one hash of those bytes, not a SHA-256 and
    a token count again.
    """
    payload = content_payload(request, state.settings.answers.seed)
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
