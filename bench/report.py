"""bench/RESULTS.md from a results dict: the machine, the targets, one table per measure."""

from __future__ import annotations

import statistics
from typing import Any

from bench import report_shared

OURS = "mockserver"
CEILING = "ceiling"
LEADER = "aimock"
COLUMNS = [
    ("W1", "W1 chat, 50-token prompt, repeated"),
    ("W1d", "W1 distinct small prompts"),
    ("R", "R replay of 1 recorded interaction"),
    ("W2d", "W2 20k-token prompt, distinct"),
    ("W2r", "W2 20k-token prompt, repeated"),
    ("W3", "W3 stream, 200 tokens"),
]


def _med(cell: dict[str, Any], key: str) -> float | None:
    runs = cell.get("runs") or []
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else None


def _spread(cell: dict[str, Any], key: str, fmt: str = "{:.0f}") -> str:
    values = [run[key] for run in cell.get("runs") or [] if run.get(key) is not None]
    if not values:
        return "-"
    median = fmt.format(statistics.median(values))
    return f"{median} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def _errors(cell: dict[str, Any]) -> int:
    return sum(run.get("errors", 0) for run in cell.get("runs") or [])


class _Notes:
    def __init__(self) -> None:
        self.items: list[str] = []

    def mark(self, text: str) -> str:
        if text not in self.items:
            self.items.append(text)
        return f"n/a [{self.items.index(text) + 1}]"


Row = tuple[str, str, bool | None]


def rps_of(results: dict[str, Any], server: str, workload: str) -> float | None:
    cells = results.get("servers", {}).get(server, {}).get("cells", {})
    return _med(cells.get(workload, {}), "rps")


def cpu_of(results: dict[str, Any], server: str, workload: str) -> float | None:
    cells = results.get("servers", {}).get(server, {}).get("cells", {})
    return _med(cells.get(workload, {}), "cpu_us_per_request")


def _by_cpu(results: dict[str, Any], workload: str, other: str, fmt: str) -> str:
    """The same ratio from CPU per request (the other's CPU over ours): what the req/s
    ratio would be if both had the same share of the processor."""
    ours, theirs = cpu_of(results, OURS, workload), cpu_of(results, other, workload)
    return f"; by CPU per request {fmt.format(theirs / ours)}" if ours and theirs else ""


def _share(name: str, results: dict[str, Any], workload: str, goal: float) -> Row:
    ours, ceiling = rps_of(results, OURS, workload), rps_of(results, CEILING, workload)
    if not (ours and ceiling):
        return (name, "not measured", None)
    share = ours / ceiling
    text = f"{ours:.0f} / {ceiling:.0f} req/s = {share:.0%}"
    return (name, text + _by_cpu(results, workload, CEILING, "{:.0%}"), share >= goal)


def _versus_leader(name: str, results: dict[str, Any], workload: str, goal: float) -> Row:
    ours, leader = rps_of(results, OURS, workload), rps_of(results, LEADER, workload)
    if not (ours and leader):
        return (name, "not measured", None)
    ratio = ours / leader
    text = f"{ours:.0f} / {leader:.0f} req/s = {ratio:.2f}x"
    return (name, text + _by_cpu(results, workload, LEADER, "{:.2f}x"), ratio >= goal)


def _w2_added(results: dict[str, Any]) -> Row:
    """The server's extra time per request for a 20,000-token prompt, from throughput
    (1/rps is its time per request at full load), against tiktoken's own encode time."""
    name = "W2 distinct adds <= 1.3x tiktoken's encode"
    w1d, w2d = rps_of(results, OURS, "W1d"), rps_of(results, OURS, "W2d")
    encode = results.get("encode", {}).get("median_ms")
    if not (w1d and w2d and encode):
        return (name, "not measured", None)
    added = 1000 / w2d - 1000 / w1d
    text = f"{added:.2f} ms added (1/W2d - 1/W1d) / {encode:.2f} ms encode = {added / encode:.2f}x"
    cpu_w1d, cpu_w2d = cpu_of(results, OURS, "W1d"), cpu_of(results, OURS, "W2d")
    if cpu_w1d and cpu_w2d:
        cpu_added = (cpu_w2d - cpu_w1d) / 1000
        text += f"; by CPU per request {cpu_added:.2f} ms = {cpu_added / encode:.2f}x"
    return (name, text, added / encode <= 1.3)


