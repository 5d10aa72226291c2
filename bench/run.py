"""`python -m bench`: the whole benchmark, ours beside the real alternatives.

    .venv/bin/python -m bench            # the full run (BENCH_SECONDS per run, 3 runs a cell)
    .venv/bin/python -m bench --quick    # 1 s per run, for development
    .venv/bin/python -m bench --only mockserver,ceiling --no-peers

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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import load, report, targets
from bench import workloads as wl
from bench.procs import CpuMeter, Proc, StartError, http, raise_fd_limit, stop_all
from bench.targets import HEADERS, Target, UnavailableError
from mockserver.cli import progress
from mockserver.cli.progress import tracked

RESULTS_DIR = targets.BENCH / "results"
DEFAULT_SECONDS = 4.0
CONNECTIONS = 64
TTFB_CONNECTIONS = 8
WORKLOADS = ("W1", "W2d", "W2r", "W3")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 s per run, 1 run of W4")
    parser.add_argument("--seconds", type=float, help="seconds per run (env BENCH_SECONDS)")
    parser.add_argument("--runs", type=int, default=3, help="runs per cell (default 3)")
    parser.add_argument("--only", help="comma-separated server names to run")
    parser.add_argument("--no-peers", action="store_true", help="only ours and the ceiling")
    parser.add_argument("--no-write", action="store_true", help="print, write no results")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
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
            "w5_interactions": wl.W5_INTERACTIONS,
        },
        "install_log": [],
        "unavailable": {},
        "servers": {},
    }
    try:
        results["loadgen"] = ensure_wrk(results["install_log"])
        say(f"load generator: {results['loadgen']['tool']}")
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
        for target in tracked(chosen, len(chosen), "targets"):
            say(f"== {target.name}")
            results["servers"][target.name] = bench_target(target, logs, seconds, args)
    finally:
        stop_all()
        results["total_seconds"] = round(time.monotonic() - began, 1)
    if args.no_write:
        print(json.dumps(results, indent=2))
        return 0
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS_DIR / f"{stamp}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    (targets.BENCH / "RESULTS.md").write_text(report.markdown(results, out.name))
    say(
        f"wrote {out.relative_to(targets.REPO)} and bench/RESULTS.md "
        f"in {results['total_seconds']:.0f} s"
    )
    return 0


def say(text: str) -> None:
    progress.say(text)  # above the bars on a terminal, plain lines in a log
    sys.stdout.flush()


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
    }


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
    if wanted("wiremock") or wanted("prism"):
        try:
            modules = targets.npm_install(log)
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
    for name, why in unavailable.items():
        say(f"{name}: unavailable: {why}")
    return chosen


def request_for(target: Target, proc: Proc, workload: str) -> load.Request:
    url = proc.base + target.chat_path
    if workload == "W1":
        return load.Request(url, HEADERS, body=wl.small_body())
    if workload == "W2d":
        return load.Request(url, HEADERS, parts=wl.distinct_large_parts())
    if workload == "W2r":
        return load.Request(url, HEADERS, body=wl.repeated_large_body())
    if workload == "W3":
        return load.Request(url, HEADERS, body=wl.small_body(stream=True), stream=True)
    if workload == "W4":
        headers = {**HEADERS, "x-mock-latency": wl.W4_LATENCY}
        return load.Request(url, headers, body=wl.small_body(stream=True), stream=True)
    if workload == "W5":
        return load.Request(url, HEADERS, parts=wl.replay_parts(), modulo=wl.W5_INTERACTIONS)
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


def measure(
    request: load.Request, seconds: float, runs: int, workdir: Path, pid: int
) -> list[dict[str, Any]]:
    out = []
    for _ in range(runs):
        meter = CpuMeter(pid)
        if load.have_wrk():
            result = load.run_wrk(request, CONNECTIONS, seconds, workdir)
        else:
            result = load.run_client(request, CONNECTIONS, seconds)
        out.append({**result.as_dict(), "cpu": meter.read()})
    return out


def bench_target(
    target: Target, logs: Path, seconds: float, args: argparse.Namespace
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "description": target.description,
        "version": target.version,
        "cells": {},
    }
    cells: dict[str, Any] = record["cells"]
    workdir = logs.parent / f"wrk-{target.name}"
    try:
        proc = target.start(logs)
    except (StartError, UnavailableError, OSError) as error:
        record["error"] = f"did not start: {error}"
        say(f"  {record['error']}")
        return record
    try:
        record["ready_seconds"] = round(proc.ready_seconds, 3)
        record["rss_idle_mb"] = round(proc.rss_mb(), 1)
        warm = load.Request(proc.base + target.chat_path, HEADERS, body=wl.small_body())
        warm_seconds = 5 if target.name == "wiremock" else 1  # the JVM compiles as it runs
        if not args.quick:
            load.run_client(warm, 16, warm_seconds)
        for workload in tracked(WORKLOADS, len(WORKLOADS), target.name):
            cells[workload] = run_cell(target, proc, workload, seconds, args.runs, workdir)
        record["rss_after_mb"] = round(proc.rss_mb(), 1)
    finally:
        proc.stop()
    w3_ok = "runs" in cells.get("W3", {})
    cells["W4"] = run_w4(target, logs, args, w3_ok)
    cells["W5"] = run_w5(target, logs, seconds, args.runs, workdir)
    return record


def run_cell(
    target: Target, proc: Proc, workload: str, seconds: float, runs: int, workdir: Path
) -> dict[str, Any]:
    base = "W2" if workload.startswith("W2") else workload
    if base in target.na:
        return {"na": target.na[base]}
    if target.prepare is not None:
        target.prepare(proc, workload)
    request = request_for(target, proc, workload)
    if (why := probe(request)) is not None:
        say(f"  {workload}: {why}")
        return {"na": why}
    probe(request)  # a second probe: the first may pay for a cold start
    duration = run_seconds(request, seconds)
    cell: dict[str, Any] = {"runs": measure(request, duration, runs, workdir, proc.pid)}
    if workload == "W3":
        ttfb = load.run_client(request, TTFB_CONNECTIONS, seconds)
        cell["ttfb"] = ttfb.as_dict()
    say(f"  {workload}: {summary(cell)}")
    return cell


def run_w4(target: Target, logs: Path, args: argparse.Namespace, w3_ok: bool) -> dict[str, Any]:
    if "W4" in target.na:
        return {"na": target.na["W4"]}
    if not w3_ok:
        return {"na": "n/a: does not stream (see W3)"}
    start: Callable[[Path], Proc] = target.start_w4 or target.start
    out = []
    # A W4 run is long (1,000 paced streams); peers get one, ours the full count.
    runs = 1 if args.quick or target.name != targets.OURS else args.runs
    for n in range(runs):
        try:
            proc = start(logs)
        except (StartError, OSError) as error:
            return {"na": f"n/a: the W4 instance did not start: {error}"}
        try:
            if target.prepare is not None:
                target.prepare(proc, "W4")
            request = request_for(target, proc, "W4")
            meter = CpuMeter(proc.pid)
            result = load.open_streams(request, wl.W4_STREAMS, proc.rss_mb)
            out.append({**result.as_dict(), "cpu": meter.read()})
            say(
                f"  W4 run {n + 1}: {result.completed}/{result.streams} complete, "
                f"{result.errors} errors, {result.wall_seconds:.1f} s, "
                f"peak RSS {result.rss_peak_mb:.0f} MB"
            )
        finally:
            proc.stop()
    return {"runs": out}


def run_w5(target: Target, logs: Path, seconds: float, runs: int, workdir: Path) -> dict[str, Any]:
    if "W5" in target.na:
        return {"na": target.na["W5"]}
    if target.start_w5 is None:
        return {"na": "n/a: no replay of recorded interactions"}
    try:
        proc = target.start_w5(logs)
    except (StartError, OSError) as error:
        return {"na": f"n/a: the replay instance did not start: {error}"}
    try:
        request = request_for(target, proc, "W5")
        if (why := probe(request)) is not None:
            return {"na": why}
        load.run_client(request, 16, 1)  # warm
        probe(request)
        cell: dict[str, Any] = {
            "runs": measure(request, run_seconds(request, seconds), runs, workdir, proc.pid),
            "ready_seconds": round(proc.ready_seconds, 2),
            "rss_mb": round(proc.rss_mb(), 1),
        }
        say(f"  W5: {summary(cell)} (ready in {proc.ready_seconds:.1f} s)")
        return cell
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
