"""Server-sent events read by hand, without an SDK: the bytes as they are on the wire."""

from __future__ import annotations

import json
from typing import Any

DONE = "[DONE]"


def sse_data(body: bytes) -> list[bytes]:
    """The `data:` payloads of a complete body of data-only events, each ended by a blank line."""
    assert body.endswith(b"\n\n"), body[-80:]
    payloads = []
    for event in body[:-2].split(b"\n\n"):
        assert event.startswith(b"data: "), event[:80]
        assert b"\n" not in event, f"an event of more than one line: {event[:80]!r}"
        payloads.append(event[len(b"data: ") :])
    return payloads


def parse_frames(body: bytes) -> list[Any]:
    """Each chat chunk's JSON, and the string `[DONE]` for the terminator."""
    return [DONE if data == b"[DONE]" else json.loads(data) for data in sse_data(body)]


def raw_events(data: bytes) -> list[str]:
    """A raw SSE body split into its events, each with its closing blank line."""
    text = data.decode()
    assert text.endswith("\n\n") or not text, f"the stream does not end an event: {text[-80:]!r}"
    return [event + "\n\n" for event in text.split("\n\n")[:-1]]


def named_events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """The (event name, data) pairs of a Responses stream; every block has both lines."""
    events = []
    for block in raw.decode().split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        assert len(lines) == 2, block
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        events.append((lines[0][len("event: ") :], json.loads(lines[1][len("data: ") :])))
    return events
