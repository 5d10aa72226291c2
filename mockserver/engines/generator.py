"""The deterministic generator: a reply that is a pure function of the request and the seed.

Seeded by a digest of the parts of the request that decide an answer (messages, tools,
tool choice, response format, `seed`) and by the server seed; `n` choices get distinct
seeds. A reply is one of:

- a tool call (see `tool_choice.decide_tool`), its arguments generated from the tool's
  `parameters` schema, so they validate against it;
- a structured output: JSON generated from `response_format`'s schema (`json_schema`),
  or a JSON object (`json_object`);
- English prose about the user's question, which first reports any tool results.

Reasoning tokens come from `mockserver.tokens.reasoning`: the request's difficulty and its
`reasoning_effort`, as real o3-mini spends them. `max_completion_tokens` is one budget:
reasoning is spent first, then the answer's hidden framing (the model card's
`completion_framing`: real o3-mini bills 13 tokens with a text answer, 21 with a tool call)
and its visible tokens, cut to what remains. A reply cut by the limit bills the limit.

A completion made a second time is kept (`completion_memo`, keyed by everything it is
made from): the same request from then on gets it back, its tool-call ids minted anew.
Kept on the second making, not the first: distinct prompts keep nothing alive.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.contract.model_card import CompletionFraming
from mockserver.contract.request import json_bytes
from mockserver.engines.base import Asked, EngineCall, Script
from mockserver.engines.completion_memo import CompletionMemo, MemoKey
from mockserver.engines.digest import request_digest
from mockserver.engines.prompt_hints import NO_HINTS, PromptHints, hints_from_messages
from mockserver.engines.prose import tool_results_summary, topic_of, write_prose
from mockserver.engines.reply import Choice, Completion, Reply, ToolCall, Usage
from mockserver.engines.structured import json_within
from mockserver.engines.styles import STYLES, Prompt, styled_reply
from mockserver.engines.tool_choice import ToolDecision, decide_tool
from mockserver.serialize.ids import IdSource
from mockserver.support.cpu_work import off_loop
from mockserver.support.memo import Memo
from mockserver.support.seeded_random import SeededOnUse
from mockserver.tokens import counting as tokens
from mockserver.tokens import reasoning

# Request fields that decide the content; budget, streaming and bookkeeping fields do not.
# A greeting or a one-line question gets a one-sentence reply, as real o3-mini's are
# ("Hello there! How can I help you today?", "The capital of France is Paris."): so
# pydantic-ai's recorded `max_completion_tokens: 100` on "hello" is answered, not cut.
ONE_LINE_PROMPT_TOKENS = 16
# What a `json_object` reply holds: the service promises only "a JSON object".
JSON_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "keywords": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
    "required": ["title", "summary", "keywords"],
    "additionalProperties": False,
}
EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


@dataclass(frozen=True)
class _Budget:
    """What one choice may spend, in the order the model spends it: reasoning first, then
    the answer's hidden framing and its visible tokens from what is left."""

    total: int
    reasoning: int
    framing: CompletionFraming

    def room(self, tool_calls: int = 0) -> int:
        """The visible tokens an answer of `tool_calls` calls (0: text) may have once its
        framing is paid; negative when not even the framing fits."""
        return self.total - self.reasoning - self.framing.hidden_tokens(tool_calls)

    def spent(self, visible: int, tool_calls: int, finish_reason: str) -> int:
        """A choice's completion tokens. The framing counts inside the limit (OpenAI's
        reasoning guide), so a reply cut by it bills exactly the limit."""
        if finish_reason == "length":
            return self.total
        return self.reasoning + self.framing.hidden_tokens(tool_calls) + visible


