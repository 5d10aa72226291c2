"""The output of a child process, read line by line by a thread so every wait is bounded."""

from __future__ import annotations

import queue
import re
import threading
import time
from typing import IO

WAIT_SECONDS = 60.0  # a bound against hangs, not a performance threshold


class Lines:
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
