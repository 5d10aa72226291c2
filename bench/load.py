"""Load generators: `wrk` (Debian's) driven by generated Lua scripts, and an asyncio client.

wrk does the throughput runs. The asyncio client (aiohttp, a bounded number of
connections, a fixed duration) measures time to first byte, drives the 1,000 open
streams of W4, and stands in for wrk when wrk cannot be installed. Both only ever target
127.0.0.1, and every run ends by itself: a duration, a request cap, and a hard timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

MAX_REQUESTS_PER_RUN = 2_000_000  # a cap besides the duration, for the asyncio client
WRK_TIMEOUT = "30s"  # per request: W2 at 64 connections waits seconds in the queue


@dataclass(frozen=True)
class Request:
    """What one workload sends to one server."""

    url: str  # http://127.0.0.1:PORT/path?query
    headers: dict[str, str]
    body: str = ""  # the same body every time, or
    parts: tuple[str, str] | None = None  # prefix + counter + suffix: a new body each time
    stream: bool = False
    probe_seconds: list[float] = field(default_factory=list, compare=False)

    def __post_init__(self) -> None:
        host = urlsplit(self.url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the bench only targets loopback, not {host}")

    def body_for(self, n: int) -> str:
        """The body numbered `n`: with `parts`, the counter is `n`."""
        if self.parts is None:
            return self.body
        return f"{self.parts[0]}{n}{self.parts[1]}"


@dataclass
class RunResult:
    tool: str
    seconds: float
    requests: int
    rps: float
    mean_ms: float
    p50_ms: float
    p99_ms: float
    errors: int
    error_detail: dict[str, int] = field(default_factory=dict)
    ttfb_p50_ms: float | None = None
    ttfb_p99_ms: float | None = None
    frames_per_response: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- wrk --------------------------------------------------------------------------------

WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,"connect":%.0f,' ..
    '"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,"mean_us":%.1f,' ..
    '"p50_us":%.0f,"p99_us":%.0f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency.mean, latency:percentile(50), latency:percentile(99)))
end
"""


# Where each run's counter starts: a run never sends a body an earlier run sent, so a
# server that answered W1 distinct before meets only new prompts (as the workload says),
# not the bodies of its last run again. A run sends far fewer than RUN_SPAN requests.
RUN_SPAN = 1_000_000
_RUNS = itertools.count()


def first_number() -> int:
    return next(_RUNS) * RUN_SPAN + 1


def _lua_string(text: str) -> str:
    level = "=" * 3
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def wrk_script(request: Request) -> str:
    headers = ", ".join(
        f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in request.headers.items()
    )
    lines = [f"local headers = {{ {headers} }}"]
    if request.parts is None:
        lines += [
            'wrk.method = "POST"',
            f"wrk.body = {_lua_string(request.body)}",
            "for k, v in pairs(headers) do wrk.headers[k] = v end",
        ]
    else:
        split = urlsplit(request.url)
        path = split.path + (f"?{split.query}" if split.query else "")
        lines += [
            f"local prefix = {_lua_string(request.parts[0])}",
            f"local suffix = {_lua_string(request.parts[1])}",
            f"local path = {_lua_string(path)}",
            f"local counter = {first_number() - 1}",
            "request = function()",
            "  counter = counter + 1",
            '  return wrk.format("POST", path, headers, prefix .. counter .. suffix)',
            "end",
        ]
    return "\n".join(lines) + "\n" + WRK_DONE


def drive(request: Request, connections: int, seconds: float, workdir: Path) -> RunResult:
    """One run of load: wrk when installed (the load generator every server gets), else
    the bench's own asyncio client."""
    if have_wrk():
        return run_wrk(request, connections, seconds, workdir)
    return run_client(request, connections, seconds)


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(request: Request, connections: int, seconds: float, workdir: Path) -> RunResult:
    workdir.mkdir(parents=True, exist_ok=True)
    script = workdir / "bench.lua"
    script.write_text(wrk_script(request))
    argv = [
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        f"--timeout={WRK_TIMEOUT}", "-s", str(script), request.url,
    ]  # fmt: skip
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    except subprocess.TimeoutExpired:
        return _failed("wrk", seconds, "wrk did not finish in time")
    for line in done.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            stats = json.loads(line.removeprefix("BENCHJSON "))
            break
    else:
        return _failed("wrk", seconds, f"wrk gave no summary: {done.stderr.strip()[-300:]}")
    duration = stats["duration_us"] / 1e6
    detail = {
        k: int(stats[k]) for k in ("connect", "read", "write", "status", "timeout") if stats[k]
    }
    return RunResult(
        tool="wrk",
        seconds=duration,
        requests=int(stats["requests"]),
        rps=stats["requests"] / duration if duration else 0.0,
        mean_ms=stats["mean_us"] / 1000,
        p50_ms=stats["p50_us"] / 1000,
        p99_ms=stats["p99_us"] / 1000,
        errors=sum(detail.values()),
        error_detail=detail,
    )


def _failed(tool: str, seconds: float, why: str) -> RunResult:
    return RunResult(tool, seconds, 0, 0.0, 0.0, 0.0, 0.0, 1, {why: 1})


# --- the asyncio client -----------------------------------------------------------------


def run_client(request: Request, connections: int, seconds: float) -> RunResult:
    """`connections` workers, each sending one request after another for `seconds`."""
    return asyncio.run(_client(request, connections, seconds))


