"""Creating, reading and listing responses, free of HTTP types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mockserver.contract.errors import AzureError, encode_body, invalid_request
from mockserver.engines.matching import message_text
from mockserver.engines.reply import Choice
from mockserver.operations.base import Answer
from mockserver.operations.responses.references import ItemResolver
from mockserver.operations.responses.request import (
    Translation,
    check_fields,
    input_items,
    rewrite_error,
    translate,
)
from mockserver.operations.responses.seal import ReasoningSeal
from mockserver.operations.responses.serialize import (
    ItemIds,
    Outcome,
    build_response,
    incomplete_reason,
)
from mockserver.serialize.json import tool_call_object
from mockserver.state import AppState
from mockserver.stores.responses import StoredResponse
from mockserver.stores.stores import Stores

CONTEXT_ERRORS = frozenset({"context_length_exceeded", "context_length_exceeded_with_completion"})
CONTEXT_MESSAGE = (
    "Your input exceeds the context window of this model. Please adjust your input and try again."
)
ENCRYPTED_REASONING = "reasoning.encrypted_content"  # the `include` value asking for tokens
JSON_OBJECT_MESSAGE = (
    "Response input messages must contain the word 'json' in some form to use 'text.format' "
    "of type 'json_object'."
)


@dataclass(frozen=True)
class Request:
    """A create request translated to chat form, and what its reply needs."""

    body: dict[str, Any]
    translation: Translation
    storing: bool  # `store` is not false: the response is kept for retrieval and follow-ups
    seal: ReasoningSeal


async def parse_request(state: AppState, stores: Stores, body: dict[str, Any]) -> Request:
    """Check the fields, resolve history and item references, translate to chat form."""
    check_fields(body)
    history = await _history(stores, body.get("previous_response_id"))
    storing = body.get("store", True) is not False
    seal = ReasoningSeal.for_seed(state.settings.answers.seed)
    resolver = ItemResolver(stores.responses, seal, storing)
    items = await resolver.resolve(input_items(body.get("input")))
    translation = translate(body, history, items)
    _check_json_object(body, translation)
    return Request(body, translation, storing, seal)


async def make_response(
    state: AppState, stores: Stores, request: Request, answer: Answer
) -> dict[str, Any]:
    """The response object for an answer; stored when the request asks."""
    body, translation = request.body, request.translation
    ids = ItemIds(answer.digest, state.ids.deterministic)
    reason = incomplete_reason(answer.completion)
    outcome = Outcome(
        response_id=ids.make("resp_"),
        created_at=answer.identity.created,
        effort=answer.request.reasoning_effort,
        status="incomplete" if reason else "completed",
        reason=reason,
    )
    response = build_response(body, answer.completion, outcome, ids)
    if ENCRYPTED_REASONING in (body.get("include") or []):
        _seal_reasoning(response, request.seal, answer.digest)
    if request.storing:
        conversation = _conversation(translation, answer.completion.choices[0])
        items = input_item_resources(translation.items, ids)
        await stores.responses.put(StoredResponse(response, items, conversation))
    return response


def _seal_reasoning(response: dict[str, Any], seal: ReasoningSeal, digest: bytes) -> None:
    """Each reasoning item's token: its id and the answer it led to, on this seed."""
    for item in response["output"]:
        if item["type"] == "reasoning":
            payload = {"id": item["id"], "answer": digest.hex()}
            item["encrypted_content"] = seal.seal(payload, int(response["created_at"]))


async def _history(stores: Stores, previous_id: Any) -> list[dict[str, Any]]:
    if previous_id is None:
        return []
    if not isinstance(previous_id, str):
        stored = None
    else:
        stored = await stores.responses.get(previous_id)
    if stored is None:
        raise invalid_request(
            f"Previous response with id '{previous_id}' not found.",
            "previous_response_id",
            "previous_response_not_found",
        )
    return stored.conversation


def _check_json_object(body: dict[str, Any], translation: Translation) -> None:
    spec = (body.get("text") or {}).get("format") or {}
    if not isinstance(spec, dict) or spec.get("type") != "json_object":
        return
    messages = translation.chat["messages"]
    if not any("json" in message_text(message).lower() for message in messages):
        raise invalid_request(JSON_OBJECT_MESSAGE, "text.format", None)


