"""W1 on ours with shared state and more processes: memory or Redis state, 1 or 2 workers.

Four instances of `mockserver serve`, side by side in one run: memory state and
`--state redis://` (a valkey-server the bench starts, bench/valkey.py), each with
`--workers 1` and `--workers 2`. Each repeat runs W1 with wrk on the four back to back (the
same interleaving as the main cells), and every run records the server's CPU per request
(all its processes) and, separately, the valkey-server's.

`--workers 2` shares one port by SO_REUSEPORT: an instance is measured only once both
processes answer (each names itself in `azureml-model-session`).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import load, targets, valkey
from bench import workloads as wl
from bench.procs import CpuMeter, Proc, StartError, cpu_by_process, http
from bench.targets import DATED_PATH, HEADERS, UnavailableError

CONNECTIONS = 64
WORKER_TIMEOUT = 60.0


@dataclass(frozen=True)
class Setup:
    key: str
    state: str  # "memory" or "redis"
    workers: int

    @property
    def title(self) -> str:
        return f"{self.state} state, --workers {self.workers}"


SETUPS = (
    Setup("memory-w1", "memory", 1),
    Setup("redis-w1", "redis", 1),
    Setup("memory-w2", "memory", 2),
    Setup("redis-w2", "redis", 2),
)


def run(logs: Path, seconds: float, runs: int, say: Callable[[str], None]) -> dict[str, Any]:
    """The four setups' W1 cells: {"setups": {key: {title, runs: [...]}}, "valkey": ...}."""
    record: dict[str, Any] = {"connections": CONNECTIONS, "seconds": seconds, "setups": {}}
    redis = start_redis(logs, record, say)
    live: list[tuple[Setup, Proc]] = []
    try:
        for setup in SETUPS:
            cell = record["setups"].setdefault(setup.key, {"title": setup.title, "runs": []})
            if (proc := start_or_say(setup, logs, redis, cell, say)) is not None:
                live.append((setup, proc))
        measure_all(live, record, seconds, runs, redis, logs)
    finally:
        for _, proc in live:
            proc.stop()
        if redis is not None:
            redis.stop()
    for setup, _ in live:
        say(f"  {setup.key}: {summary(record['setups'][setup.key])}")
    return record


def start_redis(logs: Path, record: dict[str, Any], say: Callable[[str], None]) -> Proc | None:
    try:
        redis = valkey.start(logs)
    except (UnavailableError, StartError, OSError) as error:
        record["valkey"] = {"error": str(error)}
        say(f"  valkey: unavailable: {error}")
        return None
    record["valkey"] = {"binary": str(valkey.binary()), "ready_seconds": redis.ready_seconds}
    return redis


def start_or_say(
    setup: Setup,
    logs: Path,
    redis: Proc | None,
    cell: dict[str, Any],
    say: Callable[[str], None],
) -> Proc | None:
    """The setup's server, or None with the reason in its cell."""
    if setup.state == "redis" and redis is None:
        cell["na"] = "n/a: no Redis server (see valkey)"
        return None
    try:
        return start(setup, logs, redis)
    except (StartError, OSError) as error:
        cell["na"] = f"n/a: did not start: {error}"
        say(f"  {setup.key}: did not start: {error}")
        return None


def start(setup: Setup, logs: Path, redis: Proc | None) -> Proc:
    args = ["--workers", str(setup.workers)]
    if setup.state == "redis":
        assert redis is not None
        # Each instance its own prefix: the four share one Redis and must not share state.
        args += ["--state", valkey.url(redis), "--state-prefix", f"bench-{setup.key}"]
    proc = targets.start_mockserver(logs, *args, name=f"mockserver-{setup.key}")
    try:
        wait_for_workers(proc, setup.workers)
        request = w1_request(proc)
        load.run_client(request, 16, 1)  # warm: the tokenizer, memos, Redis connections
    except BaseException:
        proc.stop()
        raise
    return proc


def wait_for_workers(proc: Proc, workers: int) -> None:
    """Until `workers` processes answer on the port: each request on a new connection
    lands on one of them, and each names itself in azureml-model-session."""
    seen: set[str] = set()
    deadline = time.monotonic() + WORKER_TIMEOUT
    body = wl.small_body().encode()
    while len(seen) < workers:
        if time.monotonic() > deadline:
            raise StartError(f"{proc.name}: {len(seen)} of {workers} workers answered")
        status, headers, _ = http("POST", proc.base + DATED_PATH, body, HEADERS)
        lowered = {k.lower(): v for k, v in headers.items()}
        if status == 200 and "azureml-model-session" in lowered:
            seen.add(lowered["azureml-model-session"])
        else:
            time.sleep(0.05)


def w1_request(proc: Proc) -> load.Request:
    return load.Request(proc.base + DATED_PATH, HEADERS, body=wl.small_body())


def measure_all(
    live: list[tuple[Setup, Proc]],
    record: dict[str, Any],
    seconds: float,
    runs: int,
    redis: Proc | None,
    logs: Path,
) -> None:
    for _ in range(runs):
        for setup, proc in live:
            helper = redis.pid if redis is not None and setup.state == "redis" else None
            workdir = logs.parent / f"wrk-{setup.key}"
            run_one = measure(w1_request(proc), seconds, workdir, proc.pid, helper)
            record["setups"][setup.key]["runs"].append(run_one)


def measure(
    request: load.Request, seconds: float, workdir: Path, pid: int, helper: int | None
) -> dict[str, Any]:
    meter = CpuMeter(pid, helper)
    before = cpu_by_process(pid)
    result = load.drive(request, CONNECTIONS, seconds, workdir)
    run = {**result.as_dict(), "cpu": meter.read()}
    run["process_cores"] = busy_processes(before, cpu_by_process(pid), result.seconds)
    per_request = 1e6 * result.seconds / result.requests if result.requests else None
    run["cpu_us_per_request"] = (
        run["cpu"]["server_cores"] * per_request if per_request is not None else None
    )
    helper_cores = run["cpu"].get("helper_cores")
    run["valkey_us_per_request"] = (
        helper_cores * per_request if per_request is not None and helper is not None else None
    )
    return run


def busy_processes(before: dict[int, float], after: dict[int, float], wall: float) -> list[float]:
    """Cores used by each process that worked during the run (the workers: SO_REUSEPORT
    decides which takes a connection), busiest first; idle helpers are left out."""
    used = [after[pid] - before.get(pid, 0.0) for pid in after]
    return sorted((round(u / wall, 2) for u in used if wall and u / wall >= 0.05), reverse=True)


def median(cell: dict[str, Any], key: str) -> float | None:
    values = [run[key] for run in cell.get("runs") or [] if run.get(key) is not None]
    return statistics.median(values) if values else None


def summary(cell: dict[str, Any]) -> str:
    rps, cpu = median(cell, "rps"), median(cell, "cpu_us_per_request")
    if rps is None:
        return str(cell.get("na", "no runs"))
    text = f"{rps:.0f} req/s, {cpu or 0:.0f} us CPU per request"
    if (redis := median(cell, "valkey_us_per_request")) is not None:
        text += f" + valkey {redis:.0f} us"
    return text
