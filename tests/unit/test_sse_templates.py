"""Frames filled into per-stream templates are byte for byte the frames their dicts give.

The reference below renders every frame the plain way (a dict per frame, dumped by orjson,
pads drawn with `randrange`/`choices`), as the stream did before it used templates.
"""

from __future__ import annotations

import dataclasses
import random
import string
from collections import Counter
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.engines.reply import Choice, Completion, ToolCall, Usage
from mockserver.serialize.filters import completion_filter_results, prompt_filter_results
from mockserver.serialize.ids import IdSource, ResponseIdentity
from mockserver.serialize.json import usage_object
from mockserver.serialize.pads import random_pads
from mockserver.serialize.sse import (
    DONE,
    ChunkStream,
    FrameTemplate,
    PieceJsons,
    StreamOptions,
    frame,
    token_piece_jsons,
    token_pieces,
)
from mockserver.serialize.template import HOLE
from mockserver.tokens import counting

ALPHABET = string.ascii_letters + string.digits
IDENTITY = ResponseIdentity("chatcmpl-test", 1_738_281_600)
USAGE = Usage(prompt_tokens=12, completion_tokens=90, reasoning_tokens=64)
ODD_TEXT = 'a "quote", a back\\slash, \n\t\r\x00\x1f\u2028 </script> 100% %s %b {} 👍🏽 東京 é'
OPTIONS = [
    StreamOptions(include_usage=False),
    StreamOptions(include_usage=True),
    StreamOptions(include_usage=True, obfuscation=False),
    StreamOptions(include_usage=False, service_tier="default"),
    StreamOptions(include_usage=True, chunking="buffered", buffer_tokens=5),
]


class Reference:
    """A stream rendered a frame at a time from its dict, the pads from the stdlib calls."""

    def __init__(self, done: Completion, identity: ResponseIdentity, options: StreamOptions):
        self.done, self.identity, self.options = done, identity, options
        self.pads = random.Random(identity.id)

    def frames(self) -> list[bytes]:
        empty = {"choices": [], "created": 0, "id": "", "model": "", "object": ""}
        out = [frame({**empty, "prompt_filter_results": prompt_filter_results()})]
        for choice in self.done.choices:
            out += self.choice_frames(choice)
        if self.options.include_usage:
            out.append(self.model([], usage_object(self.done.usage)))
        return [*out, DONE]

    def choice_frames(self, choice: Choice) -> list[bytes]:
        if choice.tool_calls:
            out = self.tool_call_frames(choice)
        else:
            out = [self.delta(choice, {"content": "", "refusal": None, "role": "assistant"}, {})]
            verdicts = completion_filter_results(True)
            for piece in self.pieces(choice.content):
                out.append(self.delta(choice, {"content": piece}, verdicts))
            for piece in self.pieces(choice.refusal):
                out.append(self.delta(choice, {"refusal": piece}, {}))
        flagged = completion_filter_results(False, choice.filtered) if choice.filtered else {}
        return [*out, self.model([self.choice(choice, flagged, {}, choice.finish_reason)])]

    def tool_call_frames(self, choice: Choice) -> list[bytes]:
        out, first = [], {"content": None, "refusal": None, "role": "assistant"}
        for position, call in enumerate(choice.tool_calls):
            function = {"arguments": "", "name": call.name}
            opening = {"function": function, "id": call.id, "index": position, "type": "function"}
            out.append(self.delta(choice, {**first, "tool_calls": [opening]}, {}))
            first = {}
            for piece in self.pieces(call.arguments):
                fragment = {"function": {"arguments": piece}, "index": position}
                out.append(self.delta(choice, {"tool_calls": [fragment]}, {}))
        return out

    def pieces(self, text: str | None) -> list[str]:
        pieces = token_pieces(text or "")
        if self.options.chunking != "buffered":
            return pieces
        size = self.options.buffer_tokens
        return ["".join(pieces[i : i + size]) for i in range(0, len(pieces), size)]

    def delta(self, choice: Choice, delta: dict[str, Any], verdicts: dict[str, Any]) -> bytes:
        return self.model([self.choice(choice, verdicts, delta, None)])

    @staticmethod
    def choice(
        choice: Choice, verdicts: dict[str, Any], delta: dict[str, Any], finish: str | None
    ) -> dict[str, Any]:
        return {
            "content_filter_results": verdicts,
            "delta": delta,
            "finish_reason": finish,
            "index": choice.index,
            "logprobs": None,
        }

    def model(self, choices: list[dict[str, Any]], usage: Any = None) -> bytes:
        payload: dict[str, Any] = {
            "choices": choices,
            "created": self.identity.created,
            "id": self.identity.id,
            "model": self.done.model,
        }
        if self.options.obfuscation:
            length = self.pads.randrange(16)
            payload["obfuscation"] = "".join(self.pads.choices(ALPHABET, k=length))
        payload["object"] = "chat.completion.chunk"
        if self.options.service_tier is not None:
            payload["service_tier"] = self.options.service_tier
        payload["system_fingerprint"] = self.done.system_fingerprint
        if self.options.include_usage:
            payload["usage"] = usage
        return frame(payload)


