"""README "Testing from Python": each of its Python examples runs, as written, against the
real server, so the section cannot drift from the front door it describes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Testing from Python"
CODE_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def section_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return CODE_BLOCK.findall(text[start : end if end != -1 else None])


def test_the_section_has_its_examples() -> None:
    examples = section_examples()
    assert len(examples) == 2
    assert all("from mockserver import MockServer" in example for example in examples)


@pytest.mark.parametrize("example", section_examples(), ids=["sync", "async"])
def test_the_example_runs(example: str) -> None:
    exec(compile(example, f"{README.name}: {SECTION}", "exec"), {"__name__": "__readme__"})