def _w4(results: dict[str, Any]) -> Row:
    name = "W4 1,000 streams: 0 errors, RSS < 300 MB"
    cells = results.get("servers", {}).get(OURS, {}).get("cells", {})
    runs = cells.get("W4", {}).get("runs") or []
    if not runs:
        return (name, "not measured", None)
    errors = sum(run["errors"] for run in runs)
    rss = max(run["rss_peak_mb"] for run in runs)
    text = f"{errors} errors in {len(runs)} x {runs[0]['streams']} streams, peak RSS {rss:.0f} MB"
    return (name, text, errors == 0 and rss < 300)


def targets_met(results: dict[str, Any]) -> list[Row]:
    """The issue's targets (#19), each a ratio within this run; met or not is judged on
    req/s, as the issue defines them, and the CPU reading is given beside it."""
    rows = [
        _share("W1 >= 50% of the ceiling", results, "W1", 0.5),
        _versus_leader("W1 above aimock", results, "W1", 1.0),
        _share("W1 distinct >= 35% of the ceiling", results, "W1d", 0.35),
        _share("Replay >= 70% of the ceiling", results, "R", 0.7),
        _w2_added(results),
        _versus_leader("W2 repeated >= aimock", results, "W2r", 1.0),
        _versus_leader("W3 streams >= 2x aimock", results, "W3", 2.0),
        _w4(results),
    ]
    startup = results.get("startup", {}).get("median_s")
    rows.append(
        (
            "start-up < 1 s",
            f"median {startup:.3f} s" if startup else "not measured",
            startup < 1 if startup else None,
        )
    )
    reset = results.get("reset", {})
    if reset:
        rows.append(
            (
                "reset < 2 ms",
                f"median {reset['dirty_median_ms']:.3f} ms after a test's state "
                f"({reset['clean_median_ms']:.3f} ms idle)",
                reset["dirty_median_ms"] < 2,
            )
        )
    rows += report_shared.target_rows(results)
    return rows


