"""Progress on long work: a bar on a terminal, plain lines in a log (issue #21).

Each command is run as a real subprocess twice: with stdout and stderr on pipes (a CI log:
the lines must be exactly the command's own, with no carriage return or escape code), and
with stderr on a pseudo-terminal (a person watching: tqdm's bar, `NN%|...| n/total`, is
drawn there while stdout still carries the same lines).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mockserver.testing.server import MockServer

REPO = Path(__file__).resolve().parents[2]
CASSETTES = 30
URI = "https://res.openai.azure.com/openai/deployments/o3-mini/chat/completions"
BAR = re.compile(r"\d+%\|.*\|\s*\d+/(\d+)")  # tqdm's "  3%|▎   | 1/30 [00:00<...]"
TERMINAL_NOISE = re.compile(r"[\r\x1b]")
DEADLINE_SECONDS = 120.0


def reply(number: int) -> dict[str, object]:
    body: dict[str, object] = {"id": f"chatcmpl-{number}", "object": "chat.completion"}
    body.update({"created": 1700000000 + number, "model": "o3-mini", "choices": []})
    if number == 7:
        del body["created"]  # one broken reply: `fixtures check` names it
    return body


def cassette(number: int) -> dict[str, object]:
    request = {"messages": [{"role": "user", "content": f"question {number}"}]}
    return {
        "version": 1,
        "interactions": [
            {
                "request": {
                    "method": "POST",
                    "uri": f"{URI}?api-version=2024-10-21",
                    "body": json.dumps(request),
                    "headers": {"Content-Type": ["application/json"]},
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"Content-Type": ["application/json"]},
                    "body": {"string": json.dumps(reply(number))},
                },
            }
        ],
    }


@pytest.fixture
def cassettes(tmp_path: Path) -> list[Path]:
    """30 small cassettes, the last one refused (a Python-object tag, never executed)."""
    folder = tmp_path / "cassettes"
    folder.mkdir()
    paths = [folder / f"c{number:02d}.yaml" for number in range(CASSETTES)]
    for number, path in enumerate(paths[:-1]):
        path.write_text(yaml.safe_dump(cassette(number)), encoding="utf-8")
    paths[-1].write_text("interactions: !!python/object/apply:os.getcwd []\n", encoding="utf-8")
    return paths


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mockserver", *args]


def plain_env(**extra: str) -> dict[str, str]:
    """The environment without the variables that turn bars off, plus `extra`."""
    quiet = ("CI", "NO_COLOR", "TERM")
    env = {name: value for name, value in os.environ.items() if name not in quiet}
    return {**env, "TERM": "xterm-256color", **extra}


def piped(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command as a CI job runs it: stdout and stderr are pipes."""
    return subprocess.run(
        args, capture_output=True, text=True, cwd=REPO, env=env or plain_env(),
        timeout=DEADLINE_SECONDS, check=False,
    )  # fmt: skip


def on_terminal(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """The command with stderr on a pseudo-terminal: (exit status, stdout, the terminal)."""
    controller, terminal = os.openpty()
    # A new pty is 0 columns wide, where tqdm draws nothing: size it as a terminal window.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        with subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=terminal, cwd=REPO, env=env or plain_env()
        ) as child:
            os.close(terminal)
            assert child.stdout is not None
            screen = b"".join(_drain(controller))
            out = child.stdout.read().decode("utf-8")
            code = child.wait(timeout=DEADLINE_SECONDS)
        return code, out, screen.decode("utf-8", "replace")
    finally:
        os.close(controller)


