"""Reading a JSON file an operator pointed us at (fixtures, stubs): bounded in size and
depth, and only a regular file, so a symlink to /dev/zero or a FIFO, a sparse 1 GB file or
100,000 nested brackets is a one-line refusal, not a hung or exhausted start-up."""

from __future__ import annotations

import codecs
import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Above any file the recorder writes, so nothing recorded is refused: an answer is cut at
# upstream_max_body_bytes (64 MiB by default) and each interaction has a file of its own;
# the worst case, 64 MiB of 7-byte frames ("data:\n\n"), each written as an indented
# {offset_ms, data} object (13x), is ~880 MB.
MAX_JSON_FILE_BYTES = 1024 * 1024 * 1024


class JsonFileError(ValueError):
    """The file is not a regular file, too large, not UTF-8 JSON, or nested too deep."""


def read_json_file(
    path: Path,
    max_bytes: int = MAX_JSON_FILE_BYTES,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """The file's JSON; `object_pairs_hook` as json.loads takes it (the tape uses it to keep
    a stream's frames compact as they are parsed)."""
    text = _bounded_text(path, max_bytes)
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except ValueError as error:  # not JSON
        raise JsonFileError(str(error)) from None
    except RecursionError:
        raise JsonFileError("nested too deep") from None


def _bounded_text(path: Path, max_bytes: int) -> str:
    try:
        facts = path.stat()  # before opening: opening a FIFO waits for a writer
        if not stat.S_ISREG(facts.st_mode):
            raise JsonFileError("not a regular file")
        if facts.st_size > max_bytes:
            raise JsonFileError(f"{facts.st_size} bytes, over the {max_bytes}-byte limit")
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)  # a file that grows while read stops here
    except OSError as error:
        raise JsonFileError(str(error)) from None
    if len(data) > max_bytes:
        raise JsonFileError(f"over the {max_bytes}-byte limit")
    # Decoded a piece at a time: one call over a file of hundreds of MB would hold the GIL
    # (files are read on a thread while the loop answers).
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        texts = [decoder.decode(data[at : at + _PIECE]) for at in range(0, len(data), _PIECE)]
        texts.append(decoder.decode(b"", final=True))
    except UnicodeDecodeError as error:
        raise JsonFileError(str(error)) from None
    del data
    return "".join(texts)


_PIECE = 1024 * 1024
