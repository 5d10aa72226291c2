"""RESULTS.md's rows and sections for shared state: Redis against memory state and
`--workers 2` on W1 (bench/scale.py), and quota accuracy under load (bench/quota.py)."""

from __future__ import annotations

import json
import statistics
from typing import Any

Row = tuple[str, str, bool | None]
REDIS_GOAL = 0.85  # at most 15% slower than memory state, per process
WORKERS_GOAL = 1.5


def _setup(results: dict[str, Any], key: str) -> dict[str, Any]:
    setups = results.get("scale", {}).get("setups", {})
    setup: dict[str, Any] = setups.get(key, {})
    return setup


def _med(cell: dict[str, Any], key: str) -> float | None:
    values = [run[key] for run in cell.get("runs") or [] if run.get(key) is not None]
    return statistics.median(values) if values else None


def _rps_cpu(results: dict[str, Any], key: str) -> tuple[float | None, float | None]:
    cell = _setup(results, key)
    return _med(cell, "rps"), _med(cell, "cpu_us_per_request")


def redis_row(results: dict[str, Any]) -> Row:
    name = "`--state redis` at most 15% below memory state (W1, one process)"
    (mem, mem_cpu), (red, red_cpu) = _rps_cpu(results, "memory-w1"), _rps_cpu(results, "redis-w1")
    if not (mem and red and mem_cpu and red_cpu):
        return (name, "not measured", None)
    valkey = _med(_setup(results, "redis-w1"), "valkey_us_per_request") or 0.0
    text = (
        f"{red:.0f} / {mem:.0f} req/s = {red / mem:.2f}x; by CPU per request "
        f"{mem_cpu:.0f} / {red_cpu:.0f} us = {mem_cpu / red_cpu:.2f}x "
        f"(valkey-server another {valkey:.0f} us)"
    )
    return (name, text, red / mem >= REDIS_GOAL)


def workers_row(results: dict[str, Any], state: str) -> Row:
    """Judged on the CPU reading: with wrk (and Redis) on cores of their own, each of two
    processes has a core, so the capacity is 2 cores / CPU per request at 2 workers against
    1 core / CPU per request at 1; the req/s ratio measured here, with wrk and the machine's
    other load on the same 2 cores, is given beside it."""
    name = f"`--workers 2` scales W1 >= 1.5x ({state} state)"
    (one, one_cpu), (two, two_cpu) = (
        _rps_cpu(results, f"{state}-w1"),
        _rps_cpu(results, f"{state}-w2"),
    )
    if not (one and two and one_cpu and two_cpu):
        return (name, "not measured", None)
    capacity = 2 * one_cpu / two_cpu
    text = (
        f"by CPU per request (2 cores / {two_cpu:.0f} us against 1 core / {one_cpu:.0f} us) "
        f"{capacity:.2f}x; req/s measured with wrk on the same 2 cores "
        f"{two:.0f} / {one:.0f} = {two / one:.2f}x"
    )
    if state == "redis":
        valkey = _med(_setup(results, "redis-w2"), "valkey_us_per_request") or 0.0
        with_valkey = 2 * one_cpu / (two_cpu + valkey)
        text += f"; {with_valkey:.2f}x by CPU if valkey-server shares the 2 cores"
    return (name, text, capacity >= WORKERS_GOAL)


def quota_row(results: dict[str, Any]) -> Row:
    record = results.get("quota", {})
    name = "Quota exact under load (2 processes on one Redis, 200 clients)"
    if not record or "na" in record or not record.get("windows"):
        return (name, record.get("na", "not measured"), None)
    judged = [str(w["accepted"]) for w in record["windows"] if w["judged"]]
    text = (
        f"200s per {record['window_seconds']:g} s window: {', '.join(judged)} "
        f"(allowance {record['allowance']}), {record['seconds']:g} s; at most "
        f"{record['most_in_span']} in any {0.8 * record['window_seconds']:g} s"
    )
    within = record["most_in_span"] <= record["allowance"]
    return (name, text, bool(record["exact"]) and within)


def target_rows(results: dict[str, Any]) -> list[Row]:
    if "scale" not in results and "quota" not in results:
        return [("`--state redis`, `--workers 2`, quota", "not run (see --only)", None)]
    return [
        redis_row(results),
        workers_row(results, "memory"),
        workers_row(results, "redis"),
        quota_row(results),
    ]


def sections(results: dict[str, Any]) -> list[str]:
    return scale_section(results) + quota_section(results)


