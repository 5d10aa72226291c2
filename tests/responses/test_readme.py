"""The README's Responses API examples run as written against a real server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mockserver.testing.server import MockServer

README = Path(__file__).resolve().parents[2] / "README.md"
README_URL = "http://127.0.0.1:8089"


def _section_code() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Responses API")
    section = text[start : text.index("\n## ", start + 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 3, "the section shows a non-streamed, a streamed and a stateless loop"
    return "\n".join(blocks)


def test_readme_agent_loops_finish(server: MockServer, capsys: pytest.CaptureFixture[str]) -> None:
    code = _section_code().replace(README_URL, server.url)
    namespace: dict[str, object] = {}
    try:
        exec(compile(code, str(README), "exec"), namespace)
    finally:
        client = namespace.get("client")
        if hasattr(client, "close"):
            client.close()  # the README's client: its pooled socket must not outlive the test
    printed = capsys.readouterr().out
    assert "2140000" in printed
    final = namespace["response"]
    assert getattr(final, "status", None) == "completed"
    assert "2140000" in getattr(final, "output_text", "")
    # The last loop ran with store off: its history went back whole, reasoning sealed.
    items = namespace["items"]
    assert isinstance(items, list)
    sealed = [item for item in items if item.get("type") == "reasoning"]
    assert sealed and all(item["encrypted_content"].startswith("gAAAA") for item in sealed)
