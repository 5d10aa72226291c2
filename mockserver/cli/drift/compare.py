"""Comparing the endpoint's answer to a probe with the mock's.

What is compared, and what is deliberately not:

- **status**: equal.
- **values that carry the contract**, at the paths in `COMPARED_VALUES`: `error.code`,
  `error.param`, `error.type`, the error `message` (with ids masked, see
  `normalize_message`), `object`, `model`, `choices[].finish_reason`, the roles. Equal.
- **the shape of the body**: the set of field paths (`choices[].message.content`) and the
  JSON types seen at each (`string`, `null`...), recursively through objects and arrays.
  Every other value is ignored: ids, `created`, content text, tool arguments, token
  counts, fingerprints, filter verdicts and obfuscation pads legitimately differ.
- **streams**: the order of frame kinds (`prompt-filter`, `role`, `content`, `arguments`,
  `finish`, `usage`, `done`, runs collapsed) and, per kind, the shape of its frames.
- **headers**: which of `AZURE_HEADERS` are present, and the media type of
  `Content-Type`. Only presence: `x-ms-region` naming another region, other rate-limit
  numbers or request ids are not drift.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mockserver.contract.schema_check import json_type

# The Azure response headers whose presence is compared (docs/fidelity.md, "Response
# shape and headers"); any other header (Date, Content-Length...) is ignored.
AZURE_HEADERS: tuple[str, ...] = (
    "apim-request-id",
    "x-request-id",
    "x-ms-region",
    "x-ms-client-request-id",
    "azureml-model-session",
    "x-ms-rai-invoked",
    "x-ms-deployment-name",
    "x-ms-is-spilled-over",
    "skip-error-remapping",
    "x-accel-buffering",
    "x-content-type-options",
    "strict-transport-security",
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-renewalperiod-requests",
    "x-ratelimit-renewalperiod-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
    "retry-after",
    "retry-after-ms",
    "api-supported-versions",
    "content-type",
)
# Paths whose values are compared; `message` values through `normalize_message`.
COMPARED_VALUES: tuple[str, ...] = (
    "error.code",
    "error.param",
    "error.type",
    "error.message",
    "message",
    "statusCode",
    "object",
    "model",
    "choices[].finish_reason",
    "choices[].message.role",
    "choices[].delta.role",
)
MESSAGE_PATHS = frozenset({"error.message", "message"})
_VOLATILE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|chatcmpl-[A-Za-z0-9]+|call_[A-Za-z0-9]+",
    re.IGNORECASE,
)
DONE = "[DONE]"


@dataclass(frozen=True)
class Answer:
    """What one side answered to one probe."""

    status: int | None  # None: no HTTP answer (see `transport_error`)
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    body: Any = None  # the parsed JSON body; the raw text when it is not JSON
    frames: tuple[Any, ...] | None = None  # a stream's `data:` payloads ("[DONE]" kept)
    transport_error: str | None = None


@dataclass(frozen=True)
class Difference:
    """One way the two answers differ."""

    aspect: str  # status, value, field, type, stream kinds, stream field, header, transport
    where: str  # a field path, a header name, a frame kind ("" for the whole answer)
    endpoint: str  # what the endpoint showed, in words
    mock: str  # what the mock showed

    def to_json(self) -> dict[str, str]:
        return {
            "aspect": self.aspect,
            "where": self.where,
            "endpoint": self.endpoint,
            "mock": self.mock,
        }


def compare(endpoint: Answer, mock: Answer) -> list[Difference]:
    """Every difference between two answers to the same probe (empty: no drift)."""
    if endpoint.transport_error or mock.transport_error:
        return _transport(endpoint, mock)
    found: list[Difference] = []
    if endpoint.status != mock.status:
        found.append(Difference("status", "", str(endpoint.status), str(mock.status)))
    found += compare_headers(endpoint.headers, mock.headers)
    if endpoint.frames is not None or mock.frames is not None:
        found += compare_streams(endpoint.frames or (), mock.frames or ())
    else:
        found += compare_bodies(endpoint.body, mock.body)
    return found


def _transport(endpoint: Answer, mock: Answer) -> list[Difference]:
    return [
        Difference(
            "transport",
            "",
            endpoint.transport_error or f"HTTP {endpoint.status}",
            mock.transport_error or f"HTTP {mock.status}",
        )
    ]


# --- headers ---------------------------------------------------------------------------------


def compare_headers(endpoint: dict[str, str], mock: dict[str, str]) -> list[Difference]:
    found = [
        Difference("header", name, _presence(name in endpoint), _presence(name in mock))
        for name in AZURE_HEADERS
        if (name in endpoint) != (name in mock)
    ]
    media = (_media_type(endpoint), _media_type(mock))
    if "content-type" in endpoint and "content-type" in mock and media[0] != media[1]:
        found.append(Difference("header", "content-type", media[0], media[1]))
    return found


def _presence(present: bool) -> str:
    return "present" if present else "absent"


def _media_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


# --- bodies ------------------------------------------------------------------------------------


def compare_bodies(endpoint: Any, mock: Any) -> list[Difference]:
    """Shapes (field paths and their JSON types), then the contract's values."""
    return compare_shapes(shape(endpoint), shape(mock)) + compare_values(endpoint, mock)


def shape(value: Any, path: str = "") -> dict[str, set[str]]:
    """Each field path in `value`, with the JSON types seen there (arrays: their items)."""
    found: dict[str, set[str]] = {}
    _walk(value, path or "$", found)
    return found


def _walk(value: Any, path: str, found: dict[str, set[str]]) -> None:
    found.setdefault(path, set()).add(json_type(value))
    if isinstance(value, dict):
        for key, item in value.items():
            _walk(item, key if path == "$" else f"{path}.{key}", found)
    elif isinstance(value, list):
        for item in value:
            _walk(item, f"{path}[]", found)


