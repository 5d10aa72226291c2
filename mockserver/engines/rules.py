"""The stub engine: the first in the chain; answers what a matching stub says."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping

import orjson

from mockserver.contract.errors import AzureError, catalogue_error, encode_body
from mockserver.engines.base import EngineCall, Script
from mockserver.engines.generator import Generator
from mockserver.engines.reply import Choice, Completion, Usage
from mockserver.engines.stubs import ErrorAnswer, Stub, StubAnswer, StubStore, UsageOverride
from mockserver.faults.kinds import mock_header_error, parse_fault

FORCE_STUB_HEADER = "x-mock-stub"
# Matching stubs against a prompt longer than this runs off the event loop: RE2 (which
# releases the GIL) is linear in the text, but a pattern of many counted repetitions
# costs its size on every character.
PROMPT_TOKENS_MATCHED_ON_LOOP = 16_000


class StubRules:
    name = "stubs"

    def __init__(self, store: StubStore, generator: Generator) -> None:
        self.store = store
        self.generator = generator

    async def answer(self, call: EngineCall) -> Completion | None:
        if call.prompt_tokens > PROMPT_TOKENS_MATCHED_ON_LOOP and self.store.stubs:
            stub = await asyncio.to_thread(self._stub_for, call)
        else:
            stub = self._stub_for(call)
        if stub is None:
            return None
        call.effects.source, call.effects.stub_id = f"stub:{stub.id}", stub.id
        answer = stub.answer
        call.effects.delay_ms = answer.delay_ms
        if answer.error is not None:
            raise error_for(answer.error, call.view.surface)
        if answer.fault is not None:
            call.effects.fault = parse_fault(answer.fault)
        scripted = dataclasses.replace(call, script=script_for(answer))
        completion = await self.generator.answer(scripted)
        return _with_overrides(completion, answer)

    def _stub_for(self, call: EngineCall) -> Stub | None:
        forced = call.view.headers.get(FORCE_STUB_HEADER)
        if not forced:
            return self.store.take(call.view)
        stub = self.store.take_by_id(forced)
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


def error_for(error: ErrorAnswer, surface: str = "dated") -> AzureError:
    if error.name is not None:
        return catalogue_error(error.name, surface, **error.values)
    return AzureError(error.status or 400, encode_body(error.body, "compact"), name="stub")


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