def completion(*choices: Choice, model: str = "o3-mini-2025-01-31") -> Completion:
    return Completion(choices, USAGE, model, "fp_test")


def assert_same_frames(done: Completion, identity: ResponseIdentity = IDENTITY) -> None:
    for options in OPTIONS:
        made = list(ChunkStream(done, identity, options).frames())
        assert made == Reference(done, identity, options).frames(), options


CALLS = (
    ToolCall("call_1", "get_weather", '{"city": "Paris", "note": "a \\"b\\" 東京 50%"}'),
    ToolCall("call_2", "lookup", "{}"),
)
CASES = {
    "text": (Choice(0, "Paris is the capital of France. Ça va? 東京 too.", "stop"),),
    "escapes": (Choice(0, ODD_TEXT * 3, "stop"),),
    "long": (Choice(0, "word " * 700, "length"),),
    "empty": (Choice(0, "", "length"),),
    "tool-calls": (Choice(0, None, "tool_calls", CALLS),),
    "refusal": (Choice(0, None, "stop", refusal='I can\'t help with "that" ✋'),),
    "content-filter": (Choice(0, "Some text.", "content_filter", filtered={"violence": "high"}),),
    "two-choices": (Choice(0, "first", "stop"), Choice(1, ODD_TEXT, "stop")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_kind_of_stream_equals_its_frame_by_frame_rendering(name: str) -> None:
    assert_same_frames(completion(*CASES[name]))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=120), st.text(max_size=60))
def test_any_text_and_arguments_give_the_same_bytes(text: str, arguments: str) -> None:
    assert_same_frames(completion(Choice(0, text, "stop")))
    call = ToolCall("call_9", "f", arguments)
    assert_same_frames(completion(Choice(0, None, "tool_calls", (call,))))


def test_constants_holding_the_hole_fall_back_to_the_frame_by_frame_bytes() -> None:
    """A model name that holds the template's hole cannot be templated: the same bytes."""
    done = completion(Choice(0, ODD_TEXT, "stop"), model=f"odd{HOLE}model")
    assert_same_frames(done)


def test_a_template_with_the_wrong_number_of_holes_is_refused() -> None:
    with pytest.raises(ValueError, match="2 holes"):
        FrameTemplate({"a": HOLE}, holes=2)


def test_a_template_fills_percent_signs_and_escapes_verbatim() -> None:
    template = FrameTemplate({"a": HOLE, "b": "100%", "c": HOLE}, holes=2)
    filled = template.fill(orjson.dumps('%s "x"'), orjson.dumps(None))
    assert filled == frame({"a": '%s "x"', "b": "100%", "c": None})


@pytest.mark.parametrize("text", [ODD_TEXT, "", "word " * 300, "💩" * 30 + "é" * 20])
def test_memoised_piece_jsons_are_the_pieces_dumped(text: str) -> None:
    fresh = [orjson.dumps(piece) for piece in uncached_pieces(text)]
    sizes = [len(json) for json in fresh]
    expected = PieceJsons(fresh, sizes, max(sizes, default=0))
    assert token_piece_jsons(text) == expected
    assert token_piece_jsons(text) == expected  # the memo's answer: the same


def test_a_bare_hole_takes_a_pads_letters_as_its_json_string() -> None:
    template = FrameTemplate({"a": HOLE, "b": "100%", "c": HOLE}, holes=2, bare=1)
    for pad in ("", "Ab3", "zZ09" * 3):
        filled = template.fill(orjson.dumps('%s "x"'), pad.encode("ascii"))
        assert filled == frame({"a": '%s "x"', "b": "100%", "c": pad})


