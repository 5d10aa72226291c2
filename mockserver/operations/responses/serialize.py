"""The `response` object: a completion in the Responses API's words."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from mockserver.engines.reply import Choice, Completion, ToolCall, Usage

ID_HEX_LENGTH = 48  # resp_/msg_/rs_/fc_ + 48 hex digits, as in OpenAI's examples
SERVICE_TIER = "default"


@dataclass(frozen=True)
class ItemIds:
    """Ids of one response and its items: random, or derived from the request digest."""

    digest: bytes
    deterministic: bool

    def make(self, prefix: str, position: int = 0) -> str:
        if not self.deterministic:
            return prefix + secrets.token_hex(ID_HEX_LENGTH // 2)
        salt = f"{prefix}{position}".encode()
        return prefix + hashlib.sha256(salt + self.digest).hexdigest()[:ID_HEX_LENGTH]


@dataclass(frozen=True)
class Outcome:
    """What the response reports besides its output."""

    response_id: str
    created_at: int
    effort: str
    status: str  # "completed" or "incomplete"
    reason: str | None = None  # why incomplete: "max_output_tokens" or "content_filter"


# A chat finish_reason that cuts the output short, as the Responses API reports it.
INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}


def incomplete_reason(completion: Completion) -> str | None:
    return INCOMPLETE_REASONS.get(completion.choices[0].finish_reason)


def output_items(choice: Choice, ids: ItemIds, status: str) -> list[dict[str, Any]]:
    """The reasoning item, then the message or the function calls."""
    items: list[dict[str, Any]] = [reasoning_item(ids.make("rs_"))]
    if choice.tool_calls:
        items.extend(
            function_call_item(ids.make("fc_", n), call, status)
            for n, call in enumerate(choice.tool_calls)
        )
    elif choice.refusal is not None:
        items.append(message_item(ids.make("msg_"), [refusal_part(choice.refusal)], status))
    elif choice.content or status == "completed":
        items.append(message_item(ids.make("msg_"), [text_part(choice.content or "")], status))
    return items


def reasoning_item(item_id: str) -> dict[str, Any]:
    # `summary` is what the SDK reads; the 2025-04-01-preview document requires `content`.
    return {"id": item_id, "type": "reasoning", "summary": [], "content": []}


def message_item(item_id: str, content: list[dict[str, Any]], status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "content": content,
        "role": "assistant",
        "status": status,
        "type": "message",
    }


def text_part(text: str) -> dict[str, Any]:
    return {"annotations": [], "text": text, "type": "output_text"}


def refusal_part(refusal: str) -> dict[str, Any]:
    return {"type": "refusal", "refusal": refusal}


def function_call_item(item_id: str, call: ToolCall, status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "arguments": call.arguments,
        "call_id": call.id,
        "name": call.name,
    }


def response_object(
    body: dict[str, Any],
    outcome: Outcome,
    output: list[dict[str, Any]],
    usage: Usage | None,
    model: str,
) -> dict[str, Any]:
    """The whole object, keys (and the float `created_at`) as in Azure's docs example."""
    return {
        "id": outcome.response_id,
        "created_at": float(outcome.created_at),
        "error": None,
        "incomplete_details": {"reason": outcome.reason} if outcome.reason else None,
        "instructions": body.get("instructions"),
        "metadata": body.get("metadata") or {},
        "model": model,
        "object": "response",
        "output": output,
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": [_tool(tool) for tool in body.get("tools") or []],
        "top_p": 1.0,
        "background": None,
        "max_output_tokens": body.get("max_output_tokens"),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": _reasoning(body, outcome.effort),
        "service_tier": SERVICE_TIER,
        "status": outcome.status,
        "text": {"format": _text_format(body)},
        "truncation": body.get("truncation") or "disabled",
        "usage": None if usage is None else usage_object(usage),
        "user": body.get("user"),
        "store": body.get("store", True) is not False,
    }


def _reasoning(body: dict[str, Any], effort: str) -> dict[str, Any]:
    summary = (body.get("reasoning") or {}).get("summary")
    return {"effort": effort, "generate_summary": None, "summary": summary}


def _text_format(body: dict[str, Any]) -> dict[str, Any]:
    text = body.get("text") or {}
    spec: dict[str, Any] = text.get("format") or {"type": "text"}
    if spec.get("type") == "json_schema":
        return {"strict": False, **spec}
    return spec


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "name": tool["name"],
        "description": tool.get("description"),
        "parameters": tool.get("parameters") or {"type": "object", "properties": {}},
        "strict": bool(tool.get("strict")),
    }


def usage_object(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def build_response(
    body: dict[str, Any], completion: Completion, outcome: Outcome, ids: ItemIds
) -> dict[str, Any]:
    output = output_items(completion.choices[0], ids, outcome.status)
    return response_object(body, outcome, output, completion.usage, completion.model)
