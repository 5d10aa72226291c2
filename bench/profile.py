"""Sample our server with py-spy under a workload and write bench/PROFILE-<workload>.md
(bench/PROFILE.md is the stage profile of `python -m bench.stages`).

    .venv/bin/python -m bench.profile            # BENCH_SECONDS (default 15) of W1
    .venv/bin/python -m bench.profile W2r        # another workload (W1, W2d, W2r, W3)
    .venv/bin/python -m bench.profile W1 --redis # with --state redis:// (the bench's own
                                                 # valkey-server) -> PROFILE-W1-redis.md

py-spy (installed with pip into bench/.tools, not into the project's venv) samples the
running `mockserver serve` from outside while wrk drives W1 at 64 connections, so the
server runs exactly as in the benchmark. The samples are folded into the functions that
hold the CPU themselves (self time) and the project's functions with everything they call
(inclusive time).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench import load, targets, valkey
from bench import workloads as wl
from bench.procs import Proc, raise_fd_limit, stop_all
from bench.run import CONNECTIONS, machine, request_for

TOOLS = targets.BENCH / ".tools"
REPO_ROOT = targets.REPO  # frames under the checkout are shown relative to it
RATE = 250  # samples per second
TOP = 25


def ensure_py_spy() -> Path:
    binary = TOOLS / "bin" / "py-spy"
    if not binary.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--target", str(TOOLS), "py-spy"],
            check=True, timeout=600,
        )  # fmt: skip
    return binary


WORKLOAD_NAMES = {
    "W1": f"non-streaming chat, {wl.SMALL_PROMPT_TOKENS}-token prompt",
    "W2d": f"non-streaming chat, distinct {wl.LARGE_PROMPT_TOKENS:,}-token prompts",
    "W2r": f"non-streaming chat, one repeated {wl.LARGE_PROMPT_TOKENS:,}-token prompt",
    "W3": f"streaming chat, {wl.STREAM_REPLY_TOKENS}-token reply",
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    redis = "--redis" in args
    args = [arg for arg in args if arg != "--redis"]
    workload = args[0] if args else "W1"
    if workload not in WORKLOAD_NAMES:
        print(f"usage: python -m bench.profile [{' | '.join(WORKLOAD_NAMES)}] [--redis]")
        return 2
    seconds = float(os.environ.get("BENCH_SECONDS", 0) or 15)
    raise_fd_limit()
    py_spy = ensure_py_spy()
    work = Path(tempfile.mkdtemp(prefix="mockserver-profile-"))
    raw = work / f"{workload.lower()}.folded"
    target = targets.ours(work)
    proc = start(work / "logs", redis)
    try:
        request = request_for(target, proc, workload)
        load.run_client(request, 16, 1)  # warm
        sampler = subprocess.Popen(
            [str(py_spy), "record", "--pid", str(proc.pid), "--rate", str(RATE),
             "--duration", str(int(seconds) + 2), "--format", "raw", "--output", str(raw),
             "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        time.sleep(1)
        result = load.run_wrk(request, CONNECTIONS, seconds, work)
        try:
            _, err = sampler.communicate(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            sampler.kill()
            _, err = sampler.communicate()
        if not raw.exists():
            print(f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}")
            return 1
    finally:
        proc.stop()
        stop_all()
    text = render(raw.read_text(), result, seconds, workload, redis)
    out = targets.BENCH / f"PROFILE-{workload}{'-redis' if redis else ''}.md"
    out.write_text(text)
    print(f"wrote {out.name} ({result.rps:.0f} req/s while sampling; samples in {raw})")
    return 0


def start(logs: Path, redis: bool) -> Proc:
    """Ours as `serve` runs in the bench; with `redis`, on a valkey-server of its own (left
    to `stop_all` at the end)."""
    if not redis:
        return targets.start_mockserver(logs)
    store = valkey.start(logs)
    return targets.start_mockserver(logs, "--state", valkey.url(store))


def fold(folded: str) -> tuple[Counter[str], Counter[str], int, int]:
    """Self and inclusive sample counts per function, total samples, idle samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = idle = 0
    for line in folded.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        total += count
        leaf = frames[-1]
        if _is_idle(leaf):
            idle += count
            continue
        own[leaf] += count
        for frame in set(frames):
            inclusive[frame] += count
    return own, inclusive, total, idle


def _short(frame: str) -> str:
    """'handle (mockserver/operations/chat.py:42)' -> 'handle (mockserver/operations/chat.py)'."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", f"{REPO_ROOT}/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def _is_idle(leaf: str) -> bool:
    return leaf.startswith(("select (", "poll (", "run_once (")) and "selectors" in leaf


def render(
    folded: str, result: load.RunResult, seconds: float, workload: str, redis: bool = False
) -> str:
    own, inclusive, total, idle = fold(folded)
    busy = max(total - idle, 1)
    m = machine()
    lines = [
        f"# Profile of one {workload} run" + (" with `--state redis://`" if redis else ""),
        "",
        f"- **Date**: {datetime.now(UTC).isoformat(timespec='seconds')}; {m['cpu_count']} CPUs, "
        f"{m['cpu_model']}; Python {m['python']}, aiohttp {m['aiohttp']}, "
        f"event loop {m['event_loop']}",
        f"- **Load**: {workload} ({WORKLOAD_NAMES[workload]}), wrk, "
        f"{CONNECTIONS} connections, {seconds:g} s: {result.rps:.0f} req/s, mean latency "
        f"{result.mean_ms:.1f} ms, {result.errors} errors",
        f"- **Sampler**: py-spy {RATE} Hz on the server process (`python -m bench.profile`): "
        f"{total} samples while the server was on the CPU (py-spy leaves out time spent "
        f"waiting in the event loop's select; {idle} such samples counted). Percentages below "
        "are of these samples. py-spy cuts some deep stacks short, so inclusive percentages "
        "are lower bounds; self time is exact to the sampling.",
        "",
        "## Where the CPU is (self time: the function itself, not what it calls)",
        "",
        "| # | function (file) | self % |",
        "|---|---|---|",
    ]
    for n, (frame, count) in enumerate(own.most_common(TOP), 1):
        lines.append(f"| {n} | `{frame}` | {count / busy:.1%} |")
    lines += [
        "",
        "## The project's functions with what they call (inclusive time)",
        "",
        "| # | function (file) | inclusive % |",
        "|---|---|---|",
    ]
    ours = [(f, c) for f, c in inclusive.most_common() if "(mockserver/" in f]
    for n, (frame, count) in enumerate(ours[:TOP], 1):
        lines.append(f"| {n} | `{frame}` | {count / busy:.1%} |")
    lines += [
        "",
        "## Libraries with what they call (inclusive time, top entries)",
        "",
        "| # | function (file) | inclusive % |",
        "|---|---|---|",
    ]
    others = [
        (f, c)
        for f, c in inclusive.most_common()
        if "(mockserver/" not in f and not f.startswith(("<module>", "run (")) and c / busy < 0.95
    ]
    for n, (frame, count) in enumerate(others[:TOP], 1):
        lines.append(f"| {n} | `{frame}` | {count / busy:.1%} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
