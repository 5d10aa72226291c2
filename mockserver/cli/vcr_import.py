"""vcrpy and pytest-recording cassettes (YAML) converted into fixture files.

Read with a bounded safe loader only: a cassette with Python-object tags (aiohttp's
recorder writes `!!python/object/apply:multidict...`) is refused with a message, never
executed; a file over `vcr_max_bytes`, or whose aliases would expand past `vcr_max_nodes`
nodes or `vcr_max_bytes` characters (a "billion laughs"), is refused before it is built.
Every cassette that cannot be converted is one `CassetteError` line naming the file (and
the interaction), never a traceback, and never quoting a value (it may be a secret).
Variants understood: vcrpy's `body.string` and `status.code`; old httpx stubs
(`content`, `status_code`); pydantic-ai's `parsed_body`; go-vcr (`url`, `code`); SSE
bodies, split back into frames. Credentials are redacted on the way in, by the same deny
list as recording (`mockserver.redaction.rules`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import ValidationError

from mockserver.recordings.fixtures import (
    FixtureFile,
    Frame,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)
from mockserver.redaction.rules import DEFAULT_POLICY, RedactionPolicy, redact_interaction


class CassetteError(ValueError):
    """A file that is not a cassette this importer can read safely."""


class _MalformedError(ValueError):
    """An interaction not shaped as any recorder writes one (the message names no value)."""


@dataclass(frozen=True)
class CassetteLimits:
    max_bytes: int = 32 * 1024 * 1024
    max_nodes: int = 200_000


def import_cassette(
    path: Path,
    limits: CassetteLimits | None = None,
    rules: RedactionPolicy = DEFAULT_POLICY,
) -> FixtureFile:
    """The cassette at `path` as fixtures, redacted; CassetteError (one line) if it cannot."""
    data = _load(path, limits or CassetteLimits())
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise CassetteError(f"{path}: no `interactions` list: not a vcrpy cassette")
    interactions = []
    for index, item in enumerate(data["interactions"]):
        try:
            interactions.append(redact_interaction(_interaction(item), rules))
        except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as error:
            raise CassetteError(f"{path}: interaction {index}: {_reason(error)}") from None
    return FixtureFile(interactions=interactions)


def _load(path: Path, limits: CassetteLimits) -> Any:
    import yaml  # only `fixtures import-vcr` reads YAML: the server starts without it

    text = _read_text(path, limits.max_bytes)
    loader = _bounded_loader(yaml)(text, limits)
    try:
        return loader.get_single_data()
    except _TooLargeError as error:
        raise CassetteError(f"{path}: {error}") from None
    except yaml.constructor.ConstructorError as error:
        if "python/" in str(error.problem):
            raise CassetteError(
                f"{path}: holds Python-object YAML tags ({error.problem}); they are never "
                "executed. Re-record with a serializer that writes plain YAML."
            ) from None
        raise CassetteError(f"{path}: not a plain YAML cassette ({_where(error)})") from None
    except yaml.YAMLError as error:
        raise CassetteError(f"{path}: not readable YAML ({_where(error)})") from None
    except RecursionError:
        raise CassetteError(f"{path}: nested too deeply to read") from None
    finally:
        loader.dispose()


class _TooLargeError(Exception):
    """The document would expand past a limit: refused before it is built."""


# Nesting deeper than this is refused: PyYAML composes recursively (Python's stack), and
# no recorded request or response nests anywhere near it.
MAX_YAML_DEPTH = 200


@cache
def _bounded_loader(yaml: Any) -> Any:
    """yaml.SafeLoader that counts, while composing, what each node expands to.

    An alias is a reference to an anchored node, so a small file can describe an
    exponentially large document; anything that walks it (str, json) expands it. Each
    node's expanded size (nodes, characters) is the sum of its children's, an alias
    counting its anchor's whole size each time it is used; past a limit, loading stops.
    """

    class BoundedLoader(yaml.SafeLoader):  # type: ignore[misc]
        def __init__(self, text: str, limits: CassetteLimits) -> None:
            super().__init__(text)
            self.limits = limits
            self.sizes: dict[int, tuple[int, int]] = {}  # id(node) -> its expanded size
            self.total = (0, 0)  # the document so far, expanded: nodes, characters
            self.depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            alias = self.check_event(yaml.AliasEvent)
            self.depth += 1
            if self.depth > MAX_YAML_DEPTH:
                raise _TooLargeError(f"nested deeper than {MAX_YAML_DEPTH} levels")
            try:
                node = super().compose_node(parent, index)
            finally:
                self.depth -= 1
            if alias and id(node) not in self.sizes:
                raise _TooLargeError("an alias refers to its own anchor (a recursive document)")
            if not alias:
                self.sizes[id(node)] = self._size(node)
            # A new node adds itself (its children were added as they came); an alias
            # adds everything its anchor expands to.
            added = self.sizes[id(node)] if alias else (1, _characters(node))
            self._grow(added)
            return node

        def _size(self, node: Any) -> tuple[int, int]:
            if isinstance(node, yaml.ScalarNode):
                return 1, len(node.value)
            children = node.value if isinstance(node, yaml.SequenceNode) else _pairs(node.value)
            sizes = [self.sizes[id(child)] for child in children]
            return 1 + sum(n for n, _ in sizes), sum(c for _, c in sizes)

        def _grow(self, added: tuple[int, int]) -> None:
            nodes, characters = self.total[0] + added[0], self.total[1] + added[1]
            self.total = nodes, characters
            if nodes > self.limits.max_nodes:
                raise _TooLargeError(
                    f"expands to more than {self.limits.max_nodes} YAML nodes (vcr_max_nodes); "
                    "aliases are counted each time they are used"
                )
            if characters > self.limits.max_bytes:
                raise _TooLargeError(
                    f"expands to more than {self.limits.max_bytes} characters (vcr_max_bytes); "
                    "aliases are counted each time they are used"
                )

    return BoundedLoader


def _characters(node: Any) -> int:
    return len(node.value) if isinstance(node.value, str) else 0


def _pairs(value: list[tuple[Any, Any]]) -> list[Any]:
    return [node for pair in value for node in pair]


def _read_text(path: Path, max_bytes: int) -> str:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise CassetteError(
                f"{path}: {size} bytes, over the {max_bytes}-byte limit (vcr_max_bytes)"
            )
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise CassetteError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise CassetteError(f"{path}: cannot be read ({error.strerror})") from None


def _where(error: Exception) -> str:
    """A YAML error in one line, with its position but not the text around it."""
    problem = getattr(error, "problem", None) or type(error).__name__
    mark = getattr(error, "problem_mark", None)
    position = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return " ".join(f"{problem}{position}".split())


def _reason(error: Exception) -> str:
    """Why an interaction could not be converted, without the value that caused it."""
    if isinstance(error, ValidationError):
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in error.errors()})
        return f"unexpected values in {', '.join(fields)}"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    if isinstance(error, _MalformedError):
        return str(error)
    return f"not the shape of a vcrpy interaction ({type(error).__name__})"


def _interaction(item: Any) -> Interaction:
    if not isinstance(item, dict):
        raise _MalformedError("an interaction is not a mapping")
    request, response = item.get("request") or {}, item.get("response") or {}
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise _MalformedError("its request and response are not both mappings")
    return Interaction(request=_request(request), response=_response(response))


def _request(request: dict[str, Any]) -> RecordedRequest:
    parts = urlsplit(str(request.get("uri") or request.get("url") or ""))
    body = request.get("parsed_body", request.get("body"))
    form = {k: v[0] if isinstance(v, list) else v for k, v in (request.get("form") or {}).items()}
    return RecordedRequest(
        method=str(request.get("method", "POST")).upper(),
        path=re.sub(r"/{2,}", "/", parts.path),  # "//openai/..." was sent as "/openai/..."
        query={**form, **dict(parse_qsl(parts.query))},  # go-vcr keeps the query in `form`
        headers=_headers(request.get("headers")),
        body=_json_or_text(body),
    )


def _response(response: dict[str, Any]) -> RecordedResponse:
    code = _status_code(response)
    headers = _headers(response.get("headers"))
    text = _body_text(response)
    content_type = next((v for k, v in headers.items() if k == "content-type"), "")
    if "event-stream" in content_type or text.lstrip().startswith("data:"):
        return RecordedResponse(status=code, headers=headers, frames=sse_frames(text))
    return RecordedResponse(status=code, headers=headers, body=text)


def _status_code(response: dict[str, Any]) -> int:
    status = response.get("status")
    code = status.get("code") if isinstance(status, dict) else None
    code = code or response.get("status_code") or response.get("code") or 200
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
        raise _MalformedError("its status code is not an HTTP status (100-599)")
    return code


def _body_text(response: dict[str, Any]) -> str:
    if "parsed_body" in response:
        return json.dumps(response["parsed_body"])
    body = response.get("body", response.get("content", ""))
    if isinstance(body, dict):
        body = body.get("string", "")
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return "" if body is None else str(body)


def _headers(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    flat: dict[str, str] = {}
    for name, value in raw.items():
        flat[str(name).lower()] = str(value[0]) if isinstance(value, list) and value else str(value)
    return flat


def _json_or_text(body: Any) -> Any:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return body
    return body


def sse_frames(text: str) -> list[Frame]:
    """A recorded SSE body back into its events (no timing was recorded: offset 0)."""
    events = [event for event in text.replace("\r\n", "\n").split("\n\n") if event.strip()]
    return [Frame(offset_ms=0.0, data=event.strip("\n") + "\n\n") for event in events]