def in_responses_words(error: AzureError, translation: Translation) -> AzureError:
    """The chat checks' errors as the Responses API words them."""
    if error.name in CONTEXT_ERRORS:
        replaced = invalid_request(CONTEXT_MESSAGE, "input", "context_length_exceeded")
        replaced.headers.update(error.headers)
        return replaced
    return rewrite_error(error, translation)


def _conversation(translation: Translation, choice: Choice) -> list[dict[str, Any]]:
    """The chat messages a follow-up continues from: this turn's, instructions left out."""
    messages = [
        message
        for message, origin in zip(translation.chat["messages"], translation.origins, strict=True)
        if origin != "instructions"
    ]
    if choice.tool_calls:
        calls = [tool_call_object(call) for call in choice.tool_calls]
        return [*messages, {"role": "assistant", "tool_calls": calls}]
    return [*messages, {"role": "assistant", "content": choice.content or choice.refusal or ""}]


def input_item_resources(items: list[dict[str, Any]], ids: ItemIds) -> list[dict[str, Any]]:
    """The request's input items as `input_items` lists them, each with an id."""
    resources = []
    for position, item in enumerate(items):
        resource = _item_resource(item, ids, position)
        if resource is not None:
            resources.append(resource)
    return resources


def _item_resource(item: dict[str, Any], ids: ItemIds, position: int) -> dict[str, Any] | None:
    kind = item.get("type", "message")
    if kind == "function_call":
        keys = ("call_id", "name", "arguments")
        fields = {key: item[key] for key in keys}
        return {"id": item.get("id") or ids.make("fc_", 1000 + position), "type": kind, **fields}
    if kind == "function_call_output":
        fields = {"call_id": item["call_id"], "output": item["output"]}
        return {"id": ids.make("fco_", position), "type": kind, "status": "completed", **fields}
    if kind != "message":
        return None
    role = item["role"]
    part_type = "output_text" if role == "assistant" else "input_text"
    return {
        "id": item.get("id") or ids.make("msg_", 1000 + position),
        "type": "message",
        "role": role,
        "status": "completed",
        "content": _parts(item.get("content"), part_type),
    }


def _parts(content: Any, part_type: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        content = [{"type": part_type, "text": content}]
    parts = []
    for part in content or []:
        if part.get("type") in ("input_text", "output_text", "text"):
            part = {"type": part_type, "text": part.get("text") or ""}
        if part_type == "output_text":
            part = {**part, "annotations": []}
        parts.append(part)
    return parts


async def stored_or_404(stores: Stores, response_id: str) -> StoredResponse:
    stored = await stores.responses.get(response_id)
    if stored is None:
        raise not_found(response_id)
    return stored


def not_found(response_id: str) -> AzureError:
    error = {
        "message": f"Response with id '{response_id}' not found.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    return AzureError(404, encode_body({"error": error}, "pretty"), name="response_not_found")


def item_list(
    stored: StoredResponse, order: str, limit: int, after: str | None, before: str | None
) -> dict[str, Any]:
    """One page of a response's input items in `order`: the first `limit` after the item
    `after`, or the last `limit` before the item `before` (the SDK pages on with `after`
    = the last id while `has_more`). A cursor that names no item of the list ends it: an
    empty page, never the first page again (a client paging on would loop for good)."""
    items = stored.items if order == "asc" else list(reversed(stored.items))
    if after is not None:
        items = _around(items, after)[1]
    if before is not None:
        preceding = _around(items, before)[0]
        page = preceding[-limit:]
        return _page(page, len(preceding) > len(page))
    page = items[:limit]
    return _page(page, len(items) > len(page))


def _around(
    items: list[dict[str, Any]], item_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The items before and after the one with `item_id`; none either side if none has it."""
    for at, item in enumerate(items):
        if item.get("id") == item_id:
            return items[:at], items[at + 1 :]
    return [], []


def _page(page: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": has_more,
    }
