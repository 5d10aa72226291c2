"""vcrpy and pytest-recording cassettes (YAML) converted into fixture files.

Read with `yaml.safe_load` only: a cassette with Python-object tags (aiohttp's recorder
writes `!!python/object/apply:multidict...`) is refused with a message, never executed.
Variants understood: vcrpy's `body.string` and `status.code`; old httpx stubs
(`content`, `status_code`); pydantic-ai's `parsed_body`; go-vcr (`url`, `code`); SSE
bodies, split back into frames. Secret headers are redacted on the way in.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from mockserver.fixtures import (
    SECRET_HEADER_PATTERNS,
    FixtureFile,
    Frame,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    redact_headers,
)

REDACT_PATTERNS = list(SECRET_HEADER_PATTERNS)


class CassetteError(ValueError):
    """A file that is not a cassette this importer can read safely."""


def import_cassette(path: Path) -> FixtureFile:
    import yaml  # only `fixtures import-vcr` reads YAML: the server starts without it

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.constructor.ConstructorError as error:
        raise CassetteError(
            f"{path}: holds Python-object YAML tags ({error.problem}); they are never executed. "
            "Re-record with a serializer that writes plain YAML."
        ) from None
    except (OSError, yaml.YAMLError) as error:
        raise CassetteError(f"{path}: not readable YAML ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise CassetteError(f"{path}: no `interactions` list: not a vcrpy cassette")
    return FixtureFile(interactions=[_interaction(item) for item in data["interactions"]])


def _interaction(item: dict[str, Any]) -> Interaction:
    request, response = item.get("request") or {}, item.get("response") or {}
    return Interaction(request=_request(request), response=_response(response))


def _request(request: dict[str, Any]) -> RecordedRequest:
    parts = urlsplit(str(request.get("uri") or request.get("url") or ""))
    body = request.get("parsed_body", request.get("body"))
    form = {k: v[0] if isinstance(v, list) else v for k, v in (request.get("form") or {}).items()}
    return RecordedRequest(
        method=str(request.get("method", "POST")).upper(),
        path=re.sub(r"/{2,}", "/", parts.path),  # "//openai/..." was sent as "/openai/..."
        query={**form, **dict(parse_qsl(parts.query))},  # go-vcr keeps the query in `form`
        headers=redact_headers(_headers(request.get("headers")), REDACT_PATTERNS),
        body=_json_or_text(body),
    )


def _response(response: dict[str, Any]) -> RecordedResponse:
    status = response.get("status")
    code = status.get("code") if isinstance(status, dict) else None
    code = code or response.get("status_code") or response.get("code") or 200
    headers = redact_headers(_headers(response.get("headers")), REDACT_PATTERNS)
    text = _body_text(response)
    content_type = next((v for k, v in headers.items() if k == "content-type"), "")
    if "event-stream" in content_type or text.lstrip().startswith("data:"):
        return RecordedResponse(status=int(code), headers=headers, frames=sse_frames(text))
    return RecordedResponse(status=int(code), headers=headers, body=text)


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
