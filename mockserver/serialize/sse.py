"""The streamed `chat.completion.chunk` frames, in the order and shape Azure sends them.

    data: {prompt filter results: empty choices, id, model, object; created 0}
    data: {role frame: delta {content "", refusal null, role}, or the first tool-call fragment}
    data: {content frames, each with the choice's content-filter verdicts}  (or argument pieces)
    data: {finish frame: delta {}, finish_reason}
    data: {usage frame: choices [] and the usage}   (with stream_options.include_usage)
    data: [DONE]

Keys are in Azure's alphabetical order; every model frame carries an `obfuscation` pad
as Azure's have since 2026 (`serialize.pads`: reproducible with a derived id).

The frames that repeat (a content piece, a refusal piece, a tool call's argument piece) are
filled into a `FrameTemplate`: the bytes the same dict would give, made once per stream
with holes where the piece and the pad go, so a frame costs a join of its piece's JSON
(memoised for a text streamed again) and its pad between the template's pieces. A stream
hands them over as a `FrameRun`, which the writer can wrap as HTTP chunks in the same join
that makes the frames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import chain, repeat
from operator import add
from typing import Any, Protocol, TypeAlias

import orjson

from mockserver.engines.reply import Choice, Completion
from mockserver.serialize.filters import completion_filter_results, prompt_filter_results
from mockserver.serialize.ids import ResponseIdentity
from mockserver.serialize.json import usage_object
from mockserver.serialize.pads import MAX_PAD, Pads, PooledPads, SeededPads
from mockserver.serialize.template import HOLE, JsonTemplate, filled
from mockserver.support.memo import Memo
from mockserver.support.values import value
from mockserver.tokens import counting as tokens

DONE = b"data: [DONE]\n\n"
CHUNKING_MODES = ("token", "buffered")


class FrameSource(Protocol):
    """What a stream is made of: chat chunks or Responses API events, each frame complete."""

    def segments(self) -> Iterator[Segment]:
        """The frames in order: each a frame's bytes, or a `FrameRun` of them."""
        ...

    def error_frame(self, error: dict[str, Any], position: int) -> bytes:
        """The frame that reports an error after `position` frames were sent."""
        ...


@value
class StreamOptions:
    include_usage: bool
    chunking: str = "token"  # "token": a frame per token; "buffered": pieces of buffer_tokens
    buffer_tokens: int = 32
    obfuscation: bool = True
    # The pads drawn from the response id (`--deterministic-ids`: the stream reproducible),
    # or random ones taken from the process's pool (`serialize.pads`).
    reproducible_pads: bool = True
    service_tier: str | None = None  # named on every model frame when the request asked


def tokens_per_frame(chunking: str, buffer_tokens: int) -> int:
    """How many tokens each streamed frame carries (Azure's buffered filter mode: many)."""
    return buffer_tokens if chunking == "buffered" else 1


