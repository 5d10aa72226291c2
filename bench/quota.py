"""Quota accuracy under load (#18): two `mockserver serve` processes on one Redis, many
concurrent clients, and the number of 200s in each request window against the limit.

The deployment allows `requests_per_minute` R; the mock limits requests over sliding
windows of `quota_request_window_seconds` W, each allowing floor(R x W / 60) (the
"allowance"), decided by one Lua script on Redis's clock (mockserver/stores/redis/quota.py).
Tokens are set far above what the run uses, so only the request limit answers 429.

Under steady over-demand a sliding window admits its allowance in a burst as soon as the
oldest admitted request is W seconds old: the 200s come in bursts W apart, starting with the
first. So window k is the time around the first 200 + k x W (from half a window before to
half a window after): exact means every window the run covered admits exactly the
allowance, however the requests were spread over the two processes. A window the run
ended within is reported and not judged. aoai-api-simulator's load tests check the same
(successful requests per window against the limit).
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench import targets, valkey
from bench import workloads as wl
from bench.procs import CpuMeter, Proc, StartError, http
from bench.targets import DATED_PATH, HEADERS, UnavailableError

FULL = {"clients": 200, "seconds": 30.0, "requests_per_minute": 1200, "window_seconds": 5.0}
QUICK = {"clients": 200, "seconds": 6.0, "requests_per_minute": 1200, "window_seconds": 2.0}
PROCESSES = 2
SPAN = 0.8  # of a window: the sliding check's span


def allowance(requests_per_minute: int, window_seconds: float) -> int:
    """The mock's rule (mockserver.stores.quota.window_allowance), restated here."""
    return max(1, math.floor(requests_per_minute * window_seconds / 60))


def config_text(requests_per_minute: int, window_seconds: float) -> str:
    return "\n".join(
        [
            "enforce_quota = true",
            f"quota_request_window_seconds = {window_seconds}",
            "",
            f"[deployments.{wl.DEPLOYMENT}]",
            'model = "o3-mini"',
            "tokens_per_minute = 1000000000",  # only the request limit answers 429
            f"requests_per_minute = {requests_per_minute}",
            "",
        ]
    )


def run(logs: Path, quick: bool, say: Callable[[str], None]) -> dict[str, Any]:
    plan = dict(QUICK if quick else FULL)
    rpm, window = int(plan["requests_per_minute"]), float(plan["window_seconds"])
    record: dict[str, Any] = {**plan, "processes": PROCESSES, "allowance": allowance(rpm, window)}
    config = logs.parent / "quota.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(config_text(rpm, window))
    started: list[Proc] = []
    try:
        redis = valkey.start(logs, name="valkey-quota")
        started.append(redis)
        servers = [start_server(logs, config, redis, n) for n in range(PROCESSES)]
        started += servers
        record.update(measure(servers, redis, int(plan["clients"]), float(plan["seconds"])))
    except (UnavailableError, StartError, OSError) as error:
        record["na"] = f"n/a: {error}"
        say(f"  quota: n/a: {error}")
        return record
    finally:
        for proc in reversed(started):
            proc.stop()
    samples = record.pop("samples")  # tens of thousands: the JSON keeps the 200s' times
    record.update(judge(samples, window, record["allowance"], record["elapsed"]))
    say(f"  quota: {summary(record)}")
    return record


def start_server(logs: Path, config: Path, redis: Proc, n: int) -> Proc:
    args = ["--config", str(config), "--state", valkey.url(redis)]
    return targets.start_mockserver(logs, *args, name=f"mockserver-quota-{n}")


def measure(servers: list[Proc], redis: Proc, clients: int, seconds: float) -> dict[str, Any]:
    # Start from an empty quota (the start-up left none, but a reset says so for certain).
    status, _, body = http("POST", servers[0].base + "/__admin/reset", b"{}", HEADERS)
    if status >= 300:
        raise StartError(f"reset answered {status}: {body[:200]!r}")
    meters = [CpuMeter(proc.pid) for proc in servers]
    redis_meter = CpuMeter(None, redis.pid)
    urls = [proc.base + DATED_PATH for proc in servers]
    samples, elapsed = asyncio.run(drive(urls, clients, seconds))
    status, _, body = http("GET", servers[1].base + "/__admin/quota", headers=HEADERS)
    return {
        "samples": samples,
        "elapsed": elapsed,
        "server_cores": [meter.read()["server_cores"] for meter in meters],
        "valkey_cores": redis_meter.read().get("helper_cores"),
        "admin_quota": body.decode(errors="replace") if status == 200 else f"status {status}",
    }


