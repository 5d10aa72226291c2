"""The streamed `chat.completion.chunk` frames, in the order and shape Azure sends them.

    data: {prompt filter results: empty choices, id, model, object; created 0}
    data: {role frame: delta {content "", refusal null, role}, or the first tool-call fragment}
    data: {content frames, each with the choice's content-filter verdicts}  (or argument pieces)
    data: {finish frame: delta {}, finish_reason}
    data: {usage frame: choices [] and the usage}   (with stream_options.include_usage)
    data: [DONE]

Keys are in Azure's alphabetical order; every model frame carries an `obfuscation` pad
as Azure's have since 2026 (with `reproducible_pads`, drawn from a generator seeded by the
response id, so a stream with a derived id is reproducible; otherwise drawn in bulk).

The frames that repeat (a content piece, a refusal piece, a tool call's argument piece) are
filled into a `FrameTemplate`: the bytes the same dict would give, made once per stream
with holes where the piece and the pad go, so a frame costs a join of its piece's JSON
(memoised for a text streamed again) and its pad between the template's pieces.
"""

from __future__ import annotations

import random
import string
import struct
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, repeat
from typing import Any, Protocol

import orjson

from mockserver.engines.reply import Choice, Completion
from mockserver.serialize.filters import completion_filter_results, prompt_filter_results
from mockserver.serialize.ids import ResponseIdentity
from mockserver.serialize.json import usage_object
from mockserver.serialize.template import HOLE, JsonTemplate, filled
from mockserver.support.memo import Memo
from mockserver.support.values import value
from mockserver.tokens import counting as tokens

DONE = b"data: [DONE]\n\n"
CHUNKING_MODES = ("token", "buffered")
_PAD_ALPHABET = string.ascii_letters + string.digits
_PAD_ALPHABET_BYTES = _PAD_ALPHABET.encode("ascii")
MAX_PAD = 16
_PAD_LENGTH_BITS = MAX_PAD.bit_length()  # what randrange(MAX_PAD) draws each try
_PAD_CHOICES = float(len(_PAD_ALPHABET))
# Bulk pads: a random byte below 248 (4 x 62) picks its character uniformly, the others are
# dropped; a byte's low 4 bits are a length uniform in 0..15, as randrange(MAX_PAD) draws.
_PAD_CHARACTERS = bytes.maketrans(bytes(range(248)), (_PAD_ALPHABET * 4).encode())
_PAD_DROPPED = bytes(range(248, 256))
_PAD_LENGTHS = bytes.maketrans(bytes(range(256)), bytes(byte % MAX_PAD for byte in range(256)))
PAD_BATCH = 64


