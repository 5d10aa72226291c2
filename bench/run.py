"""`python -m bench`: the whole benchmark, ours beside the aiohttp ceiling and aimock.

    .venv/bin/python -m bench              # the full run (about 8 minutes on 2 cores)
    .venv/bin/python -m bench --quick      # 1 s per run, 1 run a cell, for development
    .venv/bin/python -m bench --only mockserver,ceiling
    .venv/bin/python -m bench --all-peers  # also WireMock, Prism and the Python mocks

Writes bench/results/<timestamp>.json and bench/RESULTS.md. Only 127.0.0.1 is loaded;
every run is bounded by its duration and a timeout; everything started is stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import load, quota, report, scale, targets
from bench import workloads as wl
from bench.procs import CpuMeter, Proc, StartError, http, raise_fd_limit, stop_all
from bench.targets import HEADERS, Target, UnavailableError
from mockserver.cli import progress
from mockserver.cli.progress import tracked

RESULTS_DIR = targets.BENCH / "results"
DEFAULT_SECONDS = 5.0
CONNECTIONS = 64
TTFB_CONNECTIONS = 8
WORKLOADS = ("W1", "W1d", "W2d", "W2r", "W3")  # on one process; then R and W4
SECTIONS = ("scale", "quota")  # after the servers: shared state and --workers, quota accuracy


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 s per run, 1 run per cell")
    parser.add_argument("--seconds", type=float, help="seconds per run (env BENCH_SECONDS)")
    parser.add_argument("--runs", type=int, help="runs per cell (default 3; 1 with --quick)")
    parser.add_argument(
        "--only",
        help="comma-separated server names (mockserver, ceiling, aimock...) and sections "
        "(scale: redis state and --workers 2 on W1; quota: accuracy under load) to run",
    )
    parser.add_argument("--no-peers", action="store_true", help="only ours and the ceiling")
    parser.add_argument(
        "--all-peers", action="store_true", help="also WireMock, Prism and the Python mocks"
    )
    parser.add_argument("--no-write", action="store_true", help="print, write no results")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.runs = args.runs or (1 if args.quick else 3)
    seconds = args.seconds or float(os.environ.get("BENCH_SECONDS", 0) or 0)
    seconds = seconds or (1.0 if args.quick else DEFAULT_SECONDS)
    began = time.monotonic()
    # SIGTERM (make interrupted, a CI timeout) unwinds like Ctrl-C: every server is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    raise_fd_limit()
    work = Path(tempfile.mkdtemp(prefix="mockserver-bench-"))
    logs = work / "logs"
    say(f"bench: {seconds:g} s per run, {args.runs} runs per cell; work files in {work}")
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            "seconds_per_run": seconds,
            "runs": args.runs,
            "connections": CONNECTIONS,
            "ttfb_connections": TTFB_CONNECTIONS,
            "quick": args.quick,
            "w4_streams": wl.W4_STREAMS,
            "w4_latency": wl.W4_LATENCY,
        },
        "install_log": [],
        "unavailable": {},
        "servers": {},
    }
    try:
        results["loadgen"] = ensure_wrk(results["install_log"])
        say(f"load generator: {results['loadgen']['tool']} (the same for every server)")
        texts = wl.texts()
        results["prompts"] = {
            "small_prompt_tokens": wl.count_tokens(texts.small_prompt) + 7,
            "large_prompt_tokens": wl.count_tokens(wl.repeated_large_body_text()) + 7,
            "stream_reply_tokens": wl.count_tokens(texts.stream_reply),
        }
        results["encode"] = wl.encode_seconds()
        say(f"tiktoken encode of the W2 prompt: {results['encode']['median_ms']:.2f} ms")
        results["startup"] = measure_startup(logs)
        say(f"start-up median: {results['startup']['median_s']:.3f} s")
        results["reset"] = measure_reset()
        say(f"reset median: {results['reset']['dirty_median_ms']:.3f} ms")
        chosen = build_targets(work, args, results)
        say("servers: " + ", ".join(t.name for t in chosen))
        results["servers"] = bench_all(chosen, logs, seconds, args)
        run_sections(results, logs, seconds, args)
    finally:
        stop_all()
        results["total_seconds"] = round(time.monotonic() - began, 1)
    if args.no_write:
        print(json.dumps(results, indent=2))
        return 0
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    # A quick or partial run is a check, not a result: its files stay in the work folder.
    if args.quick or args.only or args.no_peers or args.runs < 3:
        out = work / f"{stamp}-partial.json"
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(report.markdown(results, str(out)))
        say(f"wrote {out} in {results['total_seconds']:.0f} s (bench/RESULTS.md unchanged)")
        return 0
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"{stamp}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    text = report.markdown(results, out.name)
    (targets.BENCH / "RESULTS.md").write_text(text)
    say(
        f"wrote {out.relative_to(targets.REPO)} and bench/RESULTS.md "
        f"in {results['total_seconds']:.0f} s"
    )
    return 0


def say(text: str) -> None:
    progress.say(text)  # above the bars on a terminal, plain lines in a log
    sys.stdout.flush()


def run_sections(
    results: dict[str, Any], logs: Path, seconds: float, args: argparse.Namespace
) -> None:
    """Shared state (Redis against memory, --workers 2) and quota accuracy under load: in
    the full run, or when --only names them."""
    only = set(args.only.split(",")) if args.only else set(SECTIONS)
    if "scale" in only:
        say("== scale: W1 on memory and Redis state, --workers 1 and 2")
        results["scale"] = scale.run(logs, seconds, args.runs, say)
    if "quota" in only:
        say("== quota: 2 processes on one Redis, 200 clients")
        results["quota"] = quota.run(logs, args.quick, say)


# --- the machine and the tools ------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    import aiohttp

    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "aiohttp": aiohttp.__version__,
        "event_loop": loop,
        "node": _version(["node", "--version"]),
        "java": _version(["java", "-version"]),
        "code": code_version(),
    }


def code_version() -> str:
    """The commit measured, and whether the package had uncommitted changes then (several
    people edit it at once: a run measures the working tree, not only the commit)."""

    def git(*argv: str) -> str:
        done = subprocess.run(
            ["git", *argv],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            cwd=targets.REPO,
        )
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = [line for line in git("status", "--porcelain", "mockserver").splitlines() if line]
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return head + (f" + uncommitted changes in {len(dirty)} files of mockserver/" if dirty else "")


def _version(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return "absent"
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def ensure_wrk(log: list[str]) -> dict[str, str]:
    """Debian's wrk, installed with apt-get if absent; else the asyncio client."""
    if load.have_wrk():
        return {"tool": "wrk", "version": _wrk_version()}
    if shutil.which("apt-get") is None:
        return {"tool": "asyncio", "why": "wrk absent and no apt-get"}
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for step in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "wrk"]):
        try:
            done = subprocess.run(
                step, capture_output=True, text=True, timeout=300, env=env, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            log.append(f"{' '.join(step)}: {error}")
            return {"tool": "asyncio", "why": f"{' '.join(step)} failed: {error}"}
        log.append(f"{' '.join(step)}: exit {done.returncode}")
        if done.returncode != 0:
            why = done.stderr.strip()[-300:]
            return {"tool": "asyncio", "why": f"{' '.join(step)} failed: {why}"}
    if load.have_wrk():
        return {"tool": "wrk", "version": _wrk_version(), "installed": "apt-get"}
    return {"tool": "asyncio", "why": "apt-get installed no wrk"}


def _wrk_version() -> str:
    done = subprocess.run(
        ["wrk", "--version"], capture_output=True, text=True, timeout=10, check=False
    )
    return (done.stdout + done.stderr).strip().splitlines()[0]


# --- in-process measurements --------------------------------------------------------------


def measure_startup(logs: Path, times: int = 5) -> dict[str, Any]:
    """Spawning `mockserver serve --port 0` to a 200 on /__admin/health, and to the first
    chat answer (the tokenizer loads in the background after the server answers health:
    this says when a request is answered without waiting for it)."""
    samples, first_chat = [], []
    for n in range(times):
        spawned = time.monotonic()
        proc = targets.start_mockserver(logs, name=f"startup-{n}")
        samples.append(proc.ready_seconds)
        url = proc.base + targets.DATED_PATH
        status, _, _ = http("POST", url, wl.small_body().encode(), HEADERS, timeout=30)
        if status == 200:
            first_chat.append(time.monotonic() - spawned)
        proc.stop()
    return {
        "samples_s": samples,
        "min_s": min(samples),
        "median_s": statistics.median(samples),
        "max_s": max(samples),
        "first_chat_samples_s": first_chat,
        "first_chat_median_s": statistics.median(first_chat) if first_chat else None,
    }


def measure_reset(clean_runs: int = 2000, dirty_runs: int = 200) -> dict[str, Any]:
    """`MockServer.reset()` in-process: on an idle server, and after a test's worth of state
    (5 stubs and one request in the journal), as the pytest plugin resets before each test."""
    from mockserver.testing.server import MockServer

    clean, dirty, fixture = [], [], []
    with MockServer() as server:
        for _ in range(clean_runs):
            start = time.perf_counter()
            server.reset()
            clean.append(time.perf_counter() - start)
        url = server.url + targets.DATED_PATH
        body = wl.small_body().encode()
        for n in range(dirty_runs):
            for k in range(5):
                server.stub(
                    match={"last_user_message": {"contains": f"word{n}-{k}"}},
                    answer={"content": "stubbed"},
                )
            http("POST", url, body, HEADERS)
            start = time.perf_counter()
            server.reset()
            dirty.append(time.perf_counter() - start)
            # What the azure_mock fixture does around each test besides reset().
            start = time.perf_counter()
            server.take_failures()
            server.configure(seed=server.settings.answers.seed)
            server.take_failures()
            fixture.append(time.perf_counter() - start)
    return {
        "clean_median_ms": statistics.median(clean) * 1000,
        "clean_max_ms": max(clean) * 1000,
        "dirty_median_ms": statistics.median(dirty) * 1000,
        "dirty_max_ms": max(dirty) * 1000,
        "fixture_rest_median_ms": statistics.median(fixture) * 1000,
        "clean_runs": clean_runs,
        "dirty_runs": dirty_runs,
    }


# --- the servers --------------------------------------------------------------------------


def build_targets(work: Path, args: argparse.Namespace, results: dict[str, Any]) -> list[Target]:
    only = set(args.only.split(",")) if args.only else None
    unavailable: dict[str, str] = results["unavailable"]
    log: list[str] = results["install_log"]

    def wanted(name: str) -> bool:
        return only is None or name in only

    chosen = [t for t in (targets.ours(work), targets.ceiling(work)) if wanted(t.name)]
    if args.no_peers:
        return chosen
    if wanted("aimock"):
        say("installing aimock in bench/.node/aimock ...")
        try:
            modules = targets.npm_install(log, "aimock", targets.AIMOCK_PACKAGES)
            chosen.append(targets.aimock(work, modules))
        except UnavailableError as error:
            unavailable["aimock"] = str(error)
    if args.all_peers:
        chosen += other_peers(work, wanted, unavailable, log)
    for name, why in unavailable.items():
        say(f"{name}: unavailable: {why}")
    return chosen


def other_peers(
    work: Path, wanted: Callable[[str], bool], unavailable: dict[str, str], log: list[str]
) -> list[Target]:
    """WireMock, Prism and the Python LLM mocks (--all-peers: they add minutes)."""
    chosen: list[Target] = []
    if wanted("wiremock") or wanted("prism"):
        try:
            modules = targets.npm_install(log, "others", targets.NPM_PACKAGES)
        except UnavailableError as error:
            for name in ("wiremock", "prism"):
                if wanted(name):
                    unavailable[name] = str(error)
        else:
            for name, make in (("wiremock", targets.wiremock), ("prism", targets.prism)):
                if not wanted(name):
                    continue
                try:
                    chosen.append(make(work, modules))
                except UnavailableError as error:
                    unavailable[name] = str(error)
    for peer in targets.PY_PEERS:
        if not wanted(peer.package):
            continue
        say(f"installing {peer.package}=={peer.version} in bench/.peers ...")
        try:
            bin_dir = targets.pip_install(peer, log)
        except UnavailableError as error:
            unavailable[peer.package] = str(error)
            continue
        chosen.append(targets.python_peer(peer, work, bin_dir))
    return chosen


def request_for(target: Target, proc: Proc, workload: str) -> load.Request:
    url = proc.base + target.chat_path
    if workload in ("W1", "R"):
        return load.Request(url, HEADERS, body=wl.small_body())
    if workload == "W1d":
        return load.Request(url, HEADERS, parts=wl.distinct_small_parts())
    if workload == "W2d":
        return load.Request(url, HEADERS, parts=wl.distinct_large_parts())
    if workload == "W2r":
        return load.Request(url, HEADERS, body=wl.repeated_large_body())
    if workload == "W3":
        return load.Request(url, HEADERS, body=wl.stream_body(), stream=True)
    if workload == "W4":
        headers = {**HEADERS, "x-mock-latency": wl.W4_LATENCY}
        return load.Request(url, headers, body=wl.stream_body(), stream=True)
    raise ValueError(workload)


def probe(request: load.Request) -> str | None:
    """Why this server cannot answer the workload, or None when it can."""
    try:
        started = time.perf_counter()
        status, headers, body = http(
            "POST", request.url, request.body_for(0).encode(), request.headers, timeout=30
        )
    except OSError as error:
        return f"n/a: the request failed ({type(error).__name__}: {error})"
    if status != 200:
        return f"n/a: answers {status}: {body[:160].decode(errors='replace')}"
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    if request.stream and "text/event-stream" not in content_type:
        return f"n/a: stream=true answered with {content_type or 'no content-type'}, not SSE"
    if request.stream and not body.rstrip().endswith(b"data: [DONE]"):
        return "n/a: the stream does not end with data: [DONE]"
    request.probe_seconds.append(time.perf_counter() - started)
    return None


def run_seconds(request: load.Request, seconds: float) -> float:
    """At least `seconds`, and at least 3 rounds of all connections' requests: a run much
    shorter than one round (64 x a slow request) would count almost nothing."""
    single = min(request.probe_seconds, default=0.0)
    return min(max(seconds, 3 * CONNECTIONS * single), 4 * seconds)


def measure_once(request: load.Request, seconds: float, workdir: Path, pid: int) -> dict[str, Any]:
    meter = CpuMeter(pid)
    result = load.drive(request, CONNECTIONS, seconds, workdir)
    run = {**result.as_dict(), "cpu": meter.read()}
    # CPU time the server spent per answered request: less sensitive than req/s to other
    # processes on the machine taking the cores for a while.
    cpu_seconds = run["cpu"]["server_cores"] * result.seconds
    run["cpu_us_per_request"] = cpu_seconds / result.requests * 1e6 if result.requests else None
    return run


@dataclass
class Live:
    """A started server in the run, and where its cells go."""

    target: Target
    proc: Proc
    cells: dict[str, Any]
    workdir: Path


def bench_all(
    chosen: list[Target], logs: Path, seconds: float, args: argparse.Namespace
) -> dict[str, Any]:
    """Every workload on every server, interleaved: each repeat runs the servers one after
    the other, so a slow minute of the machine falls on all of them, not on one."""
    records: dict[str, Any] = {
        t.name: {"description": t.description, "version": t.version, "cells": {}} for t in chosen
    }
    live = start_each(chosen, logs, records, lambda t: t.start, warm=not args.quick)
    try:
        for workload in tracked(WORKLOADS, len(WORKLOADS), "workloads"):
            say(f"== {workload}")
            run_workload(live, workload, seconds, args.runs)
        for one in live:
            records[one.target.name]["rss_after_mb"] = round(one.proc.rss_mb(), 1)
    finally:
        for one in live:
            one.proc.stop()
    say("== R (replay)")
    run_replay(chosen, logs, records, seconds, args.runs)
    say("== W4")
    run_w4(chosen, logs, records, args.runs)
    return records


def start_each(
    chosen: list[Target],
    logs: Path,
    records: dict[str, Any],
    how: Callable[[Target], Callable[[Path], Proc] | None],
    warm: bool = False,
) -> list[Live]:
    live = []
    for target in chosen:
        start = how(target)
        if start is None:
            continue
        try:
            proc = start(logs)
        except (StartError, UnavailableError, OSError) as error:
            records[target.name].setdefault("error", f"did not start: {error}")
            say(f"  {target.name}: did not start: {error}")
            continue
        record = records[target.name]
        record.setdefault("ready_seconds", round(proc.ready_seconds, 3))
        record.setdefault("rss_idle_mb", round(proc.rss_mb(), 1))
        if warm:  # the JVM compiles as it runs; the others load what they load lazily
            request = load.Request(proc.base + target.chat_path, HEADERS, body=wl.small_body())
            load.run_client(request, 16, 5 if target.name == "wiremock" else 1)
        live.append(Live(target, proc, record["cells"], logs.parent / f"wrk-{target.name}"))
    return live


def run_workload(live: list[Live], workload: str, seconds: float, runs: int) -> None:
    ready = [(one, request) for one in live if (request := ready_for(one, workload)) is not None]
    for _ in range(runs):
        for one, request in ready:
            duration = run_seconds(request, seconds)
            run = measure_once(request, duration, one.workdir, one.proc.pid)
            one.cells[workload].setdefault("runs", []).append(run)
    for one, request in ready:
        if workload == "W3":
            ttfb = load.run_client(request, TTFB_CONNECTIONS, seconds)
            one.cells[workload]["ttfb"] = ttfb.as_dict()
        say(f"  {one.target.name}: {summary(one.cells[workload])}")


def ready_for(one: Live, workload: str) -> load.Request | None:
    """The workload's request for this server, probed; None (and the cell says why) when
    the server cannot answer it."""
    target, proc = one.target, one.proc
    base = "W2" if workload.startswith("W2") else workload
    if base in target.na or workload in target.na:
        one.cells[workload] = {"na": target.na.get(base) or target.na[workload]}
        return None
    if target.prepare is not None:
        target.prepare(proc, workload)
    request = request_for(target, proc, workload)
    if (why := probe(request)) is not None:
        say(f"  {target.name} {workload}: {why}")
        one.cells[workload] = {"na": why}
        return None
    probe(request)  # a second probe: the first may pay for a cold start
    one.cells[workload] = {}
    return request


def run_replay(
    chosen: list[Target], logs: Path, records: dict[str, Any], seconds: float, runs: int
) -> None:
    """R: the W1 request answered from one recorded interaction, on instances of their own."""
    for target in chosen:
        if "R" in target.na or target.start_replay is None:
            why = target.na.get("R", "n/a: no replay of recorded interactions")
            records[target.name]["cells"]["R"] = {"na": why}
    live = start_each(
        chosen, logs, records, lambda t: None if "R" in t.na else t.start_replay, warm=True
    )
    try:
        for one in live:
            records[one.target.name]["replay_ready_seconds"] = round(one.proc.ready_seconds, 2)
        run_workload(live, "R", seconds, runs)
    finally:
        for one in live:
            one.proc.stop()


def run_w4(chosen: list[Target], logs: Path, records: dict[str, Any], runs: int) -> None:
    """1,000 paced streams at once, a fresh server per run; runs interleaved by server."""
    able = []
    for target in chosen:
        cells = records[target.name]["cells"]
        if "W4" in target.na:
            cells["W4"] = {"na": target.na["W4"]}
        elif "runs" not in cells.get("W3", {}):
            cells["W4"] = {"na": "n/a: does not stream (see W3)"}
        else:
            cells["W4"] = {"runs": []}
            able.append(target)
    for n in range(runs):
        for target in able:
            # A W4 run is 5-70 s: the extra peers (--all-peers) get one.
            if n and target.name not in (targets.OURS, "ceiling", "aimock"):
                continue
            run_w4_once(target, logs, records[target.name]["cells"]["W4"], n)


def run_w4_once(target: Target, logs: Path, cell: dict[str, Any], n: int) -> None:
    start: Callable[[Path], Proc] = target.start_w4 or target.start
    try:
        proc = start(logs)
    except (StartError, OSError) as error:
        cell.setdefault("na", f"n/a: the W4 instance did not start: {error}")
        return
    try:
        if target.prepare is not None:
            target.prepare(proc, "W4")
        request = request_for(target, proc, "W4")
        meter = CpuMeter(proc.pid)
        result = load.open_streams(request, wl.W4_STREAMS, proc.rss_mb)
        cell["runs"].append({**result.as_dict(), "cpu": meter.read()})
        say(
            f"  {target.name} W4 run {n + 1}: {result.completed}/{result.streams} complete, "
            f"{result.errors} errors, {result.wall_seconds:.1f} s, "
            f"peak RSS {result.rss_peak_mb:.0f} MB"
        )
    finally:
        proc.stop()


def summary(cell: dict[str, Any]) -> str:
    rps = [run["rps"] for run in cell["runs"]]
    errors = sum(run["errors"] for run in cell["runs"])
    text = f"{statistics.median(rps):.0f} req/s ({min(rps):.0f}-{max(rps):.0f}), {errors} errors"
    if "ttfb" in cell:
        text += f", TTFB p50 {cell['ttfb']['ttfb_p50_ms']:.1f} ms"
    return text


if __name__ == "__main__":
    sys.exit(main())
