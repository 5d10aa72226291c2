"""The streamed Responses API: named SSE events, each with its `sequence_number`.

response.created, response.in_progress                     (the response, in progress)
per output item: response.output_item.added
    message:  content_part.added, output_text.delta..., output_text.done,
              content_part.done
    function_call: function_call_arguments.delta..., function_call_arguments.done
response.output_item.done
response.completed (or response.incomplete)                (the whole response)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from mockserver.serialize.sse import Segment, token_pieces


def event_frame(payload: dict[str, Any]) -> bytes:
    kind: str = payload["type"]
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


class ResponseEvents:
    """The events of one response, in order; `frames()` as the stream writer takes them."""

    def __init__(self, response: dict[str, Any], buffer_tokens: int = 1) -> None:
        self.response = response
        self.buffer_tokens = max(1, buffer_tokens)
        self._sequence = 0

    def segments(self) -> Iterator[Segment]:
        return self.frames()  # each event a frame of its own

    def frames(self) -> Iterator[bytes]:
        self._sequence = 0
        for payload in self.events():
            yield event_frame(payload)

    def error_frame(self, error: dict[str, Any], position: int) -> bytes:
        """The Responses `error` event, numbered after the last event sent."""
        payload = {
            "type": "error",
            "sequence_number": position,
            "code": error.get("code") or error.get("type"),
            "message": error.get("message", ""),
            "param": error.get("param"),
        }
        return event_frame(payload)

    def events(self) -> Iterator[dict[str, Any]]:
        opening = in_progress(self.response)
        yield self._event("response.created", response=opening)
        yield self._event("response.in_progress", response=opening)
        for index, item in enumerate(self.response["output"]):
            yield from self._item_events(index, item)
        final = "response.incomplete" if self.response["status"] == "incomplete" else None
        yield self._event(final or "response.completed", response=self.response)

    def _item_events(self, index: int, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield self._event("response.output_item.added", output_index=index, item=_opened(item))
        if item["type"] == "message":
            for part_index, part in enumerate(item["content"]):
                yield from self._part_events(index, item["id"], part_index, part)
        elif item["type"] == "function_call":
            yield from self._argument_events(index, item)
        yield self._event("response.output_item.done", output_index=index, item=item)

    def _part_events(
        self, index: int, item_id: str, part_index: int, part: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        where = {"item_id": item_id, "output_index": index, "content_index": part_index}
        refusal = part["type"] == "refusal"
        empty = {"type": "refusal", "refusal": ""} if refusal else {**part, "text": ""}
        yield self._event("response.content_part.added", **where, part=empty)
        text = part["refusal"] if refusal else part["text"]
        kind = "response.refusal" if refusal else "response.output_text"
        extra: dict[str, Any] = {} if refusal else {"logprobs": []}
        for piece in self._pieces(text):
            yield self._event(f"{kind}.delta", **where, delta=piece, **extra)
        done_key = "refusal" if refusal else "text"
        yield self._event(f"{kind}.done", **where, **{done_key: text}, **extra)
        yield self._event("response.content_part.done", **where, part=part)

    def _argument_events(self, index: int, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
        where = {"item_id": item["id"], "output_index": index}
        for piece in self._pieces(item["arguments"]):
            yield self._event("response.function_call_arguments.delta", **where, delta=piece)
        yield self._event(
            "response.function_call_arguments.done", **where, arguments=item["arguments"]
        )

    def _pieces(self, text: str) -> list[str]:
        pieces = token_pieces(text)
        size = self.buffer_tokens
        return ["".join(pieces[i : i + size]) for i in range(0, len(pieces), size)]

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        payload = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return payload


def in_progress(response: dict[str, Any]) -> dict[str, Any]:
    """The response as announced before any output: no output, no usage yet."""
    return {
        **response,
        "status": "in_progress",
        "incomplete_details": None,
        "output": [],
        "usage": None,
    }


def _opened(item: dict[str, Any]) -> dict[str, Any]:
    """An item as `output_item.added` announces it: in progress, nothing generated yet."""
    if item["type"] == "message":
        return {**item, "status": "in_progress", "content": []}
    if item["type"] == "function_call":
        return {**item, "status": "in_progress", "arguments": ""}
    return item
