"""Request matchers: small named units that compose, for stub rules and journal checks.

A `RequestMatch` is the JSON a user writes ("last user message contains 'weather' and
tools offered include get_weather"); it matches a `RequestView` (what a request was)
and explains a miss in words, so a failed verification says what differed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from mockserver.support.json_values import writable
from mockserver.support.regexes import linear_regex, searched
from mockserver.support.values import value


@value
class RequestView:
    """What a chat request was, as matchers see it."""

    surface: str  # "dated" or "v1"
    deployment: str
    api_version: str | None
    headers: Mapping[str, str]
    body: dict[str, Any] = field(default_factory=dict)
    size: int = 0  # the body's bytes as sent: a long one is matched off the event loop

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages")
        return messages if isinstance(messages, list) else []


class TextMatch(BaseModel):
    """Exactly one of: equals, contains, regex (RE2 syntax, searched anywhere)."""

    model_config = ConfigDict(extra="forbid")

    equals: str | None = None
    contains: str | None = None
    regex: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TextMatch:
        given = [v for v in (self.equals, self.contains, self.regex) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of equals, contains, regex")
        if self.regex is not None:
            linear_regex(self.regex)
        return self

    def matches(self, text: str | None) -> bool:
        if text is None:
            return False
        if self.equals is not None:
            return text == self.equals
        if self.contains is not None:
            return self.contains in text
        return searched(linear_regex(self.regex or ""), text)

    def describe(self) -> str:
        """The condition as a verb phrase: "contain 'weather'"."""
        if self.equals is not None:
            return f"equal {self.equals!r}"
        if self.contains is not None:
            return f"contain {self.contains!r}"
        return f"match /{self.regex}/"


class RequestMatch(BaseModel):
    """Every field given must hold; an empty match matches every chat request."""

    model_config = ConfigDict(extra="forbid")

    deployment: str | None = None
    route: Literal["dated", "v1"] | None = None
    api_version: str | None = None
    last_user_message: TextMatch | None = None
    any_message: TextMatch | None = None
    system_prompt: TextMatch | None = Field(
        default=None, description="the developer or system message"
    )
    tools_offered: list[str] | None = Field(
        default=None, description="every one of these function names is offered"
    )
    tool_result_present: bool | None = None
    stream: bool | None = None
    headers: dict[str, TextMatch] | None = None
    body: Annotated[dict[str, Any] | None, AfterValidator(writable)] = Field(
        default=None,
        description='JSON paths of the body and the value each must equal, e.g. {"n": 2, '
        '"messages[0].role": "developer", "response_format.type": "json_schema"}',
    )

    def matches(self, request: RequestView) -> bool:
        # Stops at the first check that fails; a check whose field is not given costs a test.
        return not any(check(self, request) for check in _CHECKS)

    def mismatches(self, request: RequestView) -> list[str]:
        """What does not hold, one sentence each; empty when the request matches."""
        return [reason for check in _CHECKS if (reason := check(self, request))]


def last_user_text(messages: list[dict[str, Any]]) -> str | None:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return None


def message_text(message: dict[str, Any]) -> str:
    return content_text(message.get("content"))


def content_text(content: Any) -> str:
    """A message content as text: the string, or its text parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text") or "" for p in content if isinstance(p, dict))
    return ""


def json_path(body: Any, path: str) -> Any:
    """`messages[0].role` in `body`; a missing step gives the sentinel MISSING."""
    node = body
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            index = int(part[1:-1])
            node = node[index] if isinstance(node, list) and index < len(node) else MISSING
        else:
            node = node.get(part, MISSING) if isinstance(node, dict) else MISSING
        if node is MISSING:
            return MISSING
    return node


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


def _equal(name: str, wanted: Any, actual: Any) -> str | None:
    if wanted is None or wanted == actual:
        return None
    return f"{name} is {actual!r}, not {wanted!r}"


def _text(name: str, matcher: TextMatch | None, text: str | None) -> str | None:
    if matcher is None or matcher.matches(text):
        return None
    return f"{name} is {text!r}, which does not {matcher.describe()}"


def _check_identity(match: RequestMatch, request: RequestView) -> str | None:
    return (
        _equal("deployment", match.deployment, request.deployment)
        or _equal("route", match.route, request.surface)
        or _equal("api-version", match.api_version, request.api_version)
        or _equal("stream", match.stream, bool(request.body.get("stream")))
    )


def _check_last_user(match: RequestMatch, request: RequestView) -> str | None:
    if match.last_user_message is None:
        return None
    return _text("the last user message", match.last_user_message, last_user_text(request.messages))


def _check_any_message(match: RequestMatch, request: RequestView) -> str | None:
    if match.any_message is None:
        return None
    texts = [message_text(m) for m in request.messages]
    if any(match.any_message.matches(text) for text in texts):
        return None
    return f"no message does {match.any_message.describe()}"


def _check_system(match: RequestMatch, request: RequestView) -> str | None:
    if match.system_prompt is None:
        return None
    prompts = [m for m in request.messages if m.get("role") in ("developer", "system")]
    text = message_text(prompts[0]) if prompts else None
    return _text("the developer/system prompt", match.system_prompt, text)


def _check_tools(match: RequestMatch, request: RequestView) -> str | None:
    if match.tools_offered is None:
        return None
    offered = {(tool.get("function") or {}).get("name") for tool in request.body.get("tools") or []}
    missing = [name for name in match.tools_offered if name not in offered]
    return f"tools {missing} are not offered" if missing else None


def _check_tool_result(match: RequestMatch, request: RequestView) -> str | None:
    if match.tool_result_present is None:
        return None
    present = any(m.get("role") in ("tool", "function") for m in request.messages)
    return _equal("a tool result present", match.tool_result_present, present)


def _check_headers(match: RequestMatch, request: RequestView) -> str | None:
    if not match.headers:
        return None
    received = {name.lower(): value for name, value in request.headers.items()}
    for name, matcher in match.headers.items():
        if reason := _text(f"header {name}", matcher, received.get(name.lower())):
            return reason
    return None


def _check_body(match: RequestMatch, request: RequestView) -> str | None:
    if not match.body:
        return None
    for path, wanted in match.body.items():
        actual = json_path(request.body, path)
        if actual != wanted:
            return f"body {path} is {actual!r}, not {wanted!r}"
    return None


_CHECKS = (
    _check_identity,
    _check_last_user,
    _check_any_message,
    _check_system,
    _check_tools,
    _check_tool_result,
    _check_headers,
    _check_body,
)
