"""Response ids: shaped as Azure's, unique, and reproducible when asked."""

from __future__ import annotations

import multiprocessing
import re
import uuid
from collections import Counter

import pytest

from mockserver.serialize import ids
from mockserver.serialize.ids import IdSource, random_uuid4

CHAT_ID = re.compile(r"chatcmpl-[A-Za-z0-9]{29}")


def test_request_ids_are_version_4_uuids_in_text_form() -> None:
    drawn = [random_uuid4() for _ in range(5000)]
    assert len(set(drawn)) == len(drawn)
    for text in drawn:
        parsed = uuid.UUID(text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text


def test_random_chat_ids_are_shaped_as_azure_and_distinct() -> None:
    source = IdSource(deterministic=False, fixed_created=0)
    made = {source.chat_completion(b"same digest").id for _ in range(2000)}
    assert len(made) == 2000
    assert all(CHAT_ID.fullmatch(made_id) for made_id in made)


def test_deterministic_ids_follow_the_digest() -> None:
    source = IdSource(deterministic=True, fixed_created=1_700_000_000)
    first, again = source.chat_completion(b"a"), source.chat_completion(b"a")
    assert first == again
    assert first.created == 1_700_000_000
    assert source.chat_completion(b"b").id != first.id
    assert CHAT_ID.fullmatch(first.id)


def _draw_in_child(queue: multiprocessing.Queue[str]) -> None:
    queue.put(random_uuid4())


def test_a_forked_worker_draws_other_ids_than_its_parent() -> None:
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[str] = context.Queue()
    children = [context.Process(target=_draw_in_child, args=(queue,)) for _ in range(2)]
    for child in children:
        child.start()
    drawn = {queue.get(timeout=30) for _ in children}
    for child in children:
        child.join(timeout=30)
    drawn.add(random_uuid4())
    assert len(drawn) == 3, "the id generator was not reseeded in a forked process"
    assert ids.random_uuid4() not in drawn


def test_random_base62_characters_are_uniform() -> None:
    # 62 x 4 byte values map to the characters, the 8 others are dropped: each character
    # has 1/62 of the draws. 62,016 characters: each count within ~6 sigma of 1,000.
    source = IdSource(deterministic=False, fixed_created=0)
    text = "".join(source.tool_call(b"", 0).removeprefix("call_") for _ in range(2584))
    counts = Counter(text)
    assert len(counts) == 62
    assert all(800 < count < 1200 for count in counts.values()), counts


def test_random_base62_draws_again_when_too_many_bytes_are_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    draws = iter([bytes([255] * 37), bytes(range(37))])
    monkeypatch.setattr(ids._ID_RANDOM, "randbytes", lambda _size: next(draws))
    made = IdSource(deterministic=False, fixed_created=0).chat_completion(b"").id
    assert made == "chatcmpl-abcdefghijklmnopqrstuvwxyzABC"
