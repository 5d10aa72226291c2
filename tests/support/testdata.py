"""Where the tests' vendored data lives: `tests/data/` (see its README for each file's source).

Tests read reference documents and real recordings from here only, never from outside the
project, so a fresh clone runs the whole suite with nothing beside it.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
CONTRACTS_REF = DATA_DIR / "contracts-ref"
REAL_TRAFFIC = DATA_DIR / "real-traffic"
AZURE_TRAFFIC = REAL_TRAFFIC / "azure"
OPENAI_TRAFFIC = REAL_TRAFFIC / "openai"
