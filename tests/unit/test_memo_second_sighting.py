"""A `second_sighting` memo keeps a key the second time it is put: a stream of keys never
seen again keeps nothing alive, a key put again is kept as in any memo."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.support.memo import Memo


def test_a_key_is_kept_the_second_time_it_is_put() -> None:
    memo: Memo[str, int] = Memo(max_entries=4, max_size=100, second_sighting=True)
    memo.put("a", 1)
    assert memo.get("a") is None and len(memo) == 0
    memo.put("a", 1)
    assert memo.get("a") == 1 and len(memo) == 1 and memo.size == 1


def test_keys_put_once_keep_nothing() -> None:
    memo: Memo[str, int] = Memo(max_entries=4, max_size=10**6, second_sighting=True)
    for index in range(1000):
        memo.put(f"prompt {index}", index)
    assert len(memo) == 0 and memo.size == 0


def test_clear_forgets_the_sightings_too() -> None:
    memo: Memo[str, int] = Memo(max_entries=4, max_size=100, second_sighting=True)
    memo.put("a", 1)
    memo.clear()
    memo.put("a", 1)
    assert memo.get("a") is None


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.text(max_size=6), max_size=40))
def test_what_it_keeps_is_what_was_put(keys: list[str]) -> None:
    """Kept or not, a kept value is the one put under that key (bounded as without it)."""
    memo: Memo[str, str] = Memo(max_entries=8, max_size=30, second_sighting=True)
    for key in keys:
        memo.put(key, key.upper())
        kept = memo.get(key)
        assert kept is None or kept == key.upper()
        assert len(memo) <= 8 and memo.size <= 30