def markdown(results: dict[str, Any], json_name: str) -> str:
    m = results["machine"]
    s = results["settings"]
    loadgen = results.get("loadgen", {})
    tool = loadgen.get("version") or loadgen.get("tool", "?")
    if loadgen.get("why"):
        tool += f" (wrk unavailable: {loadgen['why']})"
    out = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`python -m bench`); raw numbers in "
        f"`{json_name if json_name.startswith('/') else 'bench/results/' + json_name}`. "
        "How to read this: bench/README.md.",
        "",
        f"- **Date**: {results['date']}",
        f"- **Machine**: {m['cpu_count']} CPUs, {m['cpu_model']}, {m['memory_gb']} GB; "
        f"{m['platform']}",
        f"- **Code**: {m.get('code', 'unknown')}",
        f"- **Python** {m['python']}, aiohttp {m['aiohttp']}, event loop {m['event_loop']}; "
        f"node {m['node']}; {m['java']}",
        f"- **Load**: {tool}, one thread, {s['connections']} connections, "
        f"{s['seconds_per_run']:g} s per run; loopback only; server and load generator "
        "share the machine's CPUs",
        f"- **Noise**: every cell is the median of {s['runs']} runs with (min-max)"
        + (" — QUICK MODE, for development only" if s.get("quick") else ""),
        f"- **Whole run**: {results.get('total_seconds', 0):.0f} s",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for name, measured, met in targets_met(results):
        verdict = "-" if met is None else ("yes" if met else "**no**")
        out.append(f"| {name} | {measured} | {verdict} |")
    notes = _Notes()
    servers = results.get("servers", {})
    out += [
        "",
        "## Requests per second, and the share of the ceiling",
        "",
        "Median (min-max) of the runs, then that median as a share of the aiohttp ceiling's "
        "median for the same workload in this run (R: the ceiling answers its fixed bytes). "
        "Errors are non-2xx answers and socket errors. Other load: the most CPU that "
        "processes outside the bench used during one of the server's runs (0 on an idle "
        "machine; more means noisier numbers).",
        "",
        "| server | " + " | ".join(title for _, title in COLUMNS) + " | errors | other load |",
        "|---|" + "---|" * (len(COLUMNS) + 2),
    ]
    for name, record in servers.items():
        if record.get("error"):
            out.append(
                f"| {name} | " + " | ".join([notes.mark(record["error"])] * len(COLUMNS)) + " | | |"
            )
            continue
        cells = record.get("cells", {})
        row, errors = [], 0
        for key, _ in COLUMNS:
            cell = cells.get(key, {})
            if "na" in cell:
                row.append(notes.mark(cell["na"]))
                continue
            text = _spread(cell, "rps")
            ceiling, rps = rps_of(results, CEILING, key), _med(cell, "rps")
            if name != CEILING and ceiling and rps:
                text += f" · {rps / ceiling:.0%}"
            row.append(text)
            errors += _errors(cell)
        out.append(f"| {name} | " + " | ".join(row) + f" | {errors} | {_other_load(cells)} |")
    out += [
        "",
        "## CPU per request",
        "",
        "The server's CPU time during a run divided by the requests it answered (median of "
        "the runs, microseconds), and that as a multiple of the ceiling's: the steadier "
        "measure when other processes share the machine.",
        "",
        "| server | " + " | ".join(key for key, _ in COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    for name, record in servers.items():
        if record.get("error"):
            continue
        cells = record.get("cells", {})
        row = []
        for key, _ in COLUMNS:
            cpu = _med(cells.get(key, {}), "cpu_us_per_request")
            base = _med(
                servers.get(CEILING, {}).get("cells", {}).get(key, {}), "cpu_us_per_request"
            )
            text = f"{cpu:.0f}" if cpu else "-"
            if cpu and base and name != CEILING:
                text += f" · {cpu / base:.1f}x"
            row.append(text)
        out.append(f"| {name} | " + " | ".join(row) + " |")
    out += [
        "",
        "## Latency",
        "",
        f"Mean latency per request under {s['connections']} connections (median of the runs, "
        f"ms; queueing included), and W3's time to first byte of the stream measured by the "
        f"asyncio client with {s['ttfb_connections']} connections (p50 / p99, ms).",
        "",
        "| server | W1 | W1 distinct | R | W2 distinct | W2 repeated | W3 | W3 TTFB p50 / p99 "
        "| W3 frames |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, record in servers.items():
        if record.get("error"):
            continue
        cells = record.get("cells", {})
        row = []
        for key in ("W1", "W1d", "R", "W2d", "W2r", "W3"):
            cell = cells.get(key, {})
            value = _med(cell, "mean_ms")
            row.append(f"{value:.1f}" if value is not None else "-")
        ttfb = cells.get("W3", {}).get("ttfb")
        if ttfb:
            row.append(f"{ttfb['ttfb_p50_ms']:.2f} / {ttfb['ttfb_p99_ms']:.2f}")
            frames = ttfb.get("frames_per_response")
            row.append(f"{frames:.0f}" if frames else "-")
        else:
            row += ["-", "-"]
        out.append(f"| {name} | " + " | ".join(row) + " |")
    out += [
        "",
        f"## W4: {s['w4_streams']:,} streams open at once, `x-mock-latency: {s['w4_latency']}`",
        "",
        "Per run: streams that ended with `data: [DONE]`, errors, wall time of the whole "
        "batch, and the server's peak RSS (VmRSS of its processes, sampled every 100 ms). "
        "Median (min-max) of the runs.",
        "",
        "| server | complete | errors | wall s | one stream p50 s | TTFB p50 ms | peak RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, record in servers.items():
        cell = record.get("cells", {}).get("W4")
        if cell is None:
            continue
        if "na" in cell:
            out.append(f"| {name} | {notes.mark(cell['na'])} | | | | | |")
            continue
        runs = cell["runs"]
        out.append(
            f"| {name} | {min(r['completed'] for r in runs)}/{runs[0]['streams']} "
            f"| {sum(r['errors'] for r in runs)} "
            f"| {_spread(cell, 'wall_seconds', '{:.1f}')} "
            f"| {_spread(cell, 'stream_p50_s', '{:.2f}')} "
            f"| {_spread(cell, 'ttfb_p50_ms', '{:.0f}')} "
            f"| {_spread(cell, 'rss_peak_mb', '{:.0f}')} |"
        )
    out += report_shared.sections(results)
    encode = results.get("encode", {})
    startup = results.get("startup", {})
    reset = results.get("reset", {})
    prompts = results.get("prompts", {})
    out += [
        "",
        "## In-process measures (ours)",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    if prompts:
        out.append(
            f"| prompts | W1 {prompts['small_prompt_tokens']} tokens, W2 "
            f"{prompts['large_prompt_tokens']:,} tokens, W3 reply "
            f"{prompts['stream_reply_tokens']} tokens |"
        )
    if encode:
        out.append(
            f"| tiktoken `encode_ordinary` of the W2 prompt | {encode['median_ms']:.2f} ms "
            f"({encode['min_ms']:.2f}-{encode['max_ms']:.2f}) |"
        )
    if startup:
        out.append(
            f"| start-up: spawn to 200 on /__admin/health | median "
            f"{startup['median_s']:.3f} s ({startup['min_s']:.3f}-{startup['max_s']:.3f}"
            f", {len(startup['samples_s'])} starts) |"
        )
        if startup.get("first_chat_median_s"):
            chats = startup["first_chat_samples_s"]
            out.append(
                "| start-up: spawn to the first chat answer (the tokenizer is loaded) | median "
                f"{startup['first_chat_median_s']:.3f} s ({min(chats):.3f}-{max(chats):.3f}) |"
            )
    if reset:
        out.append(
            f"| `MockServer.reset()` idle | median {reset['clean_median_ms']:.4f} ms "
            f"(max {reset['clean_max_ms']:.3f}, {reset['clean_runs']} calls) |"
        )
        out.append(
            f"| `MockServer.reset()` after 5 stubs + 1 request | median "
            f"{reset['dirty_median_ms']:.4f} ms (max {reset['dirty_max_ms']:.3f}, "
            f"{reset['dirty_runs']} calls) |"
        )
        out.append(
            f"| rest of the `azure_mock` fixture (take_failures, configure) | median "
            f"{reset['fixture_rest_median_ms']:.4f} ms |"
        )
    out += ["", "## Servers", "", "| server | version | what | ready in |", "|---|---|---|---|"]
    for name, record in servers.items():
        ready = record.get("ready_seconds")
        out.append(
            f"| {name} | {record.get('version') or '-'} | {record['description']} | "
            f"{f'{ready:.2f} s' if ready is not None else '-'} |"
        )
    for name, why in results.get("unavailable", {}).items():
        out.append(f"| {name} | - | unavailable: {_one_line(why)} | - |")
    if notes.items:
        out += ["", "## Notes", ""]
        out += [f"{n}. {_one_line(text)}" for n, text in enumerate(notes.items, 1)]
    return "\n".join(out) + "\n"


def _other_load(cells: dict[str, Any]) -> str:
    """The most CPU that other processes on the machine used during this server's runs."""
    values = [
        run["cpu"]["other_cores"]
        for cell in cells.values()
        for run in cell.get("runs") or []
        if "cpu" in run
    ]
    return f"{max(values):.2f} cores" if values else "-"


def _one_line(text: str) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= 400 else flat[:400] + "..."
