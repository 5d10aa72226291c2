"""The non-streamed `chat.completion` body, compact, keys in Azure's alphabetical order."""

from __future__ import annotations

from typing import Any

import orjson

from mockserver.engines.reply import Choice, Completion, ToolCall, Usage
from mockserver.serialize.filters import completion_filter_results, prompt_filter_results
from mockserver.serialize.ids import ResponseIdentity
from mockserver.serialize.template import HOLE, JsonTemplate
from mockserver.support.by_identity import ByIdentity


def chat_completion_body(
    completion: Completion, identity: ResponseIdentity, service_tier: str | None = None
) -> bytes:
    """`service_tier` is the tier that served the request, named when the request asked.

    A completion answered again (the generator's memo hands back the same one) has its body
    kept as a template, and only its id and `created` are written each time."""
    known = _BODIES.get(completion)
    if known is not None and known[0] == service_tier:
        return known[1].fill(b"%d" % identity.created, orjson.dumps(identity.id))
    if _small(completion) and _BODIES.seen_before(completion):
        try:
            template = JsonTemplate(_chat_completion_json(completion, HOLE, HOLE, service_tier), 2)
        except ValueError:  # the completion holds HOLE itself: written whole each time
            pass
        else:
            _BODIES.put(completion, (service_tier, template))
            return template.fill(b"%d" % identity.created, orjson.dumps(identity.id))
    return _chat_completion_json(completion, identity.created, identity.id, service_tier)


# Bodies of completions answered more than once, as templates: at most 128, by the
# completion's identity (`ByIdentity`, which holds them and those seen once), and only for
# completions of at most TEMPLATED_TEXT characters, so what it holds stays a few MB.
_BODIES: ByIdentity[Completion, tuple[str | None, JsonTemplate]] = ByIdentity(128)
TEMPLATED_TEXT = 16 * 1024


def _small(completion: Completion) -> bool:
    texts = 0
    for choice in completion.choices:
        texts += len(choice.content or "") + len(choice.refusal or "")
        texts += sum(len(call.arguments) for call in choice.tool_calls)
    return texts <= TEMPLATED_TEXT


def _chat_completion_json(
    completion: Completion, created: int | str, response_id: str, service_tier: str | None
) -> bytes:
    body: dict[str, Any] = {
        "choices": [_choice(choice) for choice in completion.choices],
        "created": created,
        "id": response_id,
        "model": completion.model,
        "object": "chat.completion",
        "prompt_filter_results": prompt_filter_results(),
    }
    if service_tier is not None:
        body["service_tier"] = service_tier
    body["system_fingerprint"] = completion.system_fingerprint
    body["usage"] = usage_object(completion.usage)
    # Azure ends its compact body with a newline. orjson's own bytes: the journal keeps
    # them as they are (Rendered.written_by_orjson).
    return orjson.dumps(body, option=orjson.OPT_APPEND_NEWLINE)


def _choice(choice: Choice) -> dict[str, Any]:
    return {
        "content_filter_results": completion_filter_results(bool(choice.content), choice.filtered),
        "finish_reason": choice.finish_reason,
        "index": choice.index,
        "logprobs": None,
        "message": _message(choice),
    }


def _message(choice: Choice) -> dict[str, Any]:
    message: dict[str, Any] = {"annotations": [], "content": choice.content}
    if choice.tool_calls and choice.legacy_function_call:
        call = choice.tool_calls[0]
        message["function_call"] = {"arguments": call.arguments, "name": call.name}
    message["refusal"] = choice.refusal
    message["role"] = "assistant"
    if choice.tool_calls and not choice.legacy_function_call:
        message["tool_calls"] = [tool_call_object(call) for call in choice.tool_calls]
    return message


def tool_call_object(call: ToolCall) -> dict[str, Any]:
    return {
        "function": {"arguments": call.arguments, "name": call.name},
        "id": call.id,
        "type": "function",
    }


def usage_object(usage: Usage) -> dict[str, Any]:
    return {
        "completion_tokens": usage.completion_tokens,
        "completion_tokens_details": {
            "accepted_prediction_tokens": 0,
            "audio_tokens": 0,
            "reasoning_tokens": usage.reasoning_tokens,
            "rejected_prediction_tokens": 0,
        },
        "prompt_tokens": usage.prompt_tokens,
        "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": usage.cached_tokens},
        "total_tokens": usage.total_tokens,
    }
