"""A completion answered again has its body filled into a template kept for it
(`serialize.json.chat_completion_body`): byte for byte the body written whole, with the
id and `created` of each answer; and `ByIdentity`, the memo that keeps the templates."""

from __future__ import annotations

import gc

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.engines.reply import Choice, Completion, ToolCall, Usage
from mockserver.serialize import json as bodies
from mockserver.serialize.ids import ResponseIdentity
from mockserver.serialize.template import HOLE, JsonTemplate
from mockserver.support.by_identity import ByIdentity

TEXTS = (
    st.none()
    | st.sampled_from(
        ['a "quote", a back\\slash, \n\t\x00 100% %s %b {} 👍🏽 東京', HOLE, "", "plain"]
    )
    | st.text(max_size=40)
)
CALLS = st.lists(
    st.builds(ToolCall, st.text(max_size=12), st.text(max_size=12), st.text(max_size=30)),
    max_size=2,
).map(tuple)
CHOICES = st.builds(
    Choice,
    st.integers(0, 3),
    TEXTS,
    st.sampled_from(["stop", "length", "tool_calls", "content_filter"]),
    CALLS,
    TEXTS,
    st.booleans(),
    st.sampled_from([{}, {"hate": "medium"}]),
)
COMPLETIONS = st.builds(
    Completion,
    st.lists(CHOICES, min_size=1, max_size=3).map(tuple),
    st.builds(Usage, st.integers(0, 9999), st.integers(0, 9999), st.integers(0, 9999)),
    st.sampled_from(["o3-mini-2025-01-31", HOLE]),
    st.none() | st.just("fp_e1882df059"),
)
IDENTITIES = st.builds(
    ResponseIdentity,
    st.from_regex(r"chatcmpl-[A-Za-z0-9]{29}", fullmatch=True),
    st.integers(0, 2**40),
)


@settings(max_examples=200, deadline=None)
@given(COMPLETIONS, st.lists(IDENTITIES, min_size=3, max_size=3), st.none() | st.just("default"))
def test_a_completion_answered_again_has_the_body_written_whole(
    completion: Completion, identities: list[ResponseIdentity], tier: str | None
) -> None:
    for identity in identities:  # the first is written whole, the next ones filled in
        body = bodies.chat_completion_body(completion, identity, tier)
        whole = bodies._chat_completion_json(completion, identity.created, identity.id, tier)
        assert body == whole
        assert orjson.loads(body)["id"] == identity.id
    # The same completion under another tier is not answered with the first's template.
    other = None if tier else "default"
    identity = identities[0]
    assert bodies.chat_completion_body(completion, identity, other) == (
        bodies._chat_completion_json(completion, identity.created, identity.id, other)
    )


def test_a_template_is_kept_from_the_second_answer() -> None:
    completion = Completion((Choice(0, "Hi", "stop"),), Usage(1, 2, 0), "o3-mini", None)
    bodies._BODIES.clear()
    bodies.chat_completion_body(completion, ResponseIdentity("chatcmpl-a", 1))
    assert bodies._BODIES.get(completion) is None
    bodies.chat_completion_body(completion, ResponseIdentity("chatcmpl-b", 2))
    assert bodies._BODIES.get(completion) is not None


def test_a_template_fills_its_holes_in_order() -> None:
    made = orjson.dumps({"a": HOLE, "b": [1, HOLE], "c": HOLE})
    template = JsonTemplate(made, 3)
    assert template.fill(b"1", b'"x"', b"null") == b'{"a":1,"b":[1,"x"],"c":null}'
    assert JsonTemplate(orjson.dumps([HOLE, HOLE]), 2).fill(b"1", b"2") == b"[1,2]"


def test_a_template_with_another_count_of_holes_is_refused() -> None:
    try:
        JsonTemplate(orjson.dumps([HOLE, HOLE]), 1)
    except ValueError as refused:
        assert "1 holes has 2" in str(refused)
    else:
        raise AssertionError("a template with a hole too many was made")


class Thing:
    """An object compared by identity only."""


def test_by_identity_keeps_values_of_the_very_objects() -> None:
    memo: ByIdentity[Thing, str] = ByIdentity(entries=2)
    first, second, third = Thing(), Thing(), Thing()
    memo.put(first, "first")
    memo.put(second, "second")
    assert (memo.get(first), memo.get(second), memo.get(third)) == ("first", "second", None)
    memo.put(third, "third")  # full: emptied, then filled again
    assert (len(memo), memo.get(first), memo.get(third)) == (1, None, "third")


def test_by_identity_holds_its_objects_so_their_ids_stay_theirs() -> None:
    memo: ByIdentity[Thing, str] = ByIdentity(entries=8)
    kept = Thing()
    memo.put(kept, "kept")
    kept_id = id(kept)
    del kept
    gc.collect()
    newcomers = [Thing() for _ in range(1000)]  # none of them can take the held one's id
    assert all(id(thing) != kept_id for thing in newcomers)
    assert all(memo.get(thing) is None for thing in newcomers)


def test_by_identity_seen_before_holds_the_object_seen() -> None:
    memo: ByIdentity[Thing, str] = ByIdentity(entries=8)
    once = Thing()
    assert not memo.seen_before(once)
    assert memo.seen_before(once)
    once_id = id(once)
    del once
    gc.collect()
    assert all(not memo.seen_before(Thing()) for _ in range(5)) and once_id is not None


def test_by_identity_is_bounded_by_size() -> None:
    memo: ByIdentity[Thing, bytes] = ByIdentity(entries=100, max_size=10)
    things = [Thing() for _ in range(4)]
    for thing in things[:3]:
        memo.put(thing, b"abcd", size=4)  # the third goes over 10: emptied first
    assert (len(memo), memo.size) == (1, 4)
    memo.put(things[3], b"x" * 11, size=11)  # larger than the bound: not kept at all
    assert (len(memo), memo.get(things[3])) == (1, None)
    memo.put(things[2], b"abcdef", size=6)  # replaced: its old size no longer counts
    assert memo.size == 6


def test_a_long_completion_is_written_whole_each_time_and_not_held() -> None:
    completion = Completion((Choice(0, "word " * 4000, "stop"),), Usage(1, 2, 0), "o3-mini", None)
    bodies._BODIES.clear()
    for n in range(3):
        identity = ResponseIdentity(f"chatcmpl-{n}", n)
        assert bodies.chat_completion_body(completion, identity) == (
            bodies._chat_completion_json(completion, n, identity.id, None)
        )
    assert bodies._BODIES.get(completion) is None and not bodies._BODIES.seen_before(completion)
