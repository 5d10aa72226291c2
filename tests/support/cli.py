"""`python -m mockserver serve` as a real process (uvloop, as a user runs it): started on
a free port, its ready line awaited, killed if a test leaves it running."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.http.helpers import BODY
from tests.support import rawhttp
from tests.support.waiting import WAIT_SECONDS, Lines

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"^mockserver listening on http://127\.0\.0\.1:(\d+)$")


class Cli:
    def __init__(self, process: subprocess.Popen[str], port: int, stdout: Lines, stderr: Lines):
        self.process, self.port, self.stdout, self.stderr = process, port, stdout, stderr

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def chat(self, deployment: str = "o3-mini", key: str = "any-key") -> rawhttp.RawResponse:
        url = f"{self.url}/openai/deployments/{deployment}/chat/completions"
        return rawhttp.request(
            url + "?api-version=2025-04-01-preview", body=BODY, headers={"api-key": key}
        )

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(WAIT_SECONDS)


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}
    return {**clean, **(extra or {})}


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mockserver", "serve", *args]


def spawned(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`mockserver serve` started on a free port, its output piped, not yet awaited."""
    return subprocess.Popen(
        command("--port", "0", *args),
        cwd=ROOT,
        env=child_environment(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextmanager
def running(*args: str, env: dict[str, str] | None = None) -> Iterator[Cli]:
    process = spawned(*args, env=env)
    assert process.stdout is not None
    assert process.stderr is not None
    stdout, stderr = Lines(process.stdout), Lines(process.stderr)
    try:
        port = int(stdout.wait_for(READY).group(1))
        yield Cli(process, port, stdout, stderr)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(WAIT_SECONDS)
        stdout.rest()
        stderr.rest()
        process.stdout.close()
        process.stderr.close()


def run_to_exit(*flags: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command("--port", "0", *flags),
        cwd=ROOT,
        env=child_environment(env),
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )
