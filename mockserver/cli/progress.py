"""Progress on long work (import-vcr, fixtures check, the drift check, the bench).

One decision, made here: a tqdm bar on stderr when stderr is a terminal a person watches,
and nothing at all otherwise, so CI logs and pipes keep the existing line-oriented output
(no carriage returns, no escape codes). Progress never goes to stdout: stdout stays
machine-readable. Lines printed while a bar is shown go through `say`, which clears the
bar, prints the line and redraws the bar below it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TextIO, TypeVar

Item = TypeVar("Item")


def wanted(stream: TextIO | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """A bar only for a terminal: NO_COLOR, TERM=dumb and CI ask for plain output."""
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR") or environ.get("CI") or environ.get("TERM") == "dumb":
        return False
    stream = sys.stderr if stream is None else stream
    return _is_terminal(stream)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def tracked(items: Iterable[Item], total: int, description: str) -> Iterator[Item]:
    """`items` as they come, with a bar counting to `total` when `wanted()`.

    `total` is given, never counted here: counting an iterator would read it twice.
    """
    with counter(total, description) as advance:
        for item in items:
            yield item
            advance()


@contextlib.contextmanager
def counter(total: int, description: str) -> Iterator[Callable[[], object]]:
    """A function to call once per unit of work done; a bar counting to `total` if `wanted()`."""
    if not wanted():
        yield lambda: None
        return
    from tqdm import tqdm  # ~40 ms to import: only when a bar is drawn, never for `serve`

    with tqdm(total=total, desc=description, file=sys.stderr, leave=False) as bar:
        yield bar.update


def say(line: str) -> None:
    """Print a line to stdout without tearing a bar that is being drawn on the terminal."""
    if wanted():
        from tqdm import tqdm

        tqdm.write(line, file=sys.stdout)
    else:
        print(line)