def test_pads_are_those_drawn_before_templates_for_a_deterministic_id() -> None:
    """The pads of a stream whose id `--deterministic-ids` derived, as they were drawn
    with randrange/choices before this rendering (recorded from that code)."""
    identity = IdSource(True, 1_738_281_600).chat_completion(b"\x01" * 32)
    assert identity.id == "chatcmpl-GH0QWx4OCTfuwlOdR7RGbgXrp8W8y"
    done = completion(Choice(0, "Paris is the capital of France.", "stop"))
    frames = ChunkStream(done, identity, StreamOptions(include_usage=True)).frames()
    pads = [orjson.loads(raw[len(b"data: ") : -2])["obfuscation"] for raw in list(frames)[1:-1]]
    assert pads == "Y lSgZhAAqTkxdP 4xwjtuDo4 r7rmXQQxQ G8 kf 0 M nQwFF9A Iiw4LutLl".split()


def test_pads_match_the_stdlib_draws_for_many_ids() -> None:
    done = completion(Choice(0, "word " * 60, "stop"))
    for number in range(300):
        identity = ResponseIdentity(f"chatcmpl-{number}", 1)
        options = StreamOptions(include_usage=True)
        made = list(ChunkStream(done, identity, options).frames())
        assert made == Reference(done, identity, options).frames()


def uncached_pieces(text: str) -> list[str]:
    """Token pieces decoded token by token, as before the lookup of known tokens."""
    pieces, pending = [], b""
    for token_bytes in counting.encoding().decode_tokens_bytes(counting.encode(text)):
        pending += token_bytes
        try:
            pieces.append(pending.decode("utf-8"))
        except UnicodeDecodeError:
            continue
        pending = b""
    if pending:
        pieces.append(pending.decode("utf-8", "replace"))
    return pieces


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_token_pieces_are_the_same_with_known_tokens_looked_up(text: str) -> None:
    first, again = token_pieces(text), token_pieces(text)  # the second finds them known
    assert first == again == uncached_pieces(text)
    assert "".join(first) == text or "\ufffd" in "".join(first)


@pytest.mark.parametrize("text", [ODD_TEXT, "💩" * 30 + "é" * 20, "東京は日本の首都です。" * 5])
def test_multibyte_characters_split_across_tokens_stay_whole(text: str) -> None:
    assert token_pieces(text) == token_pieces(text) == uncached_pieces(text)
    assert "".join(token_pieces(text)) == text


def without_pads(raw: bytes) -> tuple[dict[str, Any], str | None]:
    if raw == DONE:
        return {}, None
    payload = orjson.loads(raw[len(b"data: ") : -2])
    return payload, payload.pop("obfuscation", None)


@pytest.mark.parametrize("name", list(CASES))
def test_random_pads_change_only_the_pads(name: str) -> None:
    """Without `reproducible_pads` the frames are the same but for their pads, which have
    the same alphabet and lengths (0 to 15)."""
    done = completion(*CASES[name])
    for options in OPTIONS:
        bulk = dataclasses.replace(options, reproducible_pads=False)
        made = [without_pads(raw) for raw in ChunkStream(done, IDENTITY, bulk).frames()]
        expected = [without_pads(raw) for raw in Reference(done, IDENTITY, options).frames()]
        assert [payload for payload, _ in made] == [payload for payload, _ in expected]
        assert [pad is None for _, pad in made] == [pad is None for _, pad in expected]
        assert all(set(pad) <= set(ALPHABET) and len(pad) < 16 for _, pad in made if pad)


def test_random_pads_are_uniform_in_length_and_character() -> None:
    pads = random_pads(32_000)
    assert len(pads) == 32_000
    lengths = Counter(map(len, pads))
    assert sorted(lengths) == list(range(16))
    assert all(1_600 < count < 2_400 for count in lengths.values())  # 2,000 expected
    characters = Counter(b"".join(pads).decode("ascii"))
    assert sorted(characters) == sorted(ALPHABET)
    assert all(3_100 < count < 4_700 for count in characters.values())  # ~3,870 expected


def test_random_pads_differ_between_streams() -> None:
    done = completion(Choice(0, "word " * 60, "stop"))
    options = StreamOptions(include_usage=True, reproducible_pads=False)
    first, second = (list(ChunkStream(done, IDENTITY, options).frames()) for _ in range(2))
    assert first != second
