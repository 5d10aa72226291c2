"""Bounded waits: for a value, for journal entries, for a child process's output lines.

Every bound here guards against hangs; none is a performance threshold."""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable
from typing import IO, TypeVar

from mockserver.stores.journal_entry import JournalEntry
from mockserver.testing.server import MockServer

T = TypeVar("T")
WAIT_SECONDS = 60.0  # a child process's output line
POLL_BOUND_SECONDS = 30.0  # a value that shows up, e.g. after a background write
JOURNAL_BOUND_SECONDS = 30.0  # a journal entry: written once its handler returns
POLL_STEP_SECONDS = 0.01


def poll(probe: Callable[[], T | None], what: str, bound: float = POLL_BOUND_SECONDS) -> T:
    """`probe()` until it gives something; fails after `bound` seconds."""
    deadline = time.monotonic() + bound
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(POLL_STEP_SECONDS)


def journal_entries(
    server: MockServer,
    count: int = 1,
    where: Callable[[JournalEntry], bool] = lambda _: True,
    bound: float = JOURNAL_BOUND_SECONDS,
) -> list[JournalEntry]:
    """The journal entries `where` selects, once `count` are in or the bound has passed (the
    caller asserts on what came): a stream's or a dropped connection's entry is written just
    after the client saw the end, so a fast client can look before it is there."""
    deadline = time.monotonic() + bound
    while True:
        found = [entry for entry in server.requests if where(entry)]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(POLL_STEP_SECONDS)


class Lines:
    """A child's output, read line by line by a thread so every wait is bounded."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: re.Pattern[str]) -> re.Match[str]:
        """The first line from here on that matches; fails after WAIT_SECONDS or at the end."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern.pattern}: {self.seen}") from None
            if line is None:
                raise AssertionError(f"output ended before {pattern.pattern}: {self.seen}")
            self.seen.append(line)
            if match := pattern.match(line):
                return match

    def rest(self) -> list[str]:
        """Every line up to the end of the output (call once the process has exited)."""
        self._thread.join(WAIT_SECONDS)
        while not self._queue.empty():
            line = self._queue.get_nowait()
            if line is not None:
                self.seen.append(line)
        return self.seen

    def text(self) -> str:
        """Everything the child wrote, as one text (call once it has exited)."""
        return "\n".join(self.rest())
