"""Real Azure bodies from the vendored recordings (`tests/data/real-traffic/`), read with YAML/JSON.

Cassette formats differ (real-traffic-facts.md section 1): vcrpy `body.string`, old httpx
stubs `content`, go-vcr `body` (re-marshalled by the recorder, keys sorted), pydantic-ai
`parsed_body` (a YAML mapping: key order lost), DataDog test-agent JSON. Bodies keep the
server's key order only where the recorder kept the bytes; `order_kept` says which.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.support.testdata import AZURE_TRAFFIC, DATA_DIR, REAL_TRAFFIC

# Recorders that rewrite the body, so its key order is theirs, not Azure's.
ORDER_REWRITING_SOURCES = ("envoy-ai-gateway__", "pydantic-ai__")


class TolerantLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML has no stubs here
    """SafeLoader that reads aiohttp cassettes' `!!python/object/apply:` header names."""


def _first_item_as_str(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> str:
    assert isinstance(node, yaml.SequenceNode)
    return str(loader.construct_sequence(node)[0])


TolerantLoader.add_multi_constructor("tag:yaml.org,2002:python/object/apply:", _first_item_as_str)


@dataclass(frozen=True)
class RealBody:
    """One recorded response body."""

    source: str  # file name under real-traffic/azure/
    index: int  # interaction number in that file
    status: int | None
    date: datetime | None
    body: Any  # parsed JSON (dicts keep the recorded key order)
    order_kept: bool

    @property
    def label(self) -> str:
        return f"{self.source}[{self.index}]"


def azure_dir() -> Path:
    return AZURE_TRAFFIC


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=TolerantLoader)  # TolerantLoader is a SafeLoader


@cache
def azure_bodies() -> tuple[RealBody, ...]:
    """Every JSON response body of the Azure recordings, in file order."""
    bodies: list[RealBody] = []
    for path in sorted(azure_dir().iterdir()):
        if path.suffix == ".yaml":
            interactions = load_yaml(path).get("interactions", [])
        elif path.suffix == ".json":
            interactions = [json.loads(path.read_text(encoding="utf-8"))]
        else:
            continue
        for index, interaction in enumerate(interactions):
            body = _response_body(path.name, index, interaction["response"])
            if body is not None:
                bodies.append(body)
    return tuple(bodies)


def chat_completions() -> list[RealBody]:
    """The non-streamed `chat.completion` bodies."""
    return [
        real
        for real in azure_bodies()
        if isinstance(real.body, dict) and real.body.get("object") == "chat.completion"
    ]


@dataclass(frozen=True)
class RealStream:
    """One recorded `text/event-stream` body, as its parsed `data:` frames ([DONE] left out)."""

    source: str
    index: int
    frames: tuple[Any, ...]

    @property
    def label(self) -> str:
        return f"{self.source}[{self.index}]"


@cache
def azure_streams() -> tuple[RealStream, ...]:
    """Every streamed chat body of the Azure recordings (cassettes and raw SSE files)."""
    streams: list[RealStream] = []
    for path in sorted(azure_dir().iterdir()):
        if path.suffix == ".txt":
            texts = [path.read_text(encoding="utf-8")]
        elif path.suffix == ".yaml":
            interactions = load_yaml(path).get("interactions", [])
            texts = [_body_text(interaction["response"]) or "" for interaction in interactions]
        else:
            continue
        for index, text in enumerate(texts):
            frames = sse_frames(text)
            if frames:
                streams.append(RealStream(path.name, index, tuple(frames)))
    return tuple(streams)


def sse_frames(text: str) -> list[Any]:
    """The JSON payloads of the `data: {...}` lines of an SSE body."""
    return [
        json.loads(line.removeprefix("data: "))
        for line in text.splitlines()
        if line.startswith("data: {")
    ]


def _response_body(source: str, index: int, response: dict[str, Any]) -> RealBody | None:
    parsed = response.get("parsed_body")
    text = _body_text(response)
    if parsed is None and text is not None:
        try:
            parsed = json.loads(text)
        except ValueError:
            return None  # SSE or empty
    if parsed is None:
        return None
    order_kept = "parsed_body" not in response and not source.startswith(ORDER_REWRITING_SOURCES)
    return RealBody(source, index, _status(response), _date(response), parsed, order_kept)


def _body_text(response: dict[str, Any]) -> str | None:
    body = response.get("body", response.get("content"))
    if isinstance(body, dict):
        body = body.get("string")
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return body if isinstance(body, str) and body.strip() else None


def _status(response: dict[str, Any]) -> int | None:
    status = response.get("status", response.get("status_code", response.get("code")))
    if isinstance(status, dict):
        status = status.get("code")
    if isinstance(status, str):
        status = int(status.split()[0])
    return status if isinstance(status, int) else None


def _date(response: dict[str, Any]) -> datetime | None:
    headers = {str(k).lower(): v for k, v in (response.get("headers") or {}).items()}
    value = headers.get("date")
    if isinstance(value, list):
        value = value[0] if value else None
    return parsedate_to_datetime(value) if isinstance(value, str) else None


# --- error bodies quoted from real Azure traffic ---------------------------------------------


def issue_error_bodies() -> list[tuple[str, Any]]:
    """Error bodies from `real-traffic/issue-excerpts` that are whole JSON or Python literals."""
    path = REAL_TRAFFIC / "issue-excerpts" / "azure-error-bodies-from-issues.json"
    entries = json.loads(path.read_text(encoding="utf-8"))["entries"]
    found: list[tuple[str, Any]] = []
    for entry in entries:
        body = _literal(entry["body_verbatim"])
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            found.append((f"issue-excerpts:{entry['id']}", body))
    return found


def contract_note_error_bodies() -> list[tuple[str, Any]]:
    """Complete `{"error": ...}` bodies quoted in the contract notes, as extracted into data."""
    path = DATA_DIR / "reference" / "azure-contract-error-bodies.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    return [(f"azure-contract.md:{entry['line']}", entry["body"]) for entry in document["bodies"]]


def _literal(text: str) -> Any:
    """A JSON body, or the Python repr of one as SDK exceptions print it; else None."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        value = ast.literal_eval(text)
        json.dumps(value)  # an abridged repr with `...` is not a body
    except (ValueError, SyntaxError, TypeError):
        return None
    return value