async def _client(request: Request, connections: int, seconds: float) -> RunResult:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    ttfbs: list[float] = []
    frames: list[int] = []
    errors: Counter[str] = Counter()
    numbers = itertools.count(first_number())
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=60)
    start = loop.time()
    deadline = start + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        while loop.time() < deadline and len(latencies) < MAX_REQUESTS_PER_RUN:
            result = await _one(session, request, next(numbers))
            if isinstance(result, str):
                errors[result] += 1
                await asyncio.sleep(0.01)  # a refused connection must not spin
                continue
            latencies.append(result[0])
            ttfbs.append(result[1])
            frames.append(result[2])

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        workers = [asyncio.create_task(worker(session)) for _ in range(connections)]
        try:
            await asyncio.wait_for(asyncio.gather(*workers), seconds + 90)
        except TimeoutError:
            errors["client run timed out"] += 1
    elapsed = loop.time() - start
    return _summary("asyncio", elapsed, latencies, ttfbs, frames, errors, request.stream)


async def _one(
    session: aiohttp.ClientSession, request: Request, number: int
) -> tuple[float, float, int] | str:
    """(latency, time to first body byte, SSE frames) or the reason it failed."""
    started = time.perf_counter()
    first = 0.0
    data = bytearray()
    try:
        async with session.post(
            request.url, data=request.body_for(number).encode(), headers=request.headers
        ) as response:
            async for chunk in response.content.iter_any():
                if not first:
                    first = time.perf_counter()
                data += chunk
            status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        return type(error).__name__
    ended = time.perf_counter()
    if status != 200:
        return f"status {status}"
    if request.stream and not data.rstrip().endswith(b"data: [DONE]"):
        return "stream did not end with [DONE]"
    count = data.count(b"data:") if request.stream else 0
    return ended - started, (first or ended) - started, count


def _summary(
    tool: str,
    elapsed: float,
    latencies: list[float],
    ttfbs: list[float],
    frames: list[int],
    errors: Counter[str],
    stream: bool,
) -> RunResult:
    ok = len(latencies)
    return RunResult(
        tool=tool,
        seconds=elapsed,
        requests=ok + sum(errors.values()),
        rps=ok / elapsed if elapsed else 0.0,
        mean_ms=statistics.fmean(latencies) * 1000 if ok else 0.0,
        p50_ms=_percentile(latencies, 50) * 1000,
        p99_ms=_percentile(latencies, 99) * 1000,
        errors=sum(errors.values()),
        error_detail=dict(errors),
        ttfb_p50_ms=_percentile(ttfbs, 50) * 1000,
        ttfb_p99_ms=_percentile(ttfbs, 99) * 1000,
        frames_per_response=statistics.fmean(frames) if stream and frames else None,
    )


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


# --- W4: many open streams at once ------------------------------------------------------


@dataclass
class StreamsResult:
    streams: int
    completed: int
    errors: int
    error_detail: dict[str, int]
    wall_seconds: float
    peak_open: int
    ttfb_p50_ms: float
    stream_p50_s: float
    stream_max_s: float
    rss_start_mb: float
    rss_peak_mb: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def open_streams(
    request: Request, count: int, rss: Callable[[], float], timeout: float = 150.0
) -> StreamsResult:
    return asyncio.run(_open_streams(request, count, rss, timeout))


async def _open_streams(
    request: Request, count: int, rss: Callable[[], float], timeout: float
) -> StreamsResult:
    rss_start = rss()
    peak_rss = rss_start
    open_now = peak_open = 0
    durations: list[float] = []
    ttfbs: list[float] = []
    errors: Counter[str] = Counter()
    connector = aiohttp.TCPConnector(limit=count + 10, limit_per_host=count + 10)
    client_timeout = aiohttp.ClientTimeout(total=timeout - 10)

    async def one(session: aiohttp.ClientSession, number: int) -> None:
        nonlocal open_now, peak_open
        started = time.perf_counter()
        first = 0.0
        tail = b""
        try:
            async with session.post(
                request.url, data=request.body_for(number).encode(), headers=request.headers
            ) as response:
                open_now += 1
                peak_open = max(peak_open, open_now)
                try:
                    async for chunk in response.content.iter_any():
                        if not first:
                            first = time.perf_counter()
                        tail = (tail + chunk)[-64:]
                finally:
                    open_now -= 1
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            errors[type(error).__name__] += 1
            return
        if status != 200:
            errors[f"status {status}"] += 1
        elif not tail.rstrip().endswith(b"data: [DONE]"):
            errors["stream did not end with [DONE]"] += 1
        else:
            durations.append(time.perf_counter() - started)
            ttfbs.append(first - started)

    async def sample() -> None:
        nonlocal peak_rss
        while True:
            peak_rss = max(peak_rss, rss())
            await asyncio.sleep(0.1)

    start = time.perf_counter()
    sampler = asyncio.create_task(sample())
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
        tasks = [asyncio.create_task(one(session, n)) for n in range(1, count + 1)]
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            errors["not finished in time"] += len(pending)
            await asyncio.gather(*pending, return_exceptions=True)
    wall = time.perf_counter() - start
    sampler.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sampler
    peak_rss = max(peak_rss, rss())
    return StreamsResult(
        streams=count,
        completed=len(durations),
        errors=sum(errors.values()),
        error_detail=dict(errors),
        wall_seconds=wall,
        peak_open=peak_open,
        ttfb_p50_ms=_percentile(ttfbs, 50) * 1000,
        stream_p50_s=_percentile(durations, 50),
        stream_max_s=max(durations, default=0.0),
        rss_start_mb=rss_start,
        rss_peak_mb=peak_rss,
    )