def scale_section(results: dict[str, Any]) -> list[str]:
    scale = results.get("scale")
    if not scale:
        return []
    out = [
        "",
        "## Shared state and `--workers 2` (W1)",
        "",
        "Four instances of `mockserver serve` in one run, W1 with wrk on each back to back "
        f"per repeat ({scale['connections']} connections): memory or `--state redis://` "
        "(a valkey-server the bench starts, each instance with its own `--state-prefix`), "
        "`--workers 1` or `2`. CPU per request is the server's (all its processes) and, apart, "
        "the valkey-server's. The machine has 2 cores and wrk runs on them too, so `--workers "
        "2` cannot be given 2 cores of its own: the scaling target is judged by CPU per "
        "request (2 cores / its CPU per request at 2 workers, against 1 core / its CPU per "
        "request at 1), which is what wrk on another machine would see, and the req/s "
        "measured beside wrk is shown too. Cores: the median share of a core used during a "
        "run by the server, wrk, valkey-server and everything else on the machine; by "
        "process: each busy process of the server in the median run (the workers).",
        "",
        "| setup | req/s | server CPU us / request | valkey CPU us / request | cores: server "
        "/ wrk / valkey / other | server cores by process | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    if "error" in scale.get("valkey", {}):
        out.insert(-4, f"Redis: unavailable: {scale['valkey']['error']}\n")
    for cell in scale.get("setups", {}).values():
        out.append(_scale_row(cell))
    return out


def _scale_row(cell: dict[str, Any]) -> str:
    if "na" in cell or not cell.get("runs"):
        return f"| {cell['title']} | {cell.get('na', '-')} | | | | | |"
    rps = [run["rps"] for run in cell["runs"]]
    cpu = _med(cell, "cpu_us_per_request")
    valkey = _med(cell, "valkey_us_per_request")

    def cores(key: str) -> str:
        values = [run["cpu"][key] for run in cell["runs"] if key in run["cpu"]]
        return f"{statistics.median(values):.2f}" if values else "-"

    errors = sum(run.get("errors", 0) for run in cell["runs"])
    shares = " / ".join(cores(k) for k in ("server_cores", "loadgen_cores", "helper_cores"))
    return (
        f"| {cell['title']} | {statistics.median(rps):.0f} ({min(rps):.0f}-{max(rps):.0f}) "
        f"| {cpu or 0:.0f} | {f'{valkey:.0f}' if valkey is not None else '-'} "
        f"| {shares} / {cores('other_cores')} | {_split(cell)} | {errors} |"
    )


def _split(cell: dict[str, Any]) -> str:
    """Each busy process's cores in the median run (by rps): are both workers at work?"""
    runs = sorted(cell["runs"], key=lambda run: run["rps"])
    split = runs[len(runs) // 2].get("process_cores")
    return " + ".join(f"{c:.2f}" for c in split) if split else "-"


def quota_section(results: dict[str, Any]) -> list[str]:
    record = results.get("quota")
    if not record:
        return []
    out = [
        "",
        "## Quota under load (2 processes on one Redis)",
        "",
    ]
    if "na" in record:
        return [*out, f"Not measured: {record['na']}"]
    out += [
        f"Two `mockserver serve --state redis://...` processes on two ports share one "
        f"valkey-server; `enforce_quota = true`, `requests_per_minute = "
        f"{record['requests_per_minute']}`, `quota_request_window_seconds = "
        f"{record['window_seconds']:g}` (so {record['allowance']} requests per sliding window), "
        f"tokens far above use. {record['clients']} asyncio clients (aiohttp), half on each "
        f"process, send W1 one after another for {record['seconds']:g} s. A sliding window "
        "admits its allowance in a burst once the oldest admitted request is a window old, so "
        "window k is the first 200's time + k windows, give or take half a window; exact = "
        "every window the run covered admits exactly the allowance. `*`: the run ended "
        "within that window (not judged).",
        "",
        "| window | 200s | allowance |",
        "|---|---|---|",
    ]
    for window in record["windows"]:
        mark = "" if window["judged"] else " *"
        out.append(f"| {window['window']}{mark} | {window['accepted']} | {record['allowance']} |")
    out += [
        "",
        f"- Answers: {_counts(record['outcomes'])}; 200s by process: "
        f"{' + '.join(map(str, record['by_server']))}; {record['requests_per_second']:.0f} "
        f"answers/s in all; the first 200 at {record['first_accepted_s']:.2f} s.",
        f"- Each window's 200s arrived within {record['burst_spread_s']:.2f} s of its start "
        f"(the first 200 + k windows); at most {record['most_in_span']} 200s arrived within "
        f"any {0.8 * record['window_seconds']:g} s, by the client's clock (no alignment needed).",
        f"- Redis's own count afterwards (`GET /__admin/quota`, requests in the last minute): "
        f"{_redis_count(record)}.",
        f"- CPU: servers {', '.join(f'{c:.2f}' for c in record['server_cores'])} cores, "
        f"valkey-server {record.get('valkey_cores') or 0:.2f}.",
    ]
    return out


def _counts(outcomes: dict[str, int]) -> str:
    return ", ".join(f"{count} x {status}" for status, count in sorted(outcomes.items()))


def _redis_count(record: dict[str, Any]) -> str:
    try:
        deployments = json.loads(record["admin_quota"])["deployments"]
        return ", ".join(f"{name}: {d['requests_last_minute']}" for name, d in deployments.items())
    except (ValueError, KeyError, TypeError):
        return str(record.get("admin_quota", "-"))
