"""A run of templated frames (`sse.FrameRun`) wrapped as HTTP chunks in one join is
byte for byte its frames made one by one and framed as aiohttp frames each write; the
writer's blocks of runs and loose frames are the same bytes as framing every frame; the
pool's random pads come in turn, round its end."""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import sys
from itertools import islice

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.http import streaming
from mockserver.http.streaming import CRLF, chunk_heads, http_chunks, send_ready
from mockserver.serialize.pads import POOL_BITS, Pads, PooledPads, SeededPads, random_pads
from mockserver.serialize.sse import (
    FrameRun,
    FrameTemplate,
    PieceJsons,
    Segment,
    first_frame,
    frames_of,
)
from mockserver.serialize.template import HOLE

TEXTS = st.text(max_size=40) | st.text(min_size=4000, max_size=5000)  # a frame past 4 KiB


def template(constant: str, padded: bool) -> FrameTemplate:
    payload = {"a": constant, "delta": {"content": HOLE}, "id": "chatcmpl-x"}
    if padded:
        payload["obfuscation"] = HOLE
    return FrameTemplate(payload, 2 if padded else 1, 1 if padded else 0)


def run(constant: str, pieces: list[str], seed: str | None) -> FrameRun:
    pads = None if seed is None else SeededPads(seed)
    return FrameRun(template(constant, seed is not None), PieceJsons.of(pieces), pads)


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=30),
    st.lists(TEXTS, max_size=40),
    st.none() | st.text(max_size=8),
    st.integers(1, 50),
    st.integers(0, 3),
)
def test_a_wrapped_run_is_its_frames_framed_one_by_one(
    constant: str, pieces: list[str], seed: str | None, most: int, blocks_first: int
) -> None:
    """Wrapped a block at a time: the same bytes, pads included, as every frame made
    alone and framed as its own chunk; after some blocks, iterating gives the rest."""
    expected = list(run(constant, pieces, seed))
    wrapped = run(constant, pieces, seed)
    blocks: list[bytes] = []
    counts: list[int] = []
    while len(blocks) < blocks_first and (block := wrapped.wrapped(most, chunk_heads, CRLF)):
        blocks.append(block[0])
        counts.append(block[1])
    done = sum(counts)
    assert b"".join(blocks) == http_chunks(expected[:done])
    assert all(count <= most for count in counts)
    assert list(wrapped) == expected[done:]
    assert wrapped.wrapped(most, chunk_heads, CRLF) is None  # all made


def test_a_run_fills_its_template_as_the_frame_would_be_dumped() -> None:
    frames = list(run("c", ["Hello", ' "world"'], "chatcmpl-seed"))
    pads, _ = SeededPads("chatcmpl-seed").take(2)
    for frame, piece, pad in zip(frames, ["Hello", ' "world"'], pads, strict=True):
        payload = {
            "a": "c",
            "delta": {"content": piece},
            "id": "chatcmpl-x",
            "obfuscation": pad.decode(),
        }
        assert frame == b"data: " + orjson.dumps(payload) + b"\n\n"


def test_chunk_heads_are_each_size_in_hex_beyond_the_table() -> None:
    sizes = [0, 1, 15, 16, 4000, 4095, 4096, 70_000]
    for plus in (0, 7, 4090, 5000):
        heads = list(chunk_heads(sizes, plus, max(sizes)))
        assert heads == [b"%x\r\n" % (size + plus) for size in sizes]


def test_the_pools_pads_come_in_turn_round_its_end() -> None:
    pads = PooledPads()
    pool, lengths = pads.take(1 << POOL_BITS)  # the whole pool, from wherever it began
    assert len(pool) == 1 << POOL_BITS and list(lengths) == [len(pad) for pad in pool]
    again, _ = pads.take(1 << POOL_BITS)  # round the end back to the same place
    assert again == pool
    pads.take(len(pool) - 3)
    end, end_lengths = pads.take(10)  # three before the end, seven after it
    assert list(end) == list(pool[-3:]) + list(pool[:7])
    assert list(end_lengths) == [len(pad) for pad in end]
    assert list(islice(pads.stream(), 5)) == list(pool[7:12])


def test_streams_start_at_different_places_in_the_pool() -> None:
    starts = {PooledPads().take(8)[0] for _ in range(20)}
    assert len(starts) > 1


def test_random_pads_are_the_seeded_pads_alphabet_and_lengths() -> None:
    seeded, _ = SeededPads("chatcmpl-abc").take(2_000)
    alphabet = set(b"".join(seeded)) | set(b"".join(random_pads(2_000)))
    assert alphabet <= set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    assert {len(pad) for pad in seeded} == set(range(16))


