"""The stub engine: the first in the chain; answers what a matching stub says."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import orjson

from mockserver.contract.errors import AzureError, catalogue_error, encode_body
from mockserver.engines.base import Asked, EngineCall, Script
from mockserver.engines.generator import Generator
from mockserver.engines.matching import RequestView
from mockserver.engines.reply import Choice, Completion, Reply, Usage
from mockserver.engines.stubs import ErrorAnswer, Stub, StubAnswer, UsageOverride
from mockserver.faults.kinds import Fault, mock_header_error, parse_fault, with_retry_after
from mockserver.stores.stubs import StubStore

FORCE_STUB_HEADER = "x-mock-stub"


class StubRules:
    """First in the chain: a matching stub answers, even where a recording could.

    A stub answers only a request the pipeline's checks let through (a stub does not make
    a bad request good), and its use is taken only then. A refused request that no stub
    would match as sent goes on to the tape: a recording says what Azure answered it.
    """

    name = "stubs"

    def __init__(self, generator: Generator) -> None:
        self.generator = generator

    async def answer(self, asked: Asked) -> Reply | None:
        forced = asked.headers.get(FORCE_STUB_HEADER)
        store = asked.stores.stubs  # the session's
        if not forced and not await store.has_stubs():
            return None
        try:
            call = await asked.check()
        except AzureError:
            if forced or await store.would_answer(asked.view):
                raise
            return None  # no stub claims a request the checks refuse: a recording may answer
        # Stubs match the request in chat form (a Responses API request's too).
        if not forced and not await store.would_answer(call.view):
            return None  # nothing charged, no fault drawn: the next engine may answer
        await asked.admit()
        stub = await _take(store, call.view, forced)
        if stub is None:
            return None  # another request took its last use meanwhile
        answer = stub.answer
        if answer.error is not None:
            error = error_for(answer.error, call, asked.error_values())
            return _reply(stub, forced, error=error)
        scripted = call.scripted(script_for(answer))
        completion = _with_overrides(await self.generator.make(scripted), answer)
        fault = None if answer.fault is None else parse_fault(answer.fault)
        return _reply(stub, forced, completion=completion, fault=fault)


def _reply(
    stub: Stub,
    forced: str | None,
    completion: Completion | None = None,
    error: AzureError | None = None,
    fault: Fault | None = None,
) -> Reply:
    """The stub's reply, made once with all its fields (`dataclasses.replace`: ~3 us)."""
    why = f"stub {stub.id} matched" + (" (x-mock-stub)" if forced else "")
    return Reply(
        "stubs",
        f"stub:{stub.id}",
        why,
        completion=completion,
        error=error,
        stub_id=stub.id,
        fault=fault,
        delay_ms=stub.answer.delay_ms,
    )


async def _take(store: StubStore, view: RequestView, forced: str | None) -> Stub | None:
    if not forced:
        return await store.take(view)
    stub = await store.take_by_id(forced)
    if stub is None:
        raise mock_header_error(f"{FORCE_STUB_HEADER}: no stub with id {forced!r}")
    return stub


def script_for(answer: StubAnswer) -> Script | None:
    """The reply a stub dictates; None lets the generator make it up (usage or delay only)."""
    if answer.refusal is not None:
        return Script(refusal=answer.refusal)
    if answer.tool_calls is not None:
        calls = tuple((call.name, _arguments(call.arguments)) for call in answer.tool_calls)
        return Script(tool_calls=calls)
    if answer.structured_output is not None:
        return Script(content=orjson.dumps(answer.structured_output).decode())
    if answer.content is not None:
        return Script(content=answer.content)
    return None


def error_for(error: ErrorAnswer, call: EngineCall, known: Mapping[str, object]) -> AzureError:
    """A named error filled as the mock fills it when it sends it itself (the request's
    prompt tokens, the model's limits, its request id...), the stub's `values` first; a
    429 or 503 says when to retry, in its message and its headers alike."""
    if error.name is None:
        return AzureError(error.status or 400, encode_body(error.body, "compact"), name="stub")
    retry_ms = known.get("retry_after_ms")
    asked_seconds = error.values.get("retry_after")
    if type(asked_seconds) is int and asked_seconds >= 0:
        seconds, retry_ms = asked_seconds, asked_seconds * 1000
    else:
        retry_ms = retry_ms if type(retry_ms) is int else 0
        seconds = max(1, math.ceil(retry_ms / 1000))
    values = {**_request_values(call), **known, "retry_after": seconds, **error.values}
    built = catalogue_error(error.name, call.view.surface, **values)
    if built.status in (429, 503):
        return with_retry_after(built, seconds, retry_ms)
    return built


def _request_values(call: EngineCall) -> dict[str, object]:
    card, prompt = call.card, call.prompt_tokens
    requested = call.request.max_completion_tokens or card.max_output_tokens
    return {
        "context_window": card.context_window,
        "max_output_tokens": card.max_output_tokens,
        "min_api_version": card.min_api_version,
        "prompt_tokens": prompt,
        "requested": requested,
        "completion_tokens": requested,
        "total_tokens": prompt + requested,
    }


def _arguments(arguments: dict[str, object] | str | None) -> str | None:
    if arguments is None or isinstance(arguments, str):
        return arguments
    return orjson.dumps(arguments).decode()


def _with_overrides(completion: Completion, answer: StubAnswer) -> Completion:
    if answer.content_filter:
        choices = tuple(_filtered(choice, answer.content_filter) for choice in completion.choices)
        completion = dataclasses.replace(completion, choices=choices)
    if answer.usage is not None:
        completion = dataclasses.replace(completion, usage=_usage(completion.usage, answer.usage))
    return completion


def _filtered(choice: Choice, verdicts: Mapping[str, str]) -> Choice:
    """The output filter stopped this choice: no content, finish_reason content_filter."""
    return dataclasses.replace(
        choice, content=None, finish_reason="content_filter", filtered=dict(verdicts)
    )


def _usage(usage: Usage, override: UsageOverride) -> Usage:
    changes = {k: v for k, v in override.model_dump().items() if v is not None}
    return dataclasses.replace(usage, **changes)