def frame(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


class FrameTemplate:
    """A frame's bytes cut at their holes (`JsonTemplate`), each frame joined from the
    pieces and its values in C.

    Made by dumping the very dict the frame would be, with `HOLE` for each varying value,
    so a filled template is byte for byte the frame the dict would give.
    """

    def __init__(self, payload: dict[str, Any], holes: int, bare: int = 0) -> None:
        """`bare`: the last holes that take a string's characters as they are, not its
        JSON (a pad: letters and digits, which JSON does not escape)."""
        parts = JsonTemplate(frame(payload), holes).parts
        for hole in range(holes - bare, holes):  # the quotes go around the bare value
            parts[hole], parts[hole + 1] = parts[hole] + b'"', b'"' + parts[hole + 1]
        self.parts = parts
        self.size = sum(map(len, parts))  # a filled frame's bytes but for its values

    def fill(self, *values: bytes) -> bytes:
        return filled(self.parts, values)

    def frames(self, *columns: Iterable[bytes]) -> Iterator[bytes]:
        """A frame per row of the columns' values, until the first column ends (the later
        ones are drawn from only once it has a value: a pad is drawn for each piece)."""
        rows: list[Iterable[bytes]] = [repeat(self.parts[0])]
        for column, part in zip(columns, self.parts[1:], strict=True):
            rows += (column, repeat(part))
        return map(b"".join, zip(*rows, strict=False))  # repeats and pads never end


# A block of frames wrapped for the wire: each frame's head, from the frames' sizes
# (each `plus` bytes more, none above `largest` + `plus`).
Heads = Callable[[Iterable[int], int, int], Iterable[bytes]]


@value
class PieceJsons:
    """Each piece of a text streamed (a token, or a buffer of them) as its JSON string."""

    jsons: list[bytes]
    sizes: list[int]  # each one's length
    largest: int  # the longest one's

    @staticmethod
    def of(pieces: Iterable[str]) -> PieceJsons:
        jsons = list(map(orjson.dumps, pieces))
        sizes = list(map(len, jsons))
        return PieceJsons(jsons, sizes, max(sizes, default=0))


class FrameRun:
    """Frames filled into one template, one per piece: the piece's JSON in the first hole
    and, with `pads`, the next pad in the second. Read frame by frame (iterated), or
    `wrapped` a block at a time, each frame behind its head (an HTTP chunk's size line) in
    the same join that makes the frames: no frame is made on its own and copied again.
    Either way a frame's pad is drawn when its frame is made: the pads keep frame order."""

    __slots__ = ("_at", "_pads", "_pieces", "_template")

    def __init__(self, template: FrameTemplate, pieces: PieceJsons, pads: Pads | None) -> None:
        if len(template.parts) != (3 if pads is not None else 2):
            raise ValueError("a run fills a piece, and a pad when it has pads")
        self._template = template
        self._pieces = pieces  # read, never changed (may be a memo's)
        self._pads = pads
        self._at = 0  # the pieces before this one were made into frames

    def __iter__(self) -> Iterator[bytes]:
        """The frames not made yet, one by one (all of them: the run is done after)."""
        jsons = self._pieces.jsons[self._at :]
        self._at += len(jsons)
        if self._pads is None:
            return self._template.frames(jsons)
        return self._template.frames(jsons, self._pads.stream())

    def wrapped(self, most: int, heads: Heads, tail: bytes) -> tuple[bytes, int] | None:
        """The next frames, at most `most`, in one join, each as its head (`heads` of the
        frames' sizes), the frame, then `tail`; and how many. None once all are made."""
        start = self._at
        jsons = self._pieces.jsons[start : start + most]
        count = len(jsons)
        if not count:
            return None
        self._at = start + count
        sizes = self._pieces.sizes[start : start + count]
        parts, plus, largest = self._template.parts, self._template.size, self._pieces.largest
        # The list is laid out by extended slices, a column at a time, in C: zipping rows
        # made a tuple per frame and cost twice as much.
        if self._pads is None:
            items = [parts[0]] * (4 * count)
            items[0::4] = heads(sizes, plus, largest)
            items[2::4] = jsons
            items[3::4] = [parts[1] + tail] * count
        else:  # each pad comes with the frame's end and `tail` after it
            pads, pad_sizes = self._pads.take(count, parts[2] + tail)
            items = [parts[0]] * (5 * count)
            items[0::5] = heads(map(add, sizes, pad_sizes), plus, largest + MAX_PAD)
            items[2::5] = jsons
            items[3::5] = [parts[1]] * count
            items[4::5] = pads
        return b"".join(items), count


Segment: TypeAlias = "bytes | FrameRun"


def frames_of(segments: Iterable[Segment]) -> Iterator[bytes]:
    """Each frame of the segments, in order."""
    return chain.from_iterable(
        (segment,) if isinstance(segment, bytes) else segment for segment in segments
    )


def first_frame(segments: Iterator[Segment]) -> tuple[bytes | None, Iterator[Segment]]:
    """The first frame of the segments (None if there is none), and the segments after it."""
    for segment in segments:
        if isinstance(segment, bytes):
            return segment, segments
        frames = iter(segment)
        first = next(frames, None)
        if first is not None:
            return first, chain(frames, segments)
    return None, segments


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
        self._pads: Pads | None = None

    def segments(self) -> Iterator[Segment]:
        """The frames, made as they are read: chained iterators, not generators that yield
        from each other (a frame then passes no Python frame on its way out), a choice's
        pieces as one `FrameRun`. Each frame that draws a pad is made only when it is
        reached, so the pads go in frame order."""
        choices = map(self._choice_segments, self.completion.choices)
        return chain((_OPENING,), chain.from_iterable(choices), self._closing_frames())

    def frames(self) -> Iterator[bytes]:
        return frames_of(self.segments())

    def _closing_frames(self) -> Iterator[bytes]:
        if self.options.include_usage:
            yield self._model_frame([], usage=usage_object(self.completion.usage))
        yield DONE

    def error_frame(self, error: dict[str, Any], position: int) -> bytes:
        """Chat streams report a late error as a `data: {"error": ...}` frame."""
        return error_frame(error)

    def _choice_segments(self, choice: Choice) -> Iterator[Segment]:
        """Made when the choice's turn comes, so its first frame draws the next pad."""
        if choice.tool_calls:
            opened = self._tool_call_frames(choice)
        else:
            role = self._delta(choice, {"content": "", "refusal": None, "role": "assistant"}, {})
            verdicts = completion_filter_results(True)
            content = self._piece_segments(choice, choice.content, _content_delta, verdicts)
            refusal = self._piece_segments(choice, choice.refusal, _refusal_delta, {})
            opened = chain((role,), content, refusal)
        return chain(opened, self._finish_frame(choice))

    def _finish_frame(self, choice: Choice) -> Iterator[bytes]:
        # A choice the output filter stopped carries its verdict on the finish frame.
        flagged = completion_filter_results(False, choice.filtered) if choice.filtered else {}
        yield self._model_frame([_choice(choice.index, flagged, {}, choice.finish_reason)])

    def _tool_call_frames(self, choice: Choice) -> Iterator[Segment]:
        if choice.legacy_function_call:
            return self._function_call_frames(choice)
        return self._tool_calls_frames(choice)

    def _function_call_frames(self, choice: Choice) -> Iterator[Segment]:
        """The deprecated `functions`' one call, as `delta.function_call` pieces (OpenAI's
        legacy stream), as the whole answer's `message.function_call`."""
        call = choice.tool_calls[0]
        opening = {"arguments": "", "name": call.name}
        first = {"content": None, "function_call": opening, "refusal": None, "role": "assistant"}
        yield self._delta(choice, first, {})
        yield from self._piece_segments(choice, call.arguments, _function_arguments_delta, {})

    def _tool_calls_frames(self, choice: Choice) -> Iterator[Segment]:
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
            arguments = _arguments_delta(position)
            yield from self._piece_segments(choice, call.arguments, arguments, {})

    def _piece_segments(
        self, choice: Choice, text: str | None, delta_for: DeltaOf, verdicts: dict[str, Any]
    ) -> Iterable[Segment]:
        """A frame per piece of `text` (a token, or a buffer of them), `delta_for` each:
        a run of its template filled, in C from end to end (the pieces and pads joined
        between the template's parts), or its own dict dumped in the (never seen) case that
        the stream's constants hold the hole."""
        if not text:  # no refusal, no arguments: no frames, nothing to look up
            return ()
        jsons = self._piece_jsons(text)
        if not jsons.jsons:
            return ()
        pad = HOLE if self.options.obfuscation else None
        payload = self._model_payload([_choice(choice.index, verdicts, delta_for(HOLE), None)], pad)
        try:
            holes, bare = (1, 0) if pad is None else (2, 1)  # the pad's hole takes its letters
            template = FrameTemplate(payload, holes, bare)
        except ValueError:
            pieces = self._pieces(text)
            return (self._delta(choice, delta_for(piece), verdicts) for piece in pieces)
        # A pad is drawn only when its frame is made (the pads are drawn in frame order).
        return (FrameRun(template, jsons, None if pad is None else self._pad_source()),)

    def _delta(self, choice: Choice, delta: dict[str, Any], verdicts: dict[str, Any]) -> bytes:
        return self._model_frame([_choice(choice.index, verdicts, delta, None)])

    def _model_frame(self, choices: list[dict[str, Any]], usage: Any = None) -> bytes:
        pad = self._pad() if self.options.obfuscation else None
        return frame(self._model_payload(choices, pad, usage))

    def _model_payload(
        self, choices: list[dict[str, Any]], pad: str | None, usage: Any = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "choices": choices,
            "created": self.identity.created,
            "id": self.identity.id,
            "model": self.completion.model,
        }
        if pad is not None:
            payload["obfuscation"] = pad
        payload["object"] = "chat.completion.chunk"
        if self.options.service_tier is not None:
            payload["service_tier"] = self.options.service_tier
        payload["system_fingerprint"] = self.completion.system_fingerprint
        if self.options.include_usage:
            payload["usage"] = usage
        return payload

    def _pieces(self, text: str) -> list[str]:
        pieces = token_pieces(text)
        if self.options.chunking == "buffered":
            size = self.options.buffer_tokens
            return ["".join(pieces[i : i + size]) for i in range(0, len(pieces), size)]
        return pieces

    def _piece_jsons(self, text: str) -> PieceJsons:
        """Each piece's JSON string (the caller only reads them)."""
        if self.options.chunking == "buffered":
            return PieceJsons.of(self._pieces(text))
        return token_piece_jsons(text)

    def _pad(self) -> str:
        pads, _ = self._pad_source().take(1)
        return pads[0].decode("ascii")

    def _pad_source(self) -> Pads:
        """The stream's pads, one per model frame: drawn from the response id, or random
        ones taken from the pool."""
        if self._pads is None:
            reproducible = self.options.reproducible_pads
            self._pads = SeededPads(self.identity.id) if reproducible else PooledPads()
        return self._pads


DeltaOf = Callable[[str], dict[str, Any]]


def _content_delta(piece: str) -> dict[str, Any]:
    return {"content": piece}


def _refusal_delta(piece: str) -> dict[str, Any]:
    return {"refusal": piece}


def _function_arguments_delta(piece: str) -> dict[str, Any]:
    return {"function_call": {"arguments": piece}}


def _arguments_delta(position: int) -> DeltaOf:
    def delta(piece: str) -> dict[str, Any]:
        return {"tool_calls": [{"function": {"arguments": piece}, "index": position}]}

    return delta


# Every stream opens with the prompt's filter results, with no id and `created` 0.
_OPENING = frame(
    {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": prompt_filter_results(),
    }
)


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
    known = _PIECES.get(text)  # a stub's answer, or a prompt asked again
    if known is None:
        known = _pieces_by_token(tokens.encode(text))
        _PIECES.put(text, known)
    return list(known)  # the caller's own list: the memo's stays as it is


# Pieces by text: at most 4,096 texts and 8M characters (see `Memo`).
_PIECES: Memo[str, list[str]] = Memo(max_entries=4_096, max_size=8 * 2**20)


def token_piece_jsons(text: str) -> PieceJsons:
    """`token_pieces(text)`, each as its JSON string: a stub's answer streamed again is
    looked up, not dumped again. The lists are the memo's own: read them, don't change them."""
    known = _PIECE_JSONS.get(text)
    if known is None:
        known = PieceJsons.of(token_pieces(text))
        _PIECE_JSONS.put(text, known)
    return known


# Dumped pieces by text: fewer texts than `_PIECES` (a bytes object costs ~35 bytes more
# than its JSON): at most 1,024 texts and 1M characters, ~15 MB at worst.
_PIECE_JSONS: Memo[str, PieceJsons] = Memo(max_entries=1_024, max_size=2**20)


def _pieces_by_token(token_ids: list[int]) -> list[str]:
    pieces = list(map(_WHOLE_TOKENS.get, token_ids))
    if None in pieces:  # a token not seen yet, or one that is part of a character
        return _pieces_of(token_ids)
    return pieces  # type: ignore[return-value]  # no None in it


# The text of each token that decodes alone, by token id: most pieces are looked up, not
# decoded again. At most the o200k vocabulary (200,019 tokens); the bound keeps it smaller.
_WHOLE_TOKENS: dict[int, str] = {}
MAX_KNOWN_TOKENS = 65_536


def _pieces_of(token_ids: list[int]) -> list[str]:
    pieces: list[str] = []
    pending = b""
    decoded = tokens.encoding().decode_tokens_bytes(token_ids)
    for token_id, token_bytes in zip(token_ids, decoded, strict=True):
        joined = pending + token_bytes
        try:
            piece = joined.decode("utf-8")
        except UnicodeDecodeError:
            pending = joined
            continue
        if not pending and len(_WHOLE_TOKENS) < MAX_KNOWN_TOKENS:
            _WHOLE_TOKENS[token_id] = piece
        pieces.append(piece)
        pending = b""
    if pending:
        pieces.append(pending.decode("utf-8", "replace"))
    return pieces