def sent_bytes(segments: list[Segment], closing: bytes) -> tuple[bytes, int, int]:
    sends: list[bytes] = []

    async def send(framed: list[bytes]) -> None:
        sends.append(b"".join(framed))

    count = asyncio.run(send_ready(iter(segments), send, closing))
    return b"".join(sends), count, len(sends)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.lists(st.text(max_size=30), max_size=300).map(lambda pieces: ("run", pieces))
        | st.binary(max_size=600).map(lambda frame: ("frame", frame)),
        max_size=8,
    ),
    st.sampled_from([b"", b"0\r\n\r\n"]),
)
def test_ready_frames_go_out_as_every_frame_framed(
    parts: list[tuple[str, object]], closing: bytes
) -> None:
    """Runs and loose frames, any number of each (more than a block of each among them):
    the bytes sent are every frame as its own chunk, then `closing`, in sends of about
    SEND_BYTES; how many frames were sent is counted."""

    def segments(seed: str) -> list[Segment]:
        made: list[Segment] = []
        for kind, part in parts:
            made.append(run("k", part, seed) if kind == "run" else part)  # type: ignore[arg-type]
        return made

    frames = list(frames_of(segments("chatcmpl-s")))
    sent, count, sends = sent_bytes(segments("chatcmpl-s"), closing)
    assert sent == http_chunks(frames) + closing
    assert count == len(frames)
    most = len(sent) // streaming.SEND_BYTES + 2  # a send is full once over SEND_BYTES
    assert sends <= most


def test_the_first_frame_of_a_run_goes_first_and_the_rest_follow() -> None:
    segments: list[Segment] = [run("k", [], None), run("k", ["a", "b"], None), b"data: end\n\n"]
    expected = list(frames_of([run("k", [], None), run("k", ["a", "b"], None), b"data: end\n\n"]))
    first, rest = first_frame(iter(segments))
    assert first == expected[0]
    assert list(frames_of(rest)) == expected[1:]
    assert first_frame(iter([run("k", [], None)]))[0] is None


@pytest.mark.parametrize("source", ["pooled", "seeded"])
def test_pads_taken_with_a_tail_are_the_pads_then_the_tail(source: str) -> None:
    """Round the pool's end too, and for more tails than the pool is kept with."""
    pads: Pads = PooledPads() if source == "pooled" else SeededPads("chatcmpl-tails")
    for round_ in range(7):
        twin = copy.copy(pads) if source == "pooled" else None
        how_many = 1 << POOL_BITS if round_ == 3 else 300
        tail = b'","object":"chat.completion.chunk"}\n\n\r\n%d' % round_
        tailed, lengths = pads.take(how_many, tail)
        if twin is not None:
            bare, bare_lengths = twin.take(how_many)
        else:
            bare, bare_lengths = SeededPads("chatcmpl-tails").take(round_ * 300 + how_many)
            bare, bare_lengths = bare[-how_many:], bare_lengths[-how_many:]
        assert list(tailed) == [pad + tail for pad in bare]
        assert list(lengths) == list(bare_lengths) == [len(pad) for pad in bare]
        if source == "seeded":
            break  # the seeded stream goes on from where it was: one round is enough


def test_a_run_with_pooled_pads_is_wrapped_as_its_frames_one_by_one() -> None:
    pads = PooledPads()
    expected = list(FrameRun(template("k", True), PieceJsons.of(["w"] * 700), copy.copy(pads)))
    wrapped = FrameRun(template("k", True), PieceJsons.of(["w"] * 700), pads)
    blocks = []
    while block := wrapped.wrapped(256, chunk_heads, CRLF):
        blocks.append(block[0])
    assert b"".join(blocks) == http_chunks(expected)


KEPT_ENDS_PROBE = """
import copy, json
from mockserver.serialize.pads import PooledPads
start = PooledPads()  # every take below from this one place
tails = [b'","object":"chat.completion.chunk"}%d\\n\\n\\r\\n' % n for n in range(7)]
first, same_objects, same_values = {}, [], []
for round_ in range(3):  # the ends taking turns, three times over
    for n, tail in enumerate(tails):
        taken, _ = copy.copy(start).take(50, tail)
        bare, _ = copy.copy(start).take(50)
        first.setdefault(n, taken)
        same_objects.append(all(a is b for a, b in zip(first[n], taken)) if round_ else None)
        same_values.append(list(taken) == [pad + tail for pad in bare])
print(json.dumps({"same_objects": same_objects, "same_values": same_values}))
"""


def test_the_first_frame_ends_are_kept_and_others_never_make_the_pool_again() -> None:
    """In a fresh process: 7 ends taking turns. The first 4 are kept (the pads taken are
    the kept pool's own objects, round after round: never made again); the others are
    added to the pads taken, with the same values."""
    ran = subprocess.run(
        [sys.executable, "-c", KEPT_ENDS_PROBE], capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    probe = json.loads(ran.stdout)
    assert all(probe["same_values"])
    later_rounds = [same for same in probe["same_objects"] if same is not None]
    assert later_rounds == [True] * 4 + [False] * 3 + [True] * 4 + [False] * 3
