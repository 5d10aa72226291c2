"""The fuzz run: hostile but well-framed requests against a real `mockserver serve`.

    make fuzz                                   # 10,000 requests
    .venv/bin/python -m bench.fuzz --requests 500 --seed 7

Each request comes from `tests.fuzzing.hostile_requests` (Hypothesis, seeded) and
must get an answer without a 5xx it did not ask for (`x-mock-fault`), with every error
body in Azure's envelope. Afterwards the server must still answer a plain chat request,
and its log must hold no traceback and no ERROR line. Exit status 0 when all of that
holds; the first problems found are printed with the request that caused them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

from bench.procs import Proc, http
from bench.targets import start_mockserver
from tests.fuzzing import HostileRequest, hostile_requests, problems, send

CHAT = "/openai/deployments/o3-mini/chat/completions?api-version=2025-04-01-preview"
SHOWN = 20  # problems printed in full


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[tuple[HostileRequest, list[str]]] = field(default_factory=list)

    def add(self, request: HostileRequest, status: int, found: list[str]) -> None:
        self.statuses[status] += 1
        if found:
            self.problems.append((request, found))


def fuzz(port: int, count: int, random_seed: int) -> Tally:
    """Send `count` generated requests; every answer is checked, none stops the run."""
    tally = Tally()

    @seed(random_seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],  # a problem is recorded, not shrunk: the run goes on
        suppress_health_check=list(HealthCheck),
    )
    @given(request=hostile_requests())
    def one(request: HostileRequest) -> None:
        answer = send(port, request)
        tally.add(request, answer.status, problems(request, answer))

    one()
    return tally


def after_the_run(proc: Proc) -> list[str]:
    """What is wrong with the server once the run is over: dead, or a traceback logged."""
    found = []
    body = json.dumps({"messages": [{"role": "user", "content": "still there?"}]}).encode()
    headers = {"api-key": "any-key", "Content-Type": "application/json"}
    if proc.popen.poll() is not None:
        found.append(f"the server exited with {proc.popen.returncode}")
    elif http("POST", proc.base + CHAT, body, headers)[0] != 200:
        found.append("the server no longer answers a plain chat request")
    log = proc.log_path.read_text(errors="replace")
    found += [f"logged: {line}" for line in log.splitlines() if _alarming(line)][:SHOWN]
    return found


def _alarming(line: str) -> bool:
    return "Traceback" in line or " ERROR " in line


def report(tally: Tally, after: list[str], seconds: float) -> str:
    sent = sum(tally.statuses.values())
    lines = [
        f"{sent} requests in {seconds:.0f} s; statuses: "
        + ", ".join(f"{status or 'none'}: {n}" for status, n in sorted(tally.statuses.items())),
        f"{len(tally.problems)} answers with problems; {len(after)} problems after the run",
    ]
    for request, found in tally.problems[:SHOWN]:
        lines.append(f"- {'; '.join(found)}\n  request: {request.to_bytes()[:600]!r}")
    lines += [f"- {problem}" for problem in after]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__)
    parser.add_argument("--requests", type=int, default=10_000, help="how many (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0)")
    args = parser.parse_args(argv)
    log_dir = Path(tempfile.mkdtemp(prefix="mockserver-fuzz-"))
    proc = start_mockserver(log_dir)
    started = time.monotonic()
    rss_before = proc.rss_mb()
    try:
        tally = fuzz(proc.port, args.requests, args.seed)
        after = after_the_run(proc)
        rss_after = proc.rss_mb()
    finally:
        proc.stop()
    print(report(tally, after, time.monotonic() - started))
    print(f"server RSS: {rss_before:.0f} MB before, {rss_after:.0f} MB after")
    print(f"server log: {proc.log_path}")
    return 1 if tally.problems or after else 0


if __name__ == "__main__":
    sys.exit(main())
