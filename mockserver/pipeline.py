"""The one request path of every inference operation, free of HTTP types.

    x-mock-fault headers (a fault that acts now ends the request here)
    -> the engine chain: stub rules | replay | record | generator, each a Reply or None
       an engine that answers as the model first asks, once each:
         check: x-mock-latency, deployment and model gate, the operation's body in chat
                form, o3-mini's rules for the api-version, prompt tokens and limits
         admit: the seeded fault rates, then the estimate charged to quota
    -> a model's reply: a stub's delay and fault, the operation renders it
       a recording's or the upstream's: goes as it is

The api-version and the key were checked before (`http.gateway`); the HTTP writer
carries out the `Outcome` (and the fault plan's damage); the journal reads the `Trace`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from mockserver.config import Settings
from mockserver.contract.deployments import Target, route
from mockserver.contract.errors import JSON_CONTENT_TYPE, AzureError
from mockserver.contract.headers import json_content_type, model_headers
from mockserver.contract.limits import check_token_limits
from mockserver.contract.model_card import ModelCard
from mockserver.contract.request import ChatRequest, check_chat_request
from mockserver.engines.base import Asked, EngineCall
from mockserver.engines.matching import RequestView
from mockserver.engines.reply import RawAnswer, Reply, Usage
from mockserver.faults import plan as fault_plan
from mockserver.faults.kinds import Fault, mock_header_error
from mockserver.faults.latency import (
    Latency,
    LatencyHeaderError,
    Pacer,
    latency_from_header,
    pacer_for,
    reply_seconds,
)
from mockserver.faults.plan import FaultPlan
from mockserver.operations.base import Answer, Call, Operation, Parsed, Rendered
from mockserver.recordings.fixtures import RecordedRequest
from mockserver.serialize.sse import tokens_per_frame
from mockserver.state import AppState
from mockserver.stores.journal_entry import ReplayMiss
from mockserver.stores.quota import rate_limit_error
from mockserver.support.cpu_work import off_loop
from mockserver.support.values import value

# Bodies longer than this are decoded, checked and have their prompt tokens counted off
# the event loop (tiktoken releases the GIL while it encodes; 64 KiB takes about 2 ms, a
# 32 MiB body a second).
PROMPT_BYTES_ON_LOOP = 64 * 1024


@dataclass(slots=True)
class Trace:
    """What the pipeline learnt of one request, for the journal and the metrics."""

    surface: str = ""
    deployment: str = ""
    json_body: dict[str, Any] | None = None  # as decoded, so the journal does not decode again
    source: str = "gateway"  # who answered, as the journal names it
    reply: Reply | None = None
    usage: Usage | None = None
    fault: str | None = None  # the fault planned (x-mock-fault, rates, a stub): "500", "reset"…
    replay_miss: ReplayMiss | None = None  # why no recording answered


@value
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
    stores = state.stores(call.session)
    plan = await fault_plan.from_headers(call.headers, stores.faults)
    try:
        if plan.acts_now:
            raise _FaultActsNow(plan)
        return await _Request(state, operation, call, trace, plan).answer()
    except _FaultActsNow as acting:
        trace.fault = acting.plan.described
        return act_now(state, call, acting.plan)


def act_now(state: AppState, call: Call, plan: FaultPlan) -> Outcome:
    """A status or capacity fault is the error answered; a reset or a hang is the writer's."""
    retry_after_ms = state.settings.faults.retry_after_ms
    error = plan.error(call.request_id, call.api_version or "v1", retry_after_ms)
    if error is not None:
        raise error
    return Outcome(plan)


@value
class _Checked:
    """What the checks found: where the request goes, its chat form, the engines' call."""

    target: Target
    body: dict[str, Any]  # as received, decoded
    parsed: Parsed
    engine_call: EngineCall


class _Found(NamedTuple):
    """What the checks found from the request's settings, route and body alone (a tuple:
    made for every body checked, kept for one sent again)."""

    target: Target
    body: dict[str, Any]
    parsed: Parsed
    request: ChatRequest
    digest: bytes
    prompt_tokens: int


class _Offered(Asked):
    """The pipeline's Asked. Its headers are the call's as sent, read without building the
    recorded request (a pydantic model only a recording's engines need), and read whatever
    the case of a name: the stub rules read a header of every request."""

    sent_headers: Mapping[str, str]  # set by the pipeline as it offers the request
    call: Call
    settings: Settings

    @property
    def headers(self) -> Mapping[str, str]:
        return self.sent_headers

    @property
    def sent_as(self) -> tuple[str, str, bytes]:
        call = self.call
        return call.method, call.path, call.body

    def error_values(self) -> dict[str, object]:
        call, settings = self.call, self.settings
        return {
            "request_id": call.request_id,
            "api_version": call.api_version or "v1",
            "limit": settings.server.max_body_bytes,
            "retry_after_ms": settings.faults.retry_after_ms,
        }


