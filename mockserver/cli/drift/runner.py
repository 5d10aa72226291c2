"""Sending the battery to both sides and collecting the answers (stdlib HTTP, no SDK).

The SDK would retry, rename fields and hide headers; the drift check needs the bytes.
Requests are sequential, one probe at a time, each side in turn.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from http.client import HTTPResponse
from typing import Any
from urllib.parse import urlsplit

from mockserver.cli.drift.compare import DONE, Answer, compare
from mockserver.cli.drift.probes import Probe, Target, battery
from mockserver.cli.drift.report import DriftReport, ProbeResult
from mockserver.cli.progress import tracked

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
TIMEOUT_SECONDS = 300.0  # a reasoning model may think for minutes before it answers
Sender = Callable[[Probe, Target], Answer]


def verify(
    endpoint: Target,
    mock: Target,
    probes: Iterable[Probe] | None = None,
    send: Sender | None = None,
) -> DriftReport:
    """Send every probe to both sides and compare the answers."""
    sender = send or send_probe
    chosen = list(battery() if probes is None else probes)
    results = [
        _result(probe, sender(probe, endpoint), sender(probe, mock))
        for probe in tracked(chosen, len(chosen), "probes")
    ]
    return DriftReport(endpoint, mock, results)


def _result(probe: Probe, endpoint: Answer, mock: Answer) -> ProbeResult:
    return ProbeResult(probe, endpoint, mock, compare(endpoint, mock))


def send_probe(probe: Probe, target: Target) -> Answer:
    """POST one probe to one side; any HTTP status is an answer, a network failure too."""
    request = urllib.request.Request(
        probe.url(target),
        data=json.dumps(probe.body).encode("utf-8"),
        headers={"api-key": target.api_key, "Content-Type": "application/json", **probe.headers},
        method="POST",
    )
    try:
        with _opener(request.full_url).open(request, timeout=TIMEOUT_SECONDS) as response:
            return read_answer(response)
    except urllib.error.HTTPError as error:
        with error:
            return _answer(error.code, dict(error.headers.items()), error.read())
    except (urllib.error.URLError, OSError) as error:
        return Answer(status=None, transport_error=f"{type(error).__name__}: {error}")


def _opener(url: str) -> urllib.request.OpenerDirector:
    """Environment proxies apply to the endpoint, never to a mock on this machine."""
    if urlsplit(url).hostname in LOOPBACK:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def read_answer(response: HTTPResponse) -> Answer:
    return _answer(response.status, dict(response.getheaders()), response.read())


def _answer(status: int, headers: dict[str, str], raw: bytes) -> Answer:
    lowered = {name.lower(): value for name, value in headers.items()}
    text = raw.decode("utf-8", "replace")
    if lowered.get("content-type", "").startswith("text/event-stream"):
        return Answer(status, lowered, text, frames=tuple(sse_frames(text)))
    return Answer(status, lowered, _json_or_text(text))


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def sse_frames(text: str) -> list[Any]:
    """Each `data:` payload: parsed JSON, the `[DONE]` marker, or the raw text."""
    frames: list[Any] = []
    for line in text.splitlines():
        if line.startswith("data:"):
            payload = line.removeprefix("data:").strip()
            frames.append(DONE if payload == DONE else _json_or_text(payload))
    return frames