class FrameSource(Protocol):
    """What a stream is made of: chat chunks or Responses API events, each frame complete."""

    def frames(self) -> Iterator[bytes]: ...

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
    # or random ones drawn in bulk, a batch of pads for a few C calls.
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

    def fill(self, *values: bytes) -> bytes:
        return filled(self.parts, values)

    def frames(self, *columns: Iterable[bytes]) -> Iterator[bytes]:
        """A frame per row of the columns' values, until the first column ends (the later
        ones are drawn from only once it has a value: a pad is drawn for each piece)."""
        rows: list[Iterable[bytes]] = [repeat(self.parts[0])]
        for column, part in zip(columns, self.parts[1:], strict=True):
            rows += (column, repeat(part))
        return map(b"".join, zip(*rows, strict=False))  # repeats and pads never end


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
        self._seeded: random.Random | None = None
        self._pads: Iterator[bytes] | None = None

    def frames(self) -> Iterator[bytes]:
        """The frames, made as they are read: chained iterators, not generators that yield
        from each other (a frame then passes no Python frame on its way out). Each frame
        that draws a pad is made only when it is reached, so the pads go in frame order."""
        opening = frame({**_EMPTY_IDENTITY, "prompt_filter_results": prompt_filter_results()})
        choices = map(self._choice_frames, self.completion.choices)
        return chain((opening,), chain.from_iterable(choices), self._closing_frames())

    def _closing_frames(self) -> Iterator[bytes]:
        if self.options.include_usage:
            yield self._model_frame([], usage=usage_object(self.completion.usage))
        yield DONE

    def error_frame(self, error: dict[str, Any], position: int) -> bytes:
        """Chat streams report a late error as a `data: {"error": ...}` frame."""
        return error_frame(error)

    def _choice_frames(self, choice: Choice) -> Iterator[bytes]:
        """Made when the choice's turn comes, so its first frame draws the next pad."""
        if choice.tool_calls:
            opened = self._tool_call_frames(choice)
        else:
            role = self._delta(choice, {"content": "", "refusal": None, "role": "assistant"}, {})
            verdicts = completion_filter_results(True)
            content = self._piece_frames(choice, choice.content, _content_delta, verdicts)
            refusal = self._piece_frames(choice, choice.refusal, _refusal_delta, {})
            opened = chain((role,), content, refusal)
        return chain(opened, self._finish_frame(choice))

    def _finish_frame(self, choice: Choice) -> Iterator[bytes]:
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
            yield from self._piece_frames(choice, call.arguments, _arguments_delta(position), {})

    def _piece_frames(
        self, choice: Choice, text: str | None, delta_for: DeltaOf, verdicts: dict[str, Any]
    ) -> Iterator[bytes]:
        """A frame per piece of `text` (a token, or a buffer of them), `delta_for` each:
        its template filled, in C from end to end (a map over the pieces and pads), or its
        own dict dumped in the (never seen) case that the stream's constants hold the hole.
        """
        text = text or ""
        jsons = self._piece_jsons(text)
        if not jsons:
            return iter(())
        pad = HOLE if self.options.obfuscation else None
        payload = self._model_payload([_choice(choice.index, verdicts, delta_for(HOLE), None)], pad)
        try:
            holes, bare = (1, 0) if pad is None else (2, 1)  # the pad's hole takes its letters
            template = FrameTemplate(payload, holes, bare)
        except ValueError:
            pieces = self._pieces(text)
            return (self._delta(choice, delta_for(piece), verdicts) for piece in pieces)
        if pad is None:
            return template.frames(jsons)
        # A pad is drawn only once a piece has come (the pads are drawn in frame order);
        # the pads never end, so the pieces end the frames.
        return template.frames(jsons, self._pad_stream())

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

    def _piece_jsons(self, text: str) -> list[bytes]:
        """Each piece's JSON string (the caller only reads the list)."""
        if self.options.chunking == "buffered":
            return list(map(orjson.dumps, self._pieces(text)))
        return token_piece_jsons(text)

    def _pad(self) -> str:
        return next(self._pad_stream()).decode("ascii")

    def _pad_stream(self) -> Iterator[bytes]:
        """The stream's pads, one per model frame: drawn from the response id, or random
        ones drawn in bulk (a batch at a time, with no Python run per pad)."""
        if self._pads is None:
            if self.options.reproducible_pads:
                self._pads = iter(self._reproducible_pad, None)
            else:
                self._pads = chain.from_iterable(map(random_pads, repeat(PAD_BATCH)))
        return self._pads

    def _reproducible_pad(self) -> bytes:
        # One generator per stream, seeded by the response id: the pads of a stream are
        # reproducible, and drawing one costs a few calls, not a hash per frame. The draws
        # are exactly `randrange(MAX_PAD)` then `choices(_PAD_ALPHABET, k=length)`, spelt
        # out: randrange takes 5-bit draws until one is below 16, and choices picks
        # alphabet[floor(random() * 62)] per character.
        if self._seeded is None:
            self._seeded = random.Random(self.identity.id)
        draw, unit = self._seeded.getrandbits, self._seeded.random
        length = draw(_PAD_LENGTH_BITS)
        while length >= MAX_PAD:
            length = draw(_PAD_LENGTH_BITS)
        return bytes([_PAD_ALPHABET_BYTES[int(unit() * _PAD_CHOICES)] for _ in range(length)])


def random_pads(count: int) -> tuple[bytes, ...]:
    """`count` pads (ASCII) with the lengths and characters `_reproducible_pad` draws
    (uniform), from a few bulk draws of random bytes rather than a draw per character, cut
    into pads by one `struct` unpack of their lengths (a slice per pad cost twice that)."""
    lengths = random.randbytes(count).translate(_PAD_LENGTHS)
    wanted = sum(lengths)
    characters = b""
    while len(characters) < wanted:  # a byte in 32 is dropped: rarely a second draw
        more = random.randbytes(wanted - len(characters) + 8)
        characters += more.translate(_PAD_CHARACTERS, _PAD_DROPPED)
    return struct.unpack_from(b"".join(map(_PAD_FORMATS.__getitem__, lengths)), characters)


_PAD_FORMATS = [b"%ds" % length for length in range(MAX_PAD)]  # a struct field per length


DeltaOf = Callable[[str], dict[str, Any]]


def _content_delta(piece: str) -> dict[str, Any]:
    return {"content": piece}


def _refusal_delta(piece: str) -> dict[str, Any]:
    return {"refusal": piece}


def _arguments_delta(position: int) -> DeltaOf:
    def delta(piece: str) -> dict[str, Any]:
        return {"tool_calls": [{"function": {"arguments": piece}, "index": position}]}

    return delta


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
    known = _PIECES.get(text)  # a stub's answer, or a prompt asked again
    if known is None:
        known = _pieces_by_token(tokens.encode(text))
        _PIECES.put(text, known)
    return list(known)  # the caller's own list: the memo's stays as it is


# Pieces by text: at most 4,096 texts and 8M characters (see `Memo`).
_PIECES: Memo[str, list[str]] = Memo(max_entries=4_096, max_size=8 * 2**20)


def token_piece_jsons(text: str) -> list[bytes]:
    """`token_pieces(text)`, each as its JSON string: a stub's answer streamed again is
    looked up, not dumped again. The list is the memo's own: read it, don't change it."""
    known = _PIECE_JSONS.get(text)
    if known is None:
        known = list(map(orjson.dumps, token_pieces(text)))
        _PIECE_JSONS.put(text, known)
    return known


# Dumped pieces by text: fewer texts than `_PIECES` (a bytes object costs ~35 bytes more
# than its JSON): at most 1,024 texts and 1M characters, ~15 MB at worst.
_PIECE_JSONS: Memo[str, list[bytes]] = Memo(max_entries=1_024, max_size=2**20)


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