class _Request:
    """One request on its way. The checks and the admission run once each, when an engine
    first needs them; the plan of faults is completed here, once an engine answered."""

    def __init__(
        self, state: AppState, operation: Operation, call: Call, trace: Trace, plan: FaultPlan
    ) -> None:
        self.state, self.operation, self.call, self.trace = state, operation, call, trace
        self.stores = state.stores(call.session)
        self.plan = plan
        self.asked = self._asked()
        self.target: Target | None = None  # once the gateway's checks passed
        self.body: dict[str, Any] | None = None  # the body as received, once decoded
        self.parsed: Parsed | None = None  # once the operation parsed the body
        self.latency: Latency | None = None  # asked with x-mock-latency
        self._checked: _Checked | None = None
        self._refused: BaseException | None = None  # the checks' error, given to each engine
        self._admitted = False

    async def answer(self) -> Outcome:
        try:
            return await self._answer()
        finally:
            # The kept refusal refers to its traceback, whose frames refer to this request:
            # a cycle that would hold each refused body (a parsed 1 MB body is ~25 MB of
            # objects) until the cyclic collector ran. Dropped as soon as the answer is made.
            self._refused = None
            # So does the Asked, whose `check` and `admit` are this request's methods: let
            # go, the request, its call, trace and checks are freed as the answer goes out,
            # not left to the collector (every request's ~15 objects made it run every ~50
            # requests, ~4 us a request of walking them).
            del self.asked

    async def _answer(self) -> Outcome:
        try:
            reply = await self.state.engines.answer(self.asked)
        except AzureError as refused:  # by the checks, or by quota
            if self.target is not None:  # past the gateway: the model's backend refused
                self.trace.source = "generator"
                self._trace_target(self.target, self.body)
            raise await self._in_model_words(refused) from None
        self.trace.reply, self.trace.source = reply, reply.source
        self.trace.replay_miss = reply.replay_miss
        if not reply.as_model:
            return self._as_itself(reply)
        return await self._as_model(reply, self._checked or await self._checks())

    def _as_itself(self, reply: Reply) -> Outcome:
        """A recording or the upstream: its answer (or its failure) as it is."""
        if reply.error is not None:
            raise reply.error
        assert reply.raw is not None, "a reply not from the model is raw HTTP"
        self.trace.fault = self.plan.described
        return Outcome(self.plan, raw=reply.raw)

    async def _as_model(self, reply: Reply, checked: _Checked) -> Outcome:
        """A stub's delay and fault, then the operation renders the reply."""
        self._trace_target(checked.target, checked.body)
        if reply.error is not None:
            raise await self._in_model_words(reply.error)
        assert reply.completion is not None, "a model's reply is a completion or an error"
        completion, request = reply.completion, checked.engine_call.request
        self.trace.usage = completion.usage
        if reply.delay_ms:
            await asyncio.sleep(reply.delay_ms / 1000)
        self._plan(reply.fault)
        digest = checked.engine_call.digest or b""
        answer = Answer(request, completion, self.state.ids.chat_completion(digest), digest)
        try:
            rendered = await self.operation.render(self.state, self.call, checked.parsed, answer)
        except AzureError as error:
            raise await self._in_model_words(error) from None
        return await self._outcome(checked.target, rendered, answer)

    def _trace_target(self, target: Target, body: dict[str, Any] | None) -> None:
        """The deployment the model's answer came from, and the body as received."""
        self.trace.deployment, self.trace.json_body = target.deployment_name, body

    def _plan(self, fault: Fault | None) -> None:
        """Add a fault to the plan; one that acts now ends the request here."""
        self.plan = self.plan.with_fault(fault)
        self.trace.fault = self.plan.described
        if fault is not None and self.plan.acts_now:
            raise _FaultActsNow(self.plan)

    def _asked(self) -> Asked:
        call = self.call
        in_path = self.operation.deployment_in_path(call)

        def view_of(body: dict[str, Any]) -> RequestView:
            named = in_path or str(body.get("model"))
            size = len(call.body)
            return RequestView(call.surface, named, call.api_version, call.headers, body, size)

        def recorded() -> RecordedRequest:
            query, headers = dict(call.query), dict(call.headers)
            return RecordedRequest(method=call.method, path=call.path, query=query, headers=headers)

        offered = _Offered(
            recorded, call.path_qs, call.body, view_of, self.check, self.admit, self.stores
        )
        offered.sent_headers, offered.call = call.headers, call
        offered.settings = self.state.settings
        return offered

    async def check(self) -> EngineCall:
        """The checks an engine needs before it answers; run once, their error kept."""
        return (self._checked or await self._checks()).engine_call

    async def _checks(self) -> _Checked:
        """The checks' result, or their error; once made, callers read `_checked` first
        (an engine's check, the admission and the answer each need it: no coroutine made
        twice more for a result already there)."""
        if self._refused is not None:
            raise self._refused
        if self._checked is None:
            try:
                self._checked = await self._check()
            except AzureError as refused:
                self._refused = refused
                raise
        return self._checked

    async def _check(self) -> _Checked:
        call = self.call
        self.latency = _asked_latency(call)
        in_path = self.operation.deployment_in_path(call)
        found = await self._found(in_path)
        self.target, self.body, self.parsed = found.target, found.body, found.parsed
        target = found.target
        view = RequestView(
            call.surface,
            target.deployment_name,
            call.api_version,
            call.headers,
            found.parsed.chat,
            len(call.body),
        )
        name, prompt = target.deployment_name, found.prompt_tokens
        engine_call = EngineCall(found.request, target.card, name, prompt, view, None, found.digest)
        return _Checked(target, found.body, found.parsed, engine_call)

    async def _found(self, in_path: str | None) -> _Found:
        """What the checks find for this body; for a body sent before under the same
        settings (and an operation that parses the body alone), what they found then."""
        call, settings = self.call, self.state.settings
        if not self.operation.parses_the_body_alone:
            return await self._check_body(in_path)
        memo = self.state.repeated_checks
        key = (call.surface, call.api_version, in_path, call.body)
        found: _Found | None = memo.get(settings, key)
        if found is None:
            found = await self._check_body(in_path)
            memo.put(settings, key, found)
        return found

    async def _check_body(self, in_path: str | None) -> _Found:
        call = self.call
        # A long body is decoded and checked off the loop too: a 30 MB body of a million
        # messages took 3 s of checks, and the loop stood still through them.
        long = len(call.body) > PROMPT_BYTES_ON_LOOP
        routed = (
            self.state.settings,
            call.surface == "dated",
            call.api_version,
            in_path,
            call.body,
            self.asked.decoded_already(),
        )
        target, body = await off_loop(route, *routed) if long else route(*routed)
        self.target, self.body = target, body  # a refusal below is in the model's words
        self.parsed = parsed = await self.operation.parse(self.state, call, body)
        checked = (parsed.chat, target.version, target.card)
        request = (
            await off_loop(check_chat_request, *checked) if long else check_chat_request(*checked)
        )
        digest, prompt = await self._content_facts(request, target.card)
        check_token_limits(request, prompt, target.card)
        return _Found(target, body, parsed, request, digest, prompt)

    async def _content_facts(self, request: ChatRequest, card: ModelCard) -> tuple[bytes, int]:
        """The answer digest and the prompt tokens; a long body is counted off the loop."""
        facts, seed = self.state.content_facts, self.state.settings.answers.seed
        known = facts.known(request, card, seed)  # a body sent again: no thread hop
        if known is not None:
            return known
        if len(self.call.body) > PROMPT_BYTES_ON_LOOP:
            return await off_loop(facts.of, request, card, seed)
        return facts.of(request, card, seed)

    async def admit(self) -> None:
        """Before answering as the model, once: the seeded fault rates (a fault may end the
        request here), then the request's estimate charged to quota (Azure's 429 when it is
        enforced and over)."""
        if self._admitted:
            return
        self._admitted = True
        checked = self._checked or await self._checks()
        target, settings = checked.target, self.state.settings
        seed, counts = settings.answers.seed, self.stores.faults
        self._plan(await fault_plan.rolled(target.deployment_name, target.deployment, seed, counts))
        enforced = target.deployment.enforce_quota
        if enforced is None:
            enforced = settings.quota.enforce
        request = checked.engine_call.request
        estimate = checked.engine_call.prompt_tokens + (request.max_completion_tokens or 0)
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
        if error.content_type == JSON_CONTENT_TYPE and error.status != 429:
            # The model's answers on v1 say their charset, errors as successes (a 2025 v1
            # capture of a 400); a 429 is the gateway's, with a content type of its own.
            error.content_type = json_content_type(self.call.surface)
        return error

    async def _model_headers(self, target: Target) -> dict[str, str]:
        quota = await self.stores.quota.snapshot(target.deployment_name, target.deployment)
        name, session = target.deployment_name, self.state.model_session
        return model_headers(name, session, quota, self.call.surface)

    async def _outcome(self, target: Target, rendered: Rendered, answer: Answer) -> Outcome:
        settings = self.state.settings
        headers = await self._model_headers(target)  # its own dict, made for this answer
        if rendered.headers:
            headers.update(rendered.headers)
        latency = self.latency or target.deployment.latency or settings.latency
        usage = answer.completion.usage
        if rendered.frames is None:
            delay = reply_seconds(latency, usage, answer.digest)
            return Outcome(self.plan, rendered, headers=headers, delay_seconds=delay)
        streaming = settings.streaming
        per_frame = tokens_per_frame(streaming.chunking, streaming.buffer_tokens)
        pacer = pacer_for(latency, usage, answer.digest, per_frame)
        return Outcome(self.plan, rendered, headers=headers, pacer=pacer)


def _asked_latency(call: Call) -> Latency | None:
    try:
        return latency_from_header(call.headers)
    except LatencyHeaderError as error:
        raise mock_header_error(str(error)) from None