class Generator:
    name = "generator"

    def __init__(
        self, seed: int, ids: IdSource, reply_styles: Mapping[str, Collection[str]] | None = None
    ) -> None:
        self.seed = seed
        self.ids = ids
        # The reply styles each deployment allows (`Deployment.reply_styles`); all by default.
        self.reply_styles = reply_styles or {}
        # The topic words of a request, by its digest: a long prompt is read once.
        self._topics: Memo[bytes, tuple[str, ...]] = Memo(
            max_entries=4096, max_size=2**20, second_sighting=True
        )
        # The completions of requests answered before (a pure function of what they read).
        self.completions = CompletionMemo()

    async def answer(self, asked: Asked) -> Reply:
        """The engine's part: the last in the chain, it answers every checked request."""
        call = await asked.check()
        await asked.admit()
        completion = await self.make(call)
        return Reply("generator", "generator", "no stub or recording answered", completion)

    async def make(self, call: EngineCall) -> Completion:
        """The completion for a checked request (a stub's script included)."""
        digest, key, kept = self._recall(call)
        if kept is not None:
            return kept
        if _may_take_long(call):
            # Off the event loop: other requests are answered meanwhile.
            made = await off_loop(self._generate, call, digest)
        else:
            made = self._generate(call, digest)
        self._keep(call, key, made)
        return made

    def complete(self, call: EngineCall) -> Completion:
        """The completion for a checked request, from the memo when it was made before."""
        digest, key, kept = self._recall(call)
        if kept is not None:
            return kept
        made = self._generate(call, digest)
        self._keep(call, key, made)
        return made

    def _recall(self, call: EngineCall) -> tuple[bytes, MemoKey | None, Completion | None]:
        """The request's digest, its memo key and the completion kept under it, if any."""
        digest = call.digest or request_digest(call.request, self.seed)
        key = self._memo_key(call, digest)
        return digest, key, self._kept(call, digest, key)

    def _memo_key(self, call: EngineCall, digest: bytes) -> MemoKey | None:
        """Everything `_generate` reads (a stub's script included: the same stub streamed
        again pays for its reasoning budget once), or None when the call is not memoised."""
        # The checks made the bytes already; a request made by hand has them made here.
        body = call.request.body_bytes or json_bytes(call.request.body)
        if body is None:
            return None
        enabled = frozenset(self.reply_styles.get(call.deployment, STYLES))
        card_id = id(call.card)
        script = call.script  # frozen: hashed by its texts
        return (
            card_id,
            call.deployment,
            enabled,
            self.seed,
            digest,
            call.prompt_tokens,
            script,
            body,
        )

    def _kept(self, call: EngineCall, digest: bytes, key: MemoKey | None) -> Completion | None:
        """The memoised completion, its tool calls with ids minted for this call."""
        kept = None if key is None else self.completions.get(key, call.card)
        if kept is None or not any(choice.tool_calls for choice in kept.choices):
            return kept
        choices = tuple(self._with_fresh_ids(choice, digest) for choice in kept.choices)
        return dataclasses.replace(kept, choices=choices)

    def _with_fresh_ids(self, choice: Choice, digest: bytes) -> Choice:
        """The ids a fresh run would mint: from the choice's seed and each call's position."""
        if not choice.tool_calls:
            return choice
        seed = _choice_seed(digest, choice.index)
        calls = tuple(
            dataclasses.replace(call, id=self.ids.tool_call(seed, position))
            for position, call in enumerate(choice.tool_calls)
        )
        return dataclasses.replace(choice, tool_calls=calls)

    def _keep(self, call: EngineCall, key: MemoKey | None, made: Completion) -> None:
        if key is not None:
            self.completions.put(key, call.card, made, key_size=len(key[-1]))  # the body

    def _generate(self, call: EngineCall, digest: bytes) -> Completion:
        budget = self._budget(call, digest)
        decision = decide_tool(call.request.body)
        choices = [
            self._choice(call, _choice_seed(digest, index), index, budget, decision)
            for index in range(call.request.n)
        ]
        usage = Usage(
            prompt_tokens=call.prompt_tokens,
            completion_tokens=sum(spent for _, spent in choices),
            reasoning_tokens=budget.reasoning * len(choices),
        )
        return Completion(
            choices=tuple(choice for choice, _ in choices),
            usage=usage,
            model=call.card.id,
            system_fingerprint=call.card.system_fingerprint,
        )

    def _budget(self, call: EngineCall, digest: bytes) -> _Budget:
        card, request = call.card, call.request
        total = max(
            0,
            min(
                request.max_completion_tokens or card.max_output_tokens,
                card.context_window - call.prompt_tokens,
            ),
        )
        profile, effort = card.reasoning_profile, request.reasoning_effort
        wanted = reasoning.reasoning_tokens(profile, effort, request.body, digest)
        return _Budget(total, min(wanted, total), card.completion_framing)

    def _choice(
        self, call: EngineCall, seed: bytes, index: int, budget: _Budget, decision: ToolDecision
    ) -> tuple[Choice, int]:
        if call.script is not None:
            return self._scripted(call, seed, index, budget, call.script)
        if decision.function is not None:
            if budget.room(tool_calls=1) <= 0:
                return _exhausted(index, budget)
            calls: list[tuple[dict[str, Any], str | None]] = [(decision.function, None)]
            finish_reason = "stop" if decision.named else _call_finish_reason(decision)
            hints = hints_from_messages(call.request.messages)
            return self._tool_calls(
                seed, index, budget, calls, finish_reason, decision.legacy, hints
            )
        return self._text(call, index, budget, self._content(call, seed, max(0, budget.room())))

    def _scripted(
        self, call: EngineCall, seed: bytes, index: int, budget: _Budget, script: Script
    ) -> tuple[Choice, int]:
        if script.refusal is not None:
            refusal, visible, finish_reason = _fitted(script.refusal, budget.room(), "stop")
            choice = Choice(index, None, finish_reason, refusal=refusal)
            return choice, budget.spent(visible, 0, finish_reason)
        if script.tool_calls:
            if budget.room(len(script.tool_calls)) <= 0:
                return _exhausted(index, budget)
            offered = {t["function"]["name"]: t["function"] for t in call.request.tools}
            calls = [(offered.get(name, {"name": name}), args) for name, args in script.tool_calls]
            return self._tool_calls(seed, index, budget, calls, "tool_calls", legacy=False)
        return self._text(call, index, budget, script.content or "")

    def _text(self, call: EngineCall, index: int, budget: _Budget, text: str) -> tuple[Choice, int]:
        text, finish_reason = _apply_stop(text, call.request.stop)
        text, visible, finish_reason = _fitted(text, budget.room(), finish_reason)
        choice = Choice(index=index, content=text, finish_reason=finish_reason)
        return choice, budget.spent(visible, 0, finish_reason)

    def _tool_calls(
        self,
        seed: bytes,
        index: int,
        budget: _Budget,
        calls: list[tuple[dict[str, Any], str | None]],
        finish_reason: str,
        legacy: bool,
        hints: PromptHints = NO_HINTS,
    ) -> tuple[Choice, int]:
        """Calls with the given arguments, or arguments generated from each tool's schema
        (echoing what the prompt names: `hints`)."""
        room, made = budget.room(len(calls)), []
        for position, (function, given) in enumerate(calls):
            name = function["name"]
            schema = function.get("parameters") or EMPTY_PARAMETERS
            if given is None:
                given = json_within(schema, seed, room - tokens.count(name), hints)
            room -= tokens.count(name)
            arguments, used = _cut_at(given, max(0, room))
            if arguments is not given:
                finish_reason = "length"
            room -= used
            call_id = self.ids.tool_call(seed, position)
            made.append(ToolCall(call_id, name, arguments))
        visible = budget.room(len(calls)) - max(0, room)
        choice = Choice(
            index, None, finish_reason, tool_calls=tuple(made), legacy_function_call=legacy
        )
        return choice, budget.spent(visible, len(calls), finish_reason)

    def _content(self, call: EngineCall, seed: bytes, visible: int) -> str:
        response_format = call.request.body.get("response_format") or {}
        kind = response_format.get("type")
        if kind == "json_schema":
            schema = response_format["json_schema"].get("schema") or {}
            return json_within(schema, seed, visible, hints_from_messages(call.request.messages))
        styled = self._styled(call, seed, visible)
        if styled is not None:
            return styled
        if kind == "json_object":
            return json_within(JSON_OBJECT_SCHEMA, seed, visible)
        return self._prose(seed, call)

    def _styled(self, call: EngineCall, seed: bytes, visible: int) -> str | None:
        """The reply in the format the prompt asks for, when a reply style knows it."""
        enabled = self.reply_styles.get(call.deployment, STYLES)
        if not enabled:
            return None
        body = call.request.body
        prompt = Prompt(
            call.request.messages, body.get("response_format") or {}, call.request.tools
        )
        # Seeded only if a style answers: most prompts ask for no format.
        rng = SeededOnUse(int.from_bytes(seed[8:16], "big"))
        return styled_reply(prompt, rng, visible, enabled)

    def _prose(self, seed: bytes, call: EngineCall) -> str:
        """Paragraphs about the user's topic; longer prompts tend to get longer answers."""
        rng = random.Random(int.from_bytes(seed[:8], "big"))
        messages = call.request.messages
        topic = self._topic(call.digest or seed, messages)
        if call.prompt_tokens <= ONE_LINE_PROMPT_TOKENS:
            prose = write_prose(rng, topic, 1, sentences=(1, 1))
        else:
            paragraphs = 1 + rng.randrange(3) + min(2, call.prompt_tokens // 2000)
            prose = write_prose(rng, topic, paragraphs)
        lead = tool_results_summary(messages)
        return f"{lead}\n\n{prose}" if lead else prose

    def _topic(self, key: bytes, messages: list[dict[str, Any]]) -> tuple[str, ...]:
        topic = self._topics.get(key)
        if topic is None:
            topic = tuple(topic_of(messages))
            self._topics.put(key, topic)
        return topic


def _fitted(text: str, room: int, finish_reason: str) -> tuple[str, int, str]:
    """The text, its visible tokens and finish reason once cut to `room` tokens."""
    fitted, visible = _cut_at(text, room)
    return fitted, visible, finish_reason if fitted is text else "length"


def _cut_at(text: str, room: int) -> tuple[str, int]:
    """`text` itself and its tokens when it fits in `room` tokens; else its first `room`
    tokens (none when `room` is negative), a new string, and their count."""
    visible = tokens.count(text)  # cached by content: a replayed answer is not re-encoded
    if visible <= room:
        return text, visible
    room = max(0, room)
    # The `n` choices of a request whose schema no value fits in share one text, cut the
    # same: it is cut once (encoding it is most of the work of a choice).
    kept = _CUTS.get(text) if len(text) >= CUT_KEPT_CHARS else None
    if kept is not None and kept[0] == room:
        return kept[1], room
    cut = tokens.decode(tokens.encode(text)[:room])
    if len(text) >= CUT_KEPT_CHARS:
        _CUTS.put(text, (room, cut), size=len(text) + len(cut))
    return cut, room


# Texts at least this long that were cut are kept with their cut (see `_cut_at`).
CUT_KEPT_CHARS = 16 * 1024
_CUTS: Memo[str, tuple[int, str]] = Memo(max_entries=64, max_size=32 * 2**20)


def _exhausted(index: int, budget: _Budget) -> tuple[Choice, int]:
    """No room left for the answer: empty content, `length`, the whole limit billed."""
    return Choice(index=index, content="", finish_reason="length"), budget.total


def _call_finish_reason(decision: ToolDecision) -> str:
    return "function_call" if decision.legacy else "tool_calls"


def _choice_seed(digest: bytes, index: int) -> bytes:
    return hashlib.sha256(digest + index.to_bytes(4, "big")).digest()


# A scripted text longer than this is counted off the event loop (tiktoken releases the
# GIL): 64 KiB takes about 2 ms to encode.
SCRIPT_CHARS_ON_LOOP = 64 * 1024


def _may_take_long(call: EngineCall) -> bool:
    """Whether answering may take more than a few milliseconds: generating from a schema
    (a few milliseconds of Faker, up to a second for a schema that fills the budget), or
    counting a long scripted text."""
    script, body = call.script, call.request.body
    if script is not None:
        texts = len(script.content or "") + len(script.refusal or "")
        return texts > SCRIPT_CHARS_ON_LOOP or any(args is None for _, args in script.tool_calls)
    response_format = body.get("response_format") or {}
    return bool(body.get("tools") or body.get("functions")) or (
        response_format.get("type") == "json_schema"
    )


def _apply_stop(text: str, stop: tuple[str, ...]) -> tuple[str, str]:
    """Cut the text before the first stop sequence, as the service does."""
    cuts = [position for s in stop if s and (position := text.find(s)) >= 0]
    return (text[: min(cuts)], "stop") if cuts else (text, "stop")