async def drive(urls: list[str], clients: int, seconds: float) -> tuple[list[Any], float]:
    """`clients` loops, each on one of the servers in turn, sending W1 until `seconds` are
    over; each answer noted as (seconds since the start when it arrived, status, which
    server)."""
    samples: list[tuple[float, int | str, int]] = []
    body = wl.small_body().encode()
    connector = aiohttp.TCPConnector(limit=clients + 10)
    timeout = aiohttp.ClientTimeout(total=30)
    start = time.perf_counter()
    deadline = start + seconds

    async def client(session: aiohttp.ClientSession, server: int) -> None:
        url = urls[server]
        while time.perf_counter() < deadline:
            try:
                async with session.post(url, data=body, headers=HEADERS) as response:
                    await response.read()
                    outcome: int | str = response.status
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                outcome = type(error).__name__
                await asyncio.sleep(0.01)
            samples.append((time.perf_counter() - start, outcome, server))

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        loops = [client(session, n % len(urls)) for n in range(clients)]
        await asyncio.wait_for(asyncio.gather(*loops), seconds + 60)
    return [list(sample) for sample in samples], time.perf_counter() - start


def judge(samples: list[Any], window: float, allowed: int, elapsed: float) -> dict[str, Any]:
    """200s per window (window k: first 200 + k x W, +- W/2); which windows the run covered."""
    outcomes = Counter(str(status) for _, status, _ in samples)
    accepted = sorted(t for t, status, _ in samples if status == 200)
    by_server = Counter(server for _, status, server in samples if status == 200)
    if not accepted:
        return {"outcomes": dict(outcomes), "windows": [], "exact": False, "by_server": []}
    first = accepted[0]
    counts: Counter[int] = Counter(round((t - first) / window) for t in accepted)
    windows = []
    for k in range(max(counts) + 1):
        covered = first + (k + 0.5) * window <= elapsed
        windows.append({"window": k, "accepted": counts.get(k, 0), "judged": covered})
    judged = [w["accepted"] for w in windows if w["judged"]]
    return {
        "outcomes": dict(outcomes),
        "by_server": [by_server.get(n, 0) for n in range(PROCESSES)],
        "first_accepted_s": round(first, 3),
        "accepted_at_s": [round(t, 3) for t in accepted],
        "windows": windows,
        "exact": bool(judged) and all(n == allowed for n in judged),
        "burst_spread_s": round(max(spread(accepted, first, window)), 3),
        "most_in_span": most_within(accepted, SPAN * window),
        "requests_per_second": round(len(samples) / elapsed, 1) if elapsed else 0.0,
    }


def spread(accepted: list[float], first: float, window: float) -> list[float]:
    """How long after its window's start (first 200 + k x W) each 200 arrived: a burst
    much narrower than half a window means the windows above are not a matter of where
    the cuts fall."""
    return [abs(t - first - round((t - first) / window) * window) for t in accepted]


def most_within(accepted: list[float], span: float) -> int:
    """The most 200s that arrived within any `span` seconds, by the client's clock (a
    check that needs no window alignment; a little under W, as answers arrive a latency
    after Redis admitted them)."""
    return max(bisect.bisect_left(accepted, t + span) - i for i, t in enumerate(accepted))


def summary(record: dict[str, Any]) -> str:
    if "na" in record:
        return str(record["na"])
    counts = [str(w["accepted"]) + ("" if w["judged"] else "*") for w in record["windows"]]
    verdict = "exact" if record["exact"] else "NOT exact"
    return (
        f"200s per {record['window_seconds']:g} s window {', '.join(counts)} "
        f"(allowance {record['allowance']}; * = not judged): {verdict}; "
        f"answers {record['outcomes']}, 200s by process {record['by_server']}"
    )