def _drain(controller: int) -> Iterator[bytes]:
    """What the child writes to the terminal, until it closes it or the deadline passes."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: every writer closed the terminal (Linux)
            return
        if not chunk:
            return
        yield chunk


def assert_plain(done: subprocess.CompletedProcess[str]) -> None:
    assert not TERMINAL_NOISE.search(done.stdout + done.stderr), done.stdout + done.stderr


def bar_totals(screen: str) -> set[str]:
    return {match.group(1) for match in BAR.finditer(screen)}


def import_args(paths: list[Path], out: Path) -> list[str]:
    return command("fixtures", "import-vcr", *map(str, paths), "--out", str(out))


def expected_import_lines(paths: list[Path], out: Path) -> list[str]:
    """What import-vcr printed before there was progress: one line per cassette."""
    lines = [f"{path} -> {out / (path.stem + '.json')}: 1 interaction(s)" for path in paths[:-1]]
    return [*lines, f"refused: {paths[-1]}: holds Python-object YAML tags"]


# --- import-vcr ----------------------------------------------------------------------------------


def test_import_vcr_in_a_log_is_plain_lines(cassettes: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "fixtures"
    done = piped(import_args(cassettes, out))
    assert done.returncode == 1, done.stdout + done.stderr
    assert_plain(done)
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    expected = expected_import_lines(cassettes, out)
    assert lines[:-1] == expected[:-1]
    assert lines[-1].startswith(expected[-1])


def test_import_vcr_on_a_terminal_draws_a_bar(cassettes: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "fixtures"
    code, stdout, screen = on_terminal(import_args(cassettes, out))
    assert code == 1, stdout + screen
    assert bar_totals(screen) == {str(CASSETTES)}, screen
    assert "cassettes" in screen
    assert stdout.splitlines()[:-1] == expected_import_lines(cassettes, out)[:-1]
    assert not TERMINAL_NOISE.search(stdout), "the bar never reaches stdout"


@pytest.mark.parametrize("quiet", [{"CI": "true"}, {"NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_a_terminal_that_asks_for_plain_output_gets_no_bar(
    cassettes: list[Path], tmp_path: Path, quiet: dict[str, str]
) -> None:
    code, stdout, screen = on_terminal(
        import_args(cassettes, tmp_path / "fixtures"), plain_env(**quiet)
    )
    assert code == 1
    assert screen == ""
    assert len(stdout.splitlines()) == CASSETTES


# --- fixtures check -----------------------------------------------------------------------------


@pytest.fixture
def fixtures_dir(cassettes: list[Path], tmp_path: Path) -> Path:
    """29 fixture files (and a cassette directory of 3) imported from the cassettes."""
    out = tmp_path / "fixtures"
    assert piped(import_args(cassettes, out)).returncode == 1
    recordings = out / "recordings"
    recordings.mkdir()
    for number in range(3):
        (out / f"c{number:02d}.json").rename(recordings / f"{number:08d}.json")
    return out


def test_fixtures_check_in_a_log_is_plain_lines(fixtures_dir: Path) -> None:
    done = piped(command("fixtures", "check", str(fixtures_dir)))
    assert done.returncode == 1, done.stdout + done.stderr
    assert_plain(done)
    assert done.stderr == ""
    assert done.stdout.splitlines() == [
        "c07.json#0: the chat.completion body lacks created",
        "29 interaction(s) checked, 1 problem(s)",
    ]


def test_fixtures_check_on_a_terminal_counts_files(fixtures_dir: Path) -> None:
    code, stdout, screen = on_terminal(command("fixtures", "check", str(fixtures_dir)))
    assert code == 1, stdout + screen
    assert bar_totals(screen) == {"29"}, screen  # 26 single files and 3 in recordings/
    assert "fixture files" in screen
    assert stdout.splitlines()[-1] == "29 interaction(s) checked, 1 problem(s)"


# --- contract verify ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sides() -> Iterator[tuple[MockServer, MockServer]]:
    """Two real mocks on 127.0.0.1: one stands in for the endpoint (as tests/contract does)."""
    with MockServer() as endpoint, MockServer() as mock:
        yield endpoint, mock


def verify_args(sides: tuple[MockServer, MockServer]) -> list[str]:
    endpoint, mock = sides
    return command(
        "contract", "verify", "--endpoint", endpoint.url, "--api-key", "drift-key",
        "--deployment", "o3-mini", "--mock-url", mock.url,
    )  # fmt: skip


def test_contract_verify_in_a_log_is_plain_lines(sides: tuple[MockServer, MockServer]) -> None:
    done = piped(verify_args(sides))
    assert done.returncode == 0, done.stdout + done.stderr
    assert_plain(done)
    assert done.stderr == ""
    assert done.stdout.rstrip().endswith("21 probes, no drift.")


def test_contract_verify_on_a_terminal_counts_probes(
    sides: tuple[MockServer, MockServer],
) -> None:
    code, stdout, screen = on_terminal(verify_args(sides))
    assert code == 0, stdout + screen
    assert bar_totals(screen) == {"21"}, screen
    assert "probes" in screen
    assert stdout.rstrip().endswith("21 probes, no drift.")
    assert not TERMINAL_NOISE.search(stdout)


def test_fixtures_check_names_an_answer_too_deep_to_walk_and_checks_the_rest(
    fixtures_dir: Path,
) -> None:
    """`serve` replays such an answer; the check names it and goes on (it used to stop
    the whole command at the first one, naming none)."""
    path = fixtures_dir / "c05.json"
    fixture = json.loads(path.read_text())
    interaction = fixture["interactions"][0] if "interactions" in fixture else fixture
    interaction["response"]["body"] = "[" * 100_000 + "]" * 100_000
    path.write_text(json.dumps(fixture))
    done = piped(command("fixtures", "check", str(fixtures_dir)))
    lines = done.stdout.splitlines()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "c05.json#0: nested too deeply to check: look at it by hand" in lines
    assert lines[-1].startswith("29 interaction(s) checked")
