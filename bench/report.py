"""bench/RESULTS.md from a results dict: the machine, the targets, one table per measure."""

from __future__ import annotations

import statistics
from typing import Any

OURS = "mockserver"
COLUMNS = [
    ("W1", "W1 chat, 50-token prompt"),
    ("W2d", "W2 20k-token prompt, distinct"),
    ("W2r", "W2 20k-token prompt, repeated"),
    ("W3", "W3 stream, 200 tokens"),
    ("W5", "W5 replay of 10,000"),
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


def targets_met(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    servers = results.get("servers", {})
    ours = servers.get(OURS, {}).get("cells", {})
    rows: list[tuple[str, str, bool | None]] = []
    w1 = _med(ours.get("W1", {}), "rps")
    ceiling = _med(servers.get("ceiling", {}).get("cells", {}).get("W1", {}), "rps")
    if w1 and ceiling:
        share = w1 / ceiling
        rows.append(
            (
                "W1 >= 50% of the aiohttp ceiling",
                f"{w1:.0f} / {ceiling:.0f} req/s = {share:.0%}",
                share >= 0.5,
            )
        )
    else:
        rows.append(("W1 >= 50% of the aiohttp ceiling", "not measured", None))
    peers = {
        name: _med(record.get("cells", {}).get("W1", {}), "rps")
        for name, record in servers.items()
        if name not in (OURS, "ceiling")
    }
    peers = {name: rps for name, rps in peers.items() if rps}
    if w1 and peers:
        best = max(peers, key=lambda name: peers[name])
        rows.append(
            (
                "W1 above every peer",
                f"best peer {best}: {peers[best]:.0f} req/s vs ours {w1:.0f}",
                all(w1 > rps for rps in peers.values()),
            )
        )
    else:
        rows.append(("W1 above every peer", "no peer measured", None))
    w2d = _med(ours.get("W2d", {}), "rps")
    encode = results.get("encode", {}).get("median_ms")
    if w1 and w2d and encode:
        added = 1000 / w2d - 1000 / w1
        rows.append(
            (
                "W2 added time <= 1.3x tiktoken encode",
                f"{added:.2f} ms added per request / {encode:.2f} ms encode = "
                f"{added / encode:.2f}x",
                added / encode <= 1.3,
            )
        )
    else:
        rows.append(("W2 added time <= 1.3x tiktoken encode", "not measured", None))
    lat1, lat2r = _med(ours.get("W1", {}), "mean_ms"), _med(ours.get("W2r", {}), "mean_ms")
    if lat1 and lat2r:
        rows.append(
            (
                "W2 repeated prompt within 1.5x W1 latency",
                f"{lat2r:.1f} ms vs {lat1:.1f} ms = {lat2r / lat1:.2f}x",
                lat2r / lat1 <= 1.5,
            )
        )
    else:
        rows.append(("W2 repeated prompt within 1.5x W1 latency", "not measured", None))
    w4 = ours.get("W4", {}).get("runs") or []
    if w4:
        errors = sum(run["errors"] for run in w4)
        rss = max(run["rss_peak_mb"] for run in w4)
        rows.append(
            (
                "W4 zero errors and RSS < 300 MB",
                f"{errors} errors in {len(w4)} x {w4[0]['streams']} streams, peak RSS {rss:.0f} MB",
                errors == 0 and rss < 300,
            )
        )
    else:
        rows.append(("W4 zero errors and RSS < 300 MB", "not measured", None))
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
        f"`bench/results/{json_name}`. How to read this: bench/README.md.",
        "",
        f"- **Date**: {results['date']}",
        f"- **Machine**: {m['cpu_count']} CPUs, {m['cpu_model']}, {m['memory_gb']} GB; "
        f"{m['platform']}",
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
    ours = servers.get(OURS, {}).get("cells", {})
    out += [
        "",
        "## Requests per second",
        "",
        "Median (min-max) of the runs; `x` is that server's median divided by ours "
        "(above 1: faster than ours). Errors are non-2xx answers and socket errors. "
        "Other load: the most CPU that processes outside the bench used during one of the "
        "server's runs (0 on an idle machine; more means noisier numbers).",
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
            ours_rps, rps = _med(ours.get(key, {}), "rps"), _med(cell, "rps")
            if name != OURS and ours_rps and rps:
                text += f" · {rps / ours_rps:.2f}x"
            row.append(text)
            errors += _errors(cell)
        out.append(f"| {name} | " + " | ".join(row) + f" | {errors} | {_other_load(cells)} |")
    out += [
        "",
        "## Latency",
        "",
        f"Mean latency per request under {s['connections']} connections (median of the runs, "
        f"ms; queueing included), and W3's time to first byte of the stream measured by the "
        f"asyncio client with {s['ttfb_connections']} connections (p50 / p99, ms).",
        "",
        "| server | W1 | W2 distinct | W2 repeated | W3 | W3 TTFB p50 / p99 | W3 frames |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, record in servers.items():
        if record.get("error"):
            continue
        cells = record.get("cells", {})
        row = []
        for key in ("W1", "W2d", "W2r", "W3"):
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
