"""Where the contract data lives: `contracts/` in a checkout, `mockserver/contracts` in a wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


@cache
def contracts_dir() -> Path:
    for candidate in (_PACKAGE_DIR / "contracts", _PACKAGE_DIR.parent / "contracts"):
        if (candidate / "errors.json").is_file():
            return candidate
    raise FileNotFoundError("the contracts/ data directory is missing from this installation")


@cache
def load_json(relative_path: str) -> Any:
    """Read one contract file; cached, since contract data never changes at run time."""
    return orjson.loads((contracts_dir() / relative_path).read_bytes())
