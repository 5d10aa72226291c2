"""`fixtures import-vcr` on hostile and malformed cassettes: the real CLI, in a process whose
address space is capped at 1 GiB, refuses each with one line and exit 1, never a traceback.

A "billion laughs" document is a few hundred bytes whose aliases expand to a billion
nodes; before the bound, converting it grew past 4 GB.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from mockserver.recordings.fixtures import read_fixture_file
from tests.support.cli import child_environment

REPO = Path(__file__).resolve().parents[2]
ADDRESS_SPACE_BYTES = 1024**3
COMMAND = (sys.executable, "-m", "mockserver", "fixtures", "import-vcr")
CHAT_URI = "https://example.openai.azure.com/openai/deployments/o3-mini/chat/completions"


def limited_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))


def import_vcr(
    *cassettes: Path, out: Path, args: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *map(str, cassettes), "--out", str(out), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=child_environment(env),
        timeout=120,
        check=False,
        preexec_fn=limited_memory,
    )


def billion_laughs() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        aliases = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{aliases}]")
    lines += [
        "interactions:",
        f"- request: {{uri: '{CHAT_URI}', headers: {{x-laughs: *a9}}}}",
        "  response: {status: {code: 200}, body: {string: '{}'}}",
    ]
    return "\n".join(lines) + "\n"


def merge_bomb() -> str:
    """The same growth through merge keys (`<<`), which the loader copies entry by entry."""
    lines = ["m0: &m0 {k: v}"]
    for level in range(1, 25):
        lines.append(f"m{level}: &m{level} {{<<: [*m{level - 1}, *m{level - 1}], n{level}: x}}")
    lines += ["interactions:", "- request: {body: *m24}", "  response: {}"]
    return "\n".join(lines) + "\n"


HOSTILE: dict[str, tuple[str | bytes, str]] = {
    "billion-laughs": (billion_laughs(), "expands to more than 200000 YAML nodes"),
    "merge-bomb": (merge_bomb(), "expands to more than 200000 YAML nodes"),
    "deep": ("interactions: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 200"),
    "recursive-alias": (
        "interactions: &loop\n- request: {body: *loop}\n  response: {}\n",
        "an alias refers to its own anchor",
    ),
    "not-utf-8": (b"interactions:\n- request: {body: '\xff\xfe'}\n", "not UTF-8 text (byte 33)"),
    "broken-yaml": ("interactions: [\n  - {request: \n", "not readable YAML ("),
    "two-documents": ("--- {interactions: []}\n--- {interactions: []}\n", "not readable YAML"),
    "interaction-not-a-mapping": (
        "interactions:\n- just a string\n",
        "interaction 0: an interaction is not a mapping",
    ),
    "request-not-a-mapping": (
        "interactions:\n- request: [1, 2]\n  response: {}\n",
        "interaction 0: its request and response are not both mappings",
    ),
    "status-not-a-number": (
        "interactions:\n- request: {}\n"
        "  response: {status: {code: sk-proj-NotA1Status2Code3Here4}}\n",
        "interaction 0: its status code is not an HTTP status (100-599)",
    ),
    "unhashable-key": (
        "interactions:\n- request: {headers: {? [a]: b}}\n  response: {}\n",
        "not a plain YAML cassette (found unhashable key at line 2",
    ),
    "no-interactions": ("just: a mapping\n", "no `interactions` list: not a vcrpy cassette"),
}


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", HOSTILE.keys())
def test_each_hostile_cassette_is_refused_in_one_line(name: str, tmp_path: Path) -> None:
    content, reason = HOSTILE[name]
    cassette = write(tmp_path / f"{name}.yaml", content)
    run = import_vcr(cassette, out=tmp_path / "out")
    assert run.returncode == 1, run.stderr
    assert run.stderr == ""
    [line] = run.stdout.splitlines()
    assert line.startswith(f"refused: {cassette}: "), line
    assert reason in line
    assert "sk-proj-" not in line  # the value that broke it is never quoted
    assert not (tmp_path / "out" / f"{name}.json").exists()


def test_good_cassettes_are_converted_beside_a_refused_one(tmp_path: Path) -> None:
    good = write(
        tmp_path / "good.yaml",
        "interactions:\n"
        f"- request: {{method: POST, uri: '{CHAT_URI}?api-version=2024-10-21'}}\n"
        "  response: {status: {code: 200}, body: {string: '{\"ok\": true}'}}\n",
    )
    bomb = write(tmp_path / "bomb.yaml", billion_laughs())
    run = import_vcr(bomb, good, out=tmp_path / "out")
    assert run.returncode == 1
    assert (
        run.stdout.splitlines()[1]
        == f"{good} -> {tmp_path / 'out' / 'good.json'}: 1 interaction(s)"
    )
    [interaction] = read_fixture_file(tmp_path / "out" / "good.json").interactions
    assert interaction.response.body == '{"ok": true}'


def test_a_cassette_over_the_byte_limit_is_not_read(tmp_path: Path) -> None:
    cassette = write(tmp_path / "big.yaml", "interactions: []\n# " + "x" * 5000 + "\n")
    run = import_vcr(cassette, out=tmp_path / "out", args=("--max-bytes", "4096"))
    assert run.returncode == 1
    size = cassette.stat().st_size
    assert (
        run.stdout
        == f"refused: {cassette}: {size} bytes, over the 4096-byte limit (vcr_max_bytes)\n"
    )


def test_the_node_limit_comes_from_the_settings(tmp_path: Path) -> None:
    items = "".join(f"  - {index}\n" for index in range(50))
    cassette = write(tmp_path / "list.yaml", f"interactions: []\nextra:\n{items}")
    limited = import_vcr(cassette, out=tmp_path / "out", env={"MOCKSERVER_VCR_MAX_NODES": "40"})
    assert limited.returncode == 1
    assert "expands to more than 40 YAML nodes (vcr_max_nodes)" in limited.stdout
    assert import_vcr(cassette, out=tmp_path / "out").returncode == 0


def test_credentials_in_the_uri_and_headers_are_redacted_on_the_way_in(tmp_path: Path) -> None:
    """import-vcr kept `?api-key=` and `?sig=` before: the same deny list applies."""
    cassette = write(
        tmp_path / "keys.yaml",
        "interactions:\n"
        "- request:\n"
        "    method: POST\n"
        f"    uri: '{CHAT_URI}?api-version=2024-10-21&api-key=query-key-1111&sig=sas-sig-2222'\n"
        "    headers:\n"
        "      Proxy-Authorization: [Basic cHJveHk6c2VjcmV0]\n"
        "      x-api_key: [gateway-key-3333]\n"
        "      x-ms-client-principal: [eyJ1c2VyIjoiYWxpY2UifQ==]\n"
        '    body: \'{"messages": [], "user": "end-user-4444", "metadata": {"a": "b"}}\'\n'
        "  response:\n"
        "    status: {code: 200}\n"
        "    headers: {Set-Cookie: [session=cookie-5555], x-ratelimit-key: [o3-mini]}\n"
        "    body: {string: '{\"ok\": true}'}\n",
    )
    run = import_vcr(cassette, out=tmp_path / "out")
    assert run.returncode == 0, run.stdout
    text = (tmp_path / "out" / "keys.json").read_text(encoding="utf-8")
    for secret in ("query-key-1111", "sas-sig-2222", "cHJveHk6c2VjcmV0", "gateway-key-3333"):
        assert secret not in text
    for secret in ("eyJ1c2VyIjoiYWxpY2UifQ", "end-user-4444", "cookie-5555"):
        assert secret not in text
    [interaction] = read_fixture_file(tmp_path / "out" / "keys.json").interactions
    assert interaction.request.query == {
        "api-version": "2024-10-21",
        "api-key": "REDACTED",
        "sig": "REDACTED",
    }
    assert interaction.response.headers["x-ratelimit-key"] == "o3-mini"
    assert json.loads(interaction.response.body or "") == {"ok": True}


def test_an_output_that_cannot_be_written_is_one_line_too(tmp_path: Path) -> None:
    good = write(tmp_path / "good.yaml", "interactions: []\n")
    blocker = write(tmp_path / "not-a-directory", "")
    run = import_vcr(good, out=blocker)
    assert (run.returncode, run.stderr) == (1, "")
    [line] = run.stdout.splitlines()
    assert line.startswith(f"refused: {good}: {blocker / 'good.json'} cannot be written (")
