"""The README's Responses API examples run as written against a real server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mockserver.testing import MockServer

README = Path(__file__).resolve().parents[2] / "README.md"
README_URL = "http://127.0.0.1:8089"


def _section_code() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Responses API")
    section = text[start : text.index("\n## ", start + 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2, "the section shows a non-streamed and a streamed loop"
    return "\n".join(blocks)


def test_readme_agent_loops_finish(server: MockServer, capsys: pytest.CaptureFixture[str]) -> None:
    code = _section_code().replace(README_URL, server.url)
    namespace: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), namespace)
    printed = capsys.readouterr().out
    assert "2140000" in printed
    final = namespace["response"]
    assert getattr(final, "status", None) == "completed"
    assert "2140000" in getattr(final, "output_text", "")
