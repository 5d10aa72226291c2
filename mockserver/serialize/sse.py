"""The streamed `chat.completion.chunk` frames, in the order and shape Azure sends them.

    data: {prompt filter results: empty choices, id, model, object; created 0}
    data: {role frame: delta {content "", refusal null, role}, or the first tool-call fragment}
    data: {content frames, each with the choice's content-filter verdicts}  (or argument pieces)
    data: {finish frame: delta {}, finish_reason}
    data: {usage frame: choices [] and the usage}   (with stream_options.include_usage)
    data: [DONE]

Keys are in Azure's alphabetical order; every model frame carries an `obfuscation` pad
as Azure's have since 2026 (derived from the request, so a stream is reproducible).
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from mockserver.engines.reply import Choice, Completion
from mockserver.serialize.filters import completion_filter_results, prompt_filter_results
from mockserver.serialize.ids import ResponseIdentity
from mockserver.serialize.json import usage_object
from mockserver.tokens import counting as tokens

DONE = b"data: [DONE]\n\n"
CHUNKING_MODES = ("token", "buffered")
_PAD_ALPHABET = string.ascii_letters + string.digits
MAX_PAD = 16


class FrameSource(Protocol):
    """What a stream is made of: chat chunks or Responses API events, each frame complete."""

    def frames(self) -> Iterator[bytes]: ...

    def error_frame(self, error: dict[str, Any], position: int) -> bytes:
        """The frame that reports an error after `position` frames were sent."""
        ...


@dataclass(frozen=True)
class StreamOptions:
    include_usage: bool
    chunking: str = "token"  # "token": a frame per token; "buffered": pieces of buffer_tokens
    buffer_tokens: int = 32
    obfuscation: bool = True
    service_tier: str | None = None  # named on every model frame when the request asked


def tokens_per_frame(chunking: str, buffer_tokens: int) -> int:
    """How many tokens each streamed frame carries (Azure's buffered filter mode: many)."""
    return buffer_tokens if chunking == "buffered" else 1


def frame(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def error_frame(error: dict[str, Any]) -> bytes:
    """An error after the stream started: the SDK raises `APIError` on it."""
    return frame({"error": error})


class ChunkStream:
    """The frames of one completion, in order; each is a complete `data:` event."""

    def __init__(
        self, completion: Completion, identity: ResponseIdentity, options: StreamOptions
    ) -> None:
        self.completion = completion
        self.identity = identity
        self.options = options
        self._pads: random.Random | None = None

    def frames(self) -> Iterator[bytes]:
        yield frame({**_EMPTY_IDENTITY, "prompt_filter_results": prompt_filter_results()})
        for choice in self.completion.choices:
            yield from self._choice_frames(choice)
        if self.options.include_usage:
            yield self._model_frame([], usage=usage_object(self.completion.usage))
        yield DONE

    def error_frame(self, error: dict[str, Any], position: int) -> bytes:
        """Chat streams report a late error as a `data: {"error": ...}` frame."""
        return error_frame(error)

    def _choice_frames(self, choice: Choice) -> Iterator[bytes]:
        if choice.tool_calls:
            yield from self._tool_call_frames(choice)
        else:
            yield self._delta(choice, {"content": "", "refusal": None, "role": "assistant"}, {})
            verdicts = completion_filter_results(True)
            for piece in self._pieces(choice.content or ""):
                yield self._delta(choice, {"content": piece}, verdicts)
            for piece in self._pieces(choice.refusal or ""):
                yield self._delta(choice, {"refusal": piece}, {})
        # A choice the output filter stopped carries its verdict on the finish frame.
        flagged = completion_filter_results(False, choice.filtered) if choice.filtered else {}
        yield self._model_frame([_choice(choice.index, flagged, {}, choice.finish_reason)])

    def _tool_call_frames(self, choice: Choice) -> Iterator[bytes]:
        first = {"content": None, "refusal": None, "role": "assistant"}
        for position, call in enumerate(choice.tool_calls):
            opening = {
                "function": {"arguments": "", "name": call.name},
                "id": call.id,
                "index": position,
                "type": "function",
            }
            yield self._delta(choice, {**first, "tool_calls": [opening]}, {})
            first = {}
            for piece in self._pieces(call.arguments):
                fragment = {"function": {"arguments": piece}, "index": position}
                yield self._delta(choice, {"tool_calls": [fragment]}, {})

    def _delta(self, choice: Choice, delta: dict[str, Any], verdicts: dict[str, Any]) -> bytes:
        return self._model_frame([_choice(choice.index, verdicts, delta, None)])

    def _model_frame(self, choices: list[dict[str, Any]], usage: Any = None) -> bytes:
        payload: dict[str, Any] = {
            "choices": choices,
            "created": self.identity.created,
            "id": self.identity.id,
            "model": self.completion.model,
        }
        if self.options.obfuscation:
            payload["obfuscation"] = self._pad()
        payload["object"] = "chat.completion.chunk"
        if self.options.service_tier is not None:
            payload["service_tier"] = self.options.service_tier
        payload["system_fingerprint"] = self.completion.system_fingerprint
        if self.options.include_usage:
            payload["usage"] = usage
        return frame(payload)

    def _pieces(self, text: str) -> list[str]:
        pieces = token_pieces(text)
        if self.options.chunking == "buffered":
            size = self.options.buffer_tokens
            return ["".join(pieces[i : i + size]) for i in range(0, len(pieces), size)]
        return pieces

    def _pad(self) -> str:
        # One generator per stream, seeded by the response id: the pads of a stream are
        # reproducible, and drawing one costs a call, not a hash per frame.
        if self._pads is None:
            self._pads = random.Random(self.identity.id)
        pads = self._pads
        return "".join(pads.choices(_PAD_ALPHABET, k=pads.randrange(MAX_PAD)))


_EMPTY_IDENTITY: dict[str, Any] = {"choices": [], "created": 0, "id": "", "model": "", "object": ""}


def _choice(
    index: int, verdicts: dict[str, Any], delta: dict[str, Any], finish_reason: str | None
) -> dict[str, Any]:
    return {
        "content_filter_results": verdicts,
        "delta": delta,
        "finish_reason": finish_reason,
        "index": index,
        "logprobs": None,
    }


def token_pieces(text: str) -> list[str]:
    """The text as the model emits it: one piece per token, whole characters only.

    A token can end inside a multi-byte character; its bytes wait for the next token,
    so the pieces always join back to exactly `text`.
    """
    pieces: list[str] = []
    pending = b""
    for token_bytes in tokens.encoding().decode_tokens_bytes(tokens.encode(text)):
        pending += token_bytes
        try:
            pieces.append(pending.decode("utf-8"))
        except UnicodeDecodeError:
            continue
        pending = b""
    if pending:
        pieces.append(pending.decode("utf-8", "replace"))
    return pieces
