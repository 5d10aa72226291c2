"""The bounded memo behind token counts and request facts."""

from __future__ import annotations

import threading

import pytest

from mockserver.support.memo import Memo, Once


def test_a_kept_value_is_returned_and_a_missing_one_is_none() -> None:
    memo: Memo[str, int] = Memo(max_entries=4, max_size=100)
    memo.put("alpha", 1)
    assert memo.get("alpha") == 1
    assert memo.get("beta") is None


def test_the_least_recently_used_entry_goes_first() -> None:
    memo: Memo[str, int] = Memo(max_entries=2, max_size=100)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1  # "b" is now the least recently used
    memo.put("c", 3)
    assert memo.get("b") is None
    assert (memo.get("a"), memo.get("c")) == (1, 3)
    assert len(memo) == 2


def test_the_summed_size_of_the_keys_is_bounded() -> None:
    memo: Memo[bytes, int] = Memo(max_entries=100, max_size=10)
    memo.put(b"xxxx", 1)
    memo.put(b"yyyy", 2)
    memo.put(b"zzzz", 3)  # 12 bytes in all: the oldest goes
    assert memo.get(b"xxxx") is None
    assert memo.size == 8
    memo.put(b"yyyy", 20)  # replacing a value does not count its key twice
    assert memo.size == 8
    assert memo.get(b"yyyy") == 20


def test_a_key_larger_than_the_whole_memo_is_not_kept() -> None:
    memo: Memo[str, int] = Memo(max_entries=100, max_size=10)
    memo.put("short", 1)
    memo.put("x" * 11, 2)
    assert memo.get("x" * 11) is None
    assert memo.get("short") == 1


def test_clear_empties_it() -> None:
    memo: Memo[str, int] = Memo(max_entries=4, max_size=100)
    memo.put("a", 1)
    memo.clear()
    assert (len(memo), memo.size, memo.get("a")) == (0, 0, None)


def test_threads_sharing_it_keep_its_bounds() -> None:
    memo: Memo[str, int] = Memo(max_entries=50, max_size=400)

    def churn(offset: int) -> None:
        for n in range(2000):
            key = f"{offset}-{n}"
            memo.put(key, n)
            memo.get(f"{offset}-{n // 2}")

    threads = [threading.Thread(target=churn, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(memo) <= 50
    assert memo.size <= 400


def test_once_builds_its_value_once_for_threads_asking_together() -> None:
    builds: list[int] = []
    started = threading.Event()

    def build() -> int:
        started.wait(timeout=10)
        builds.append(1)
        return 42

    once: Once[int] = Once(build)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(once.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    started.set()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [42] * 8
    assert builds == [1]


def test_once_tries_again_after_a_failed_build() -> None:
    attempts: list[int] = []

    def build() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("the data file is missing")
        return "built"

    once: Once[str] = Once(build)
    with pytest.raises(RuntimeError):
        once.get()
    assert once.get() == "built"
    assert len(attempts) == 2
