"""A Responses request: its own checks, then its translation to a chat-completions body."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mockserver.contract.errors import AzureError, invalid_request
from mockserver.contract.schema_check import SchemaChecker, missing_parameter, quoted_list

# The request fields of the Responses API (2025-04-01-preview `createResponse`).
KNOWN_FIELDS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "text",
        "reasoning",
        "max_output_tokens",
        "previous_response_id",
        "store",
        "metadata",
        "stream",
        "temperature",
        "top_p",
        "parallel_tool_calls",
        "truncation",
        "user",
        "include",
        "service_tier",
        "background",
    }
)
# Passed to the chat checks as they are: o3-mini refuses them there with its own wording
# (temperature but 1, top_p, parallel_tool_calls; service_tier "flex").
PASSED_THROUGH = ("temperature", "top_p", "parallel_tool_calls", "user", "service_tier")
MIN_OUTPUT_TOKENS = 16
ROLES = ("user", "developer", "system", "assistant")
_OBJECT: dict[str, Any] = {"type": "object"}
_STRING: dict[str, Any] = {"type": "string"}
_BOOLEAN: dict[str, Any] = {"type": "boolean"}
# The top-level types of `createResponse` (S-P0401), checked with the chat checker's wording;
# the parts the chat checks see again (tools, formats) are checked there in full.
REQUEST_TYPES = SchemaChecker(
    {
        "type": "object",
        "properties": {
            "instructions": _STRING,
            "tools": {"type": "array", "items": _OBJECT},
            "tool_choice": {"type": ["string", "object"]},
            "text": {"type": "object", "properties": {"format": _OBJECT}},
            "reasoning": {"type": "object", "properties": {"effort": _STRING}},
            "metadata": {"type": "object", "additionalProperties": _STRING},
            "max_output_tokens": {"type": "integer"},
            "previous_response_id": _STRING,
            "store": _BOOLEAN,
            "stream": _BOOLEAN,
            "background": _BOOLEAN,
            "truncation": {"type": "string", "enum": ["auto", "disabled"]},
            "user": _STRING,
            "service_tier": _STRING,
            "include": {"type": "array", "items": _STRING},
        },
    }
)
TEXT_PARTS = ("input_text", "output_text")  # chat's `text` is refused, as the service does
# What the service lists for an unknown part type (observed in 2025-2026 captures, e.g.
# "Invalid value: 'text'. Supported values are: 'input_text', 'input_image', ..."): it
# names parts the mock does not serve to o3-mini, which are refused as a model's limit.
LISTED_PARTS = (
    "input_text",
    "input_image",
    "output_text",
    "refusal",
    "input_file",
    "computer_screenshot",
    "summary_text",
)


@dataclass
class Translation:
    """The chat body, and where each chat message came from in the Responses request."""

    chat: dict[str, Any]
    origins: list[str | None] = field(default_factory=list)  # "input[3]" per chat message
    items: list[dict[str, Any]] = field(default_factory=list)  # this request's input items


def check_fields(body: dict[str, Any]) -> None:
    """Responses-only rules the chat checks do not know."""
    for name in body:
        if name not in KNOWN_FIELDS:
            raise invalid_request(f"Unknown parameter: '{name}'.", name, "unknown_parameter")
    if "input" not in body:
        raise missing_parameter("input")
    REQUEST_TYPES.check({name: value for name, value in body.items() if value is not None})
    _check_format_name(body.get("text"))
    budget = body.get("max_output_tokens")
    if isinstance(budget, int) and not isinstance(budget, bool) and budget < MIN_OUTPUT_TOKENS:
        raise invalid_request(
            "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= "
            f"{MIN_OUTPUT_TOKENS}, but got {budget} instead.",
            "max_output_tokens",
            "integer_below_min_value",
        )


def _check_format_name(text: Any) -> None:
    """A json_schema format without a name is refused before its schema is looked at:
    OpenAI answers the nested (chat) form, which has neither, with the name
    (openai/openai-node#1404); chat's checks would name the schema first."""
    spec = text.get("format") if isinstance(text, dict) else None
    if isinstance(spec, dict) and spec.get("type") == "json_schema" and "name" not in spec:
        raise missing_parameter("text.format.name")


def input_items(raw: Any) -> list[dict[str, Any]]:
    """`input` as a list of items: a string is one user message."""
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise invalid_request(
            "Invalid type for 'input': expected one of a string or array of input items, "
            "but got another type instead.",
            "input",
            "invalid_type",
        )
    return raw


def translate(
    body: dict[str, Any], history: list[dict[str, Any]], items: list[dict[str, Any]]
) -> Translation:
    """The chat-completions body of a Responses request, after `history` (earlier turns).

    `items` are the request's input items with references already replaced by the items
    they name (see references.py).
    """
    result = Translation(chat={}, items=items)
    messages: list[dict[str, Any]] = []
    if isinstance(body.get("instructions"), str):
        messages.append({"role": "developer", "content": body["instructions"]})
        result.origins.append("instructions")
    messages.extend(history)
    result.origins.extend([None] * len(history))
    known_calls = _call_ids(history)
    for index, item in enumerate(items):
        _append_item(messages, result.origins, item, index, known_calls)
    _check_every_call_answered(messages)
    result.chat = {"model": body.get("model"), "messages": messages, **_settings(body)}
    return result


def _append_item(
    messages: list[dict[str, Any]],
    origins: list[str | None],
    item: dict[str, Any],
    index: int,
    known_calls: set[str],
) -> None:
    kind = item.get("type", "message")
    where = f"input[{index}]"
    if kind == "message":
        messages.append(_message(item, where))
        origins.append(where)
    elif kind == "function_call":
        call = _tool_call(item, where)
        known_calls.add(call["id"])
        last = messages[-1] if messages else {}
        if last.get("role") == "assistant" and last.get("tool_calls") and origins[-1]:
            last["tool_calls"].append(call)
        else:
            messages.append({"role": "assistant", "tool_calls": [call]})
            origins.append(where)
    elif kind == "function_call_output":
        messages.append(_tool_result(item, where, known_calls))
        origins.append(where)
    elif kind != "reasoning":  # reasoning items handed back are accepted and not counted
        raise invalid_request(
            f"Invalid value: '{kind}'. Supported values are: 'message', 'function_call', "
            "'function_call_output', 'reasoning' and 'item_reference'.",
            f"{where}.type",
            "invalid_value",
        )


def _message(item: dict[str, Any], where: str) -> dict[str, Any]:
    role = item.get("role")
    if role not in ROLES:
        raise invalid_request(
            f"Invalid value: '{role}'. Supported values are: 'assistant', 'system', "
            "'developer', and 'user'.",
            f"{where}.role",
            "invalid_value",
        )
    content = item.get("content")
    if isinstance(content, list):
        content = [_part(part, f"{where}.content[{i}]") for i, part in enumerate(content)]
    return {"role": role, "content": content}


def _part(part: Any, where: str) -> dict[str, Any]:
    if not isinstance(part, dict):
        raise invalid_request(
            f"Invalid type for '{where}': expected an object, but got another type instead.",
            where,
            "invalid_type",
        )
    kind = part.get("type")
    if kind is None:
        raise missing_parameter(f"{where}.type")
    if kind in TEXT_PARTS:
        return {"type": "text", "text": part.get("text")}
    if kind == "refusal":
        return {"type": "refusal", "refusal": part.get("refusal")}
    if kind == "input_image":
        return {"type": "image_url", "image_url": {"url": part.get("image_url") or ""}}
    if kind in LISTED_PARTS:  # a file, a screenshot, a summary: not for this model
        raise invalid_request(
            f"Invalid content type. {kind} is only supported by certain models.",
            f"{where}.type",
            None,
        )
    raise invalid_request(
        f"Invalid value: {quoted_list([kind])}. Supported values are: "
        f"{quoted_list(list(LISTED_PARTS))}.",
        f"{where}.type",
        "invalid_value",
    )


def _tool_call(item: dict[str, Any], where: str) -> dict[str, Any]:
    for name in ("call_id", "name", "arguments"):
        if not isinstance(item.get(name), str):
            raise missing_parameter(f"{where}.{name}")
    return {
        "id": item["call_id"],
        "type": "function",
        "function": {"name": item["name"], "arguments": item["arguments"]},
    }


def _tool_result(item: dict[str, Any], where: str, known_calls: set[str]) -> dict[str, Any]:
    call_id = item.get("call_id")
    if not isinstance(call_id, str) or not isinstance(item.get("output"), str):
        raise invalid_request(
            f"Missing required parameter: '{where}.call_id' and '{where}.output'.",
            where,
            "missing_required_parameter",
        )
    if call_id not in known_calls:
        raise invalid_request(
            f"No tool call found for function call output with call_id {call_id}.",
            "input",
            None,
        )
    return {"role": "tool", "tool_call_id": call_id, "content": item["output"]}


def _check_every_call_answered(messages: list[dict[str, Any]]) -> None:
    """A function call (given, or of the previous response) needs its output: the service
    refuses the request, in its own words, not chat's "must be followed by tool messages"
    (openai-agents-python#673, azure-sdk-for-python#46092)."""
    answered = {m.get("tool_call_id") for m in messages if m.get("role") == "tool"}
    for message in messages:
        for call in message.get("tool_calls") or []:
            if call["id"] not in answered:
                raise invalid_request(
                    f"No tool output found for function call {call['id']}.", "input", None
                )


def _call_ids(messages: list[dict[str, Any]]) -> set[str]:
    return {call["id"] for message in messages for call in message.get("tool_calls") or []}


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    """Everything but the messages, in chat-completions words."""
    chat: dict[str, Any] = {name: body[name] for name in PASSED_THROUGH if name in body}
    if body.get("tools") is not None:
        chat["tools"] = [_chat_tool(tool, i) for i, tool in enumerate(_list(body, "tools"))]
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = _chat_tool_choice(body["tool_choice"])
    response_format = _response_format(body.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    effort = (body.get("reasoning") or {}).get("effort")
    if effort is not None:
        chat["reasoning_effort"] = effort
    if body.get("max_output_tokens") is not None:
        chat["max_completion_tokens"] = body["max_output_tokens"]
    if body.get("stream") is not None:
        chat["stream"] = body["stream"]
    return chat


def _list(body: dict[str, Any], name: str) -> list[Any]:
    value = body[name]
    if not isinstance(value, list):
        raise invalid_request(
            f"Invalid type for '{name}': expected an array, but got another type instead.",
            name,
            "invalid_type",
        )
    return value


def _chat_tool(tool: Any, index: int) -> dict[str, Any]:
    kind = tool.get("type") if isinstance(tool, dict) else None
    if kind != "function" or not isinstance(tool, dict):
        raise invalid_request(
            f"Tool type '{kind}' is not supported with this model. Supported values are: "
            "'function'.",
            f"tools[{index}].type",
            "unsupported_value",
        )
    function = {key: tool[key] for key in ("name", "description", "parameters") if key in tool}
    if tool.get("strict") is not None:
        function["strict"] = tool["strict"]
    return {"type": "function", "function": function}


def _chat_tool_choice(choice: Any) -> Any:
    """`{"type", "name"}` in chat's nested form; the type is carried as sent so that chat
    refuses a wrong one on `tool_choice.type`, and a missing name stays missing (not null)."""
    if not isinstance(choice, dict):
        return choice
    function = {"name": choice["name"]} if "name" in choice else {}
    return {"type": choice.get("type"), "function": function}


def _response_format(text: Any) -> dict[str, Any] | None:
    spec = text.get("format") if isinstance(text, dict) else None
    if not isinstance(spec, dict) or spec.get("type") in (None, "text"):
        return None
    if spec.get("type") != "json_schema":
        return {"type": spec["type"]}
    keys = ("name", "description", "schema", "strict")
    return {"type": "json_schema", "json_schema": {k: spec[k] for k in keys if k in spec}}


_MESSAGE_PARAM = re.compile(r"^messages\.?\[(\d+)\]")
_PART_TYPE_PARAM = re.compile(r"^messages\.?\[(\d+)\]\.content\.?\[(\d+)\]\.type$")
_QUOTED = re.compile(r"'([^']*)'")
# Chat's content part types as the Responses API names them, by the message's side: what a
# chat error lists must be what the Responses client may send. `input_audio` has no
# counterpart the mock accepts (see `_part`), so it is left out of the lists.
_INPUT_PART_NAMES = {"text": "input_text", "image_url": "input_image", "refusal": "refusal"}
_OUTPUT_PART_NAMES = {"text": "output_text", "refusal": "refusal"}


def rewrite_error(error: AzureError, translation: Translation) -> AzureError:
    """A chat-worded 400 in Responses words: params name the Responses fields, and
    content part types the ones the client sent and may send."""
    if error.status != 400 or not error.body.startswith(b"{\n"):
        return error
    detail = error.payload().get("error", {})
    param, message = detail.get("param"), detail.get("message", "")
    if not isinstance(param, str):
        return error
    message, new_param, code = _words(param, message, detail.get("code"), translation)
    rewritten = invalid_request(message, new_param, code)
    rewritten.headers.update(error.headers)
    return rewritten


def _words(
    param: str, message: str, code: str | None, translation: Translation
) -> tuple[str, str, str | None]:
    """The message, param and code of a chat error about the translated request."""
    tool_order = _tool_order_words(param, message, translation)
    if tool_order is not None:
        return tool_order, "input", None
    new_param = _responses_param(param, translation.origins)
    for old, new in _PARAM_WORDS:
        new_param = new_param.replace(old, new)
    message = message.replace(f"'{param}'", f"'{new_param}'")
    for old, new in _MESSAGE_WORDS:
        message = message.replace(old, new)
    part = _PART_TYPE_PARAM.match(param)
    if part is not None:
        message = _part_type_words(message, translation, int(part[1]), int(part[2]))
    return message, new_param, code


def _tool_order_words(param: str, message: str, translation: Translation) -> str | None:
    """Chat's tool-message order errors as the Responses API words a call and its output
    that do not pair up (see `_check_every_call_answered` and `_tool_result`): chat's
    wording names `tool_calls` and `tool_call_id`, which a Responses client never sent."""
    unanswered = re.search(r"did not have response messages: ([^,\s]+)", message)
    if unanswered is not None:
        return f"No tool output found for function call {unanswered[1]}."
    index = _MESSAGE_PARAM.match(param)
    if index is None or not message.startswith(_TOOL_REPLY_ERRORS):
        return None
    call_id = translation.chat["messages"][int(index[1])].get("tool_call_id")
    return f"No tool call found for function call output with call_id {call_id}."


# Chat's refusals of a tool message that answers no call of the message before it.
_TOOL_REPLY_ERRORS = (
    "Invalid parameter: messages with role 'tool' must be a response to",
    "Invalid parameter: 'tool_call_id' of ",
)


_MESSAGE_WORDS = (
    ("max_completion_tokens", "max_output_tokens"),
    ("'reasoning_effort'", "'reasoning.effort'"),
    (".function.", "."),
)
_PARAM_WORDS = (
    *_MESSAGE_WORDS,
    ("reasoning_effort", "reasoning.effort"),
    # The Responses json_schema format is flat: `text.format.schema`, not `.json_schema.`.
    ("response_format.json_schema.", "text.format."),
    ("response_format", "text.format"),
)


def _responses_param(param: str, origins: list[str | None]) -> str:
    match = _MESSAGE_PARAM.match(param)
    if param == "messages":
        return "input"
    if param.startswith("tools[") and ".function." in param:
        return param.replace(".function.", ".")
    if match is None:
        return param
    index = int(match.group(1))
    origin = origins[index] if index < len(origins) else None
    return (origin or "input") + param[match.end() :].replace(".[", "[")


def _part_type_words(message: str, translation: Translation, index: int, part: int) -> str:
    """Chat's part type names in a message about one content part, as Responses names:
    the refused type as sent, the supported ones as the message's role may send them."""
    chat_message = translation.chat["messages"][index]
    sent = _sent_part_type(translation, index, part)
    if sent is None:  # an earlier turn's message: no part the client sent in this request
        return message
    chat_type = chat_message["content"][part]["type"]
    names = _OUTPUT_PART_NAMES if chat_message["role"] == "assistant" else _INPUT_PART_NAMES
    head, marker, listed = message.partition("Supported values are: ")
    head = re.sub(rf"\b{re.escape(chat_type)}\b", sent, head)
    if not marker:
        return head
    supported = [names[name] for name in _QUOTED.findall(listed) if name in names]
    return f"{head}{marker}{quoted_list(supported)}."


def _sent_part_type(translation: Translation, index: int, part: int) -> str | None:
    origin = translation.origins[index] if index < len(translation.origins) else None
    found = re.fullmatch(r"input\[(\d+)\]", origin or "")
    if found is None:
        return None
    content = translation.items[int(found[1])].get("content")
    sent = content[part] if isinstance(content, list) and part < len(content) else None
    return str(sent["type"]) if isinstance(sent, dict) and "type" in sent else None