def merge_shapes(shapes: Iterable[dict[str, set[str]]]) -> dict[str, set[str]]:
    merged: dict[str, set[str]] = {}
    for one in shapes:
        for path, types in one.items():
            merged.setdefault(path, set()).update(types)
    return merged


def compare_shapes(endpoint: dict[str, set[str]], mock: dict[str, set[str]]) -> list[Difference]:
    """Paths on one side only (the shallowest of a missing subtree), and type mismatches."""
    found: list[Difference] = []
    for path in sorted(endpoint.keys() | mock.keys()):
        if path not in mock and parent(path) in mock:
            found.append(Difference("field", path, _subtree(endpoint, path), "missing"))
        elif path not in endpoint and parent(path) in endpoint:
            found.append(Difference("field", path, "missing", _subtree(mock, path)))
        elif path in endpoint and path in mock and endpoint[path] != mock[path]:
            found.append(Difference("type", path, *_pair(endpoint[path], mock[path])))
    return found


def parent(path: str) -> str:
    """`choices[].message` -> `choices[]`; `choices[]` -> `choices`; `id` -> `$`."""
    if path.endswith("[]"):
        return path[:-2]
    return path.rsplit(".", 1)[0] if "." in path else "$"


def _subtree(shapes: dict[str, set[str]], path: str) -> str:
    below = sum(1 for other in shapes if other.startswith((f"{path}.", f"{path}[]")))
    return _types(shapes[path]) + (f" (and {below} fields under it)" if below else "")


def _types(types: set[str]) -> str:
    return " or ".join(sorted(types))


def _pair(left: set[str], right: set[str]) -> tuple[str, str]:
    return _types(left), _types(right)


def compare_values(endpoint: Any, mock: Any) -> list[Difference]:
    found: list[Difference] = []
    for path in COMPARED_VALUES:
        left, right = values_at(endpoint, path), values_at(mock, path)
        if path in MESSAGE_PATHS:
            left = [normalize_message(v) for v in left]
            right = [normalize_message(v) for v in right]
        if left and right and left != right:
            found.append(Difference("value", path, _show(left), _show(right)))
    return found


def values_at(value: Any, path: str) -> list[Any]:
    """The values at a path such as `choices[].finish_reason`, in order (absent: skipped)."""
    nodes = [value]
    for part in path.split("."):
        key, many = part.removesuffix("[]"), part.endswith("[]")
        nodes = [node[key] for node in nodes if isinstance(node, dict) and key in node]
        if many:
            nodes = [item for node in nodes if isinstance(node, list) for item in node]
    return nodes


def normalize_message(message: Any) -> Any:
    """A message with request ids, completion ids and call ids masked as `<id>`."""
    return _VOLATILE.sub("<id>", message) if isinstance(message, str) else message


def _show(values: list[Any]) -> str:
    shown = values[0] if len(values) == 1 else values
    return json.dumps(shown, ensure_ascii=False)


# --- streams -----------------------------------------------------------------------------------


def frame_kind(frame: Any) -> str:
    """prompt-filter, role, content, arguments, finish, usage, error, done or other."""
    if frame == DONE:
        return "done"
    if not isinstance(frame, dict):
        return "other"
    if "error" in frame:
        return "error"
    if "prompt_filter_results" in frame:
        return "prompt-filter"
    choices = frame.get("choices")
    if not choices:
        return "usage" if frame.get("usage") else "other"
    return _choice_kind(choices[0])


def _choice_kind(choice: Any) -> str:
    if not isinstance(choice, dict):
        return "other"
    delta = choice.get("delta") or {}
    if choice.get("finish_reason") is not None:
        return "finish"
    if "role" in delta:
        return "role"
    if "tool_calls" in delta:
        return "arguments"
    return "content"


def kind_sequence(frames: Iterable[Any]) -> list[str]:
    """The frame kinds in order, each run of one kind collapsed to one entry."""
    kinds: list[str] = []
    for frame in frames:
        kind = frame_kind(frame)
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
    return kinds


def compare_streams(endpoint: Iterable[Any], mock: Iterable[Any]) -> list[Difference]:
    """The kind sequence, then per kind the frames' shapes and values, merged across kinds."""
    left, right = list(endpoint), list(mock)
    found: list[Difference] = []
    sequences = kind_sequence(left), kind_sequence(right)
    if sequences[0] != sequences[1]:
        found.append(Difference("stream kinds", "", *(" > ".join(s) for s in sequences)))
    return found + _per_kind_differences(_frames_by_kind(left), _frames_by_kind(right))


def _per_kind_differences(
    endpoint: dict[str, list[Any]], mock: dict[str, list[Any]]
) -> list[Difference]:
    """Each kind's differences; one found in several kinds is reported once, naming them."""
    kinds_of: dict[Difference, list[str]] = {}
    for kind in [k for k in endpoint if k in mock]:
        for difference in _kind_differences(endpoint[kind], mock[kind]):
            kinds_of.setdefault(difference, []).append(kind)
    return [
        Difference(
            f"stream {d.aspect}", f"{d.where} [{', '.join(kinds)} frames]", d.endpoint, d.mock
        )
        for d, kinds in kinds_of.items()
    ]


def _kind_differences(endpoint: list[Any], mock: list[Any]) -> list[Difference]:
    shapes = merge_shapes(shape(f) for f in endpoint), merge_shapes(shape(f) for f in mock)
    return compare_shapes(*shapes) + compare_values(endpoint[0], mock[0])


def _frames_by_kind(frames: list[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for frame in frames:
        kind = frame_kind(frame)
        if kind != "done":
            grouped.setdefault(kind, []).append(frame)
    return grouped
