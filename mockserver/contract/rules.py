"""o3-mini's own rules: which parameters it takes, and what it takes of a message."""

from __future__ import annotations

from typing import Any

from mockserver.contract.errors import AzureError, invalid_request
from mockserver.contract.model_card import ModelCard
from mockserver.contract.schema_check import quoted_list, string_too_long

# The service's limit on one string: "Expected a string with maximum length 10485760"
# in every 2025-2026 capture (OpenAI and Azure error texts quoted in client code); the
# 1048576 of older captures is gone. So a 1.2M-character prompt is refused for its tokens
# (`context_length_exceeded`), not for its length.
MAX_CONTENT_CHARACTERS = 10_485_760
FORBIDDEN = 403


def check_reasoning_effort_value(body: dict[str, Any], card: ModelCard) -> None:
    """A value other models take (`minimal`, `none`) is unsupported here, not invalid."""
    value = body.get("reasoning_effort")
    if value in card.reasoning_effort.known_elsewhere:
        raise unsupported_value("reasoning_effort", value, card.reasoning_effort.supported)


def check_parameter_rules(body: dict[str, Any], card: ModelCard) -> None:
    """Parameters o3-mini refuses. Azure reports these before a malformed message."""
    for name, value in body.items():
        # An explicit null means "not given"; so does the value the service defaults to.
        if value is None or _is_accepted_default(card, name, value):
            continue
        if name in card.forbidden_parameters:
            raise invalid_request(card.forbidden_parameters[name], None, None, FORBIDDEN)
        if name in card.unsupported_parameters:
            raise invalid_request(card.unsupported_parameters[name], name, "unsupported_parameter")


def check_supported_values(body: dict[str, Any], card: ModelCard) -> None:
    """Valid values o3-mini does not take (`modalities: ["audio"]`, `service_tier: "flex"`)."""
    for name, supported in card.supported_values.items():
        value = body.get(name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item not in supported:
                raise unsupported_value(name, item, supported)


def unsupported_value(name: str, value: str, supported: list[str]) -> AzureError:
    return invalid_request(
        f"Unsupported value: '{name}' does not support '{value}' with this model. "
        f"Supported values are: {quoted_list(supported)}.",
        name,
        "unsupported_value",
    )


def check_model_rules(body: dict[str, Any], card: ModelCard) -> None:
    messages: list[dict[str, Any]] = body["messages"]
    for index, message in enumerate(messages):
        _check_content(index, message, card)
    check_tool_message_order(messages)


def _is_accepted_default(card: ModelCard, name: str, value: Any) -> bool:
    if name not in card.accepted_defaults:
        return False
    default = card.accepted_defaults[name]
    # `true == 1` in Python; on the wire a boolean is never the number 1.
    return isinstance(value, bool) == isinstance(default, bool) and value == default


def _check_content(index: int, message: dict[str, Any], card: ModelCard) -> None:
    content = message.get("content")
    if isinstance(content, str):
        if len(content) > MAX_CONTENT_CHARACTERS:
            raise string_too_long(
                f"messages[{index}].content", MAX_CONTENT_CHARACTERS, len(content)
            )
        return
    for part_index, part in enumerate(content or []):
        kind = part.get("type")
        if kind not in card.supported_content_parts and kind != "refusal":
            raise invalid_request(
                f"Invalid content type. {kind} is only supported by certain models.",
                f"messages.[{index}].content.[{part_index}].type",
                None,
            )


def check_tool_message_order(messages: list[dict[str, Any]]) -> None:
    """Tool replies must answer the assistant `tool_calls` right before them, all of them."""
    run = _ToolRun()
    for index, message in enumerate(messages):
        if message["role"] == "tool":
            run.answer(index, message["tool_call_id"])
        else:
            run.close()
            run = _ToolRun.after(index, message)
    run.close()


class _ToolRun:
    """The tool calls of one assistant message and which of them are still unanswered."""

    def __init__(self, assistant_index: int = -1, call_ids: list[str] | None = None) -> None:
        self.assistant_index = assistant_index
        self.open = call_ids is not None
        self.pending = list(call_ids or [])

    @classmethod
    def after(cls, index: int, message: dict[str, Any]) -> _ToolRun:
        calls = message.get("tool_calls") if message["role"] == "assistant" else None
        if not calls:
            return cls()
        return cls(index, [call["id"] for call in calls])

    def answer(self, index: int, call_id: str) -> None:
        if not self.open:
            raise invalid_request(
                "Invalid parameter: messages with role 'tool' must be a response to a "
                "preceeding message with 'tool_calls'.",
                f"messages.[{index}].role",
                None,
            )
        if call_id not in self.pending:
            raise invalid_request(
                f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in 'tool_calls' "
                "of previous message.",
                f"messages.[{index}].tool_call_id",
                None,
            )
        self.pending.remove(call_id)

    def close(self) -> None:
        if not self.pending:
            return
        raise invalid_request(
            "An assistant message with 'tool_calls' must be followed by tool messages "
            "responding to each 'tool_call_id'. The following tool_call_ids did not have "
            f"response messages: {', '.join(self.pending)}",
            f"messages.[{self.assistant_index}].role",
            None,
        )
