"""`python -m bench.stages`: where one W1 request's CPU goes, stage by stage -> bench/PROFILE.md.

The server runs in this process exactly as `mockserver serve` builds it (`create_app`,
`runner_for`, the frozen heap), and wrk drives it from another process over loopback.
Nothing in the package is changed: before the app is made, this script wraps the
functions of each stage (the middlewares, the handler's parts, the pipeline's steps, the
engines, the renderer, the journal, the writer) with timers. A timer charges the main
thread's CPU time (`time.thread_time`, so waiting on a socket counts for nothing) to the
innermost stage running, so the stages add up to what the hooks saw; what is left of the
thread's CPU per request is aiohttp and the event loop (HTTP parsing, dispatch, the
transport).

Windows, each `--seconds` long (5 by default):
  1. W1, one connection, no hooks: the thread's CPU per request (the reference);
  2. W1, one connection, hooks on: the stage table (the hooks' own cost is 2 - 1);
  3. W1 distinct, one connection, hooks on: the same with a new prompt every request;
  4. W2 repeated (the 20,000-token prompt), one connection, hooks on;
  5. W3, a 200-token stream (a stub, as the bench adds it), one connection, hooks on;
  6. R, the W1 request replayed from one recorded interaction (a second server with
     `fixtures_dir`, `record_mode = "none"`, `allow_repeats`), one connection, hooks on;
  7. W1, 64 connections, no hooks: CPU per request under the bench's load;
  8. W1, 64 connections, under cProfile (hooks off): the functions, for the proposals.

Everything from the heading "## Ranked avoidable costs" on in bench/PROFILE.md is kept
when the file is rewritten: the proposals are written by hand from these numbers.

    .venv/bin/python -m bench.stages             # writes bench/PROFILE.md
    .venv/bin/python -m bench.stages --no-write  # prints it
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import gc
import importlib
import inspect
import io
import json
import pstats
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import load
from bench import workloads as wl
from bench.procs import free_port
from bench.targets import BENCH, DATED_PATH, HEADERS

# ("module:attribute or module:Class.method", stage, group). Each is patched where it is
# looked up at run time: a name imported into `pipeline` is patched in `pipeline`. "a|b":
# each place of the list that exists (the package is being reshaped; functions move).
HOOKS = [
    # The five middlewares folded into one (http/middlewares.every_request, hooked where
    # create_app looks it up: hooking it in both modules would time it twice); its steps,
    # by the names every_request looks up in http/middlewares.
    ("mockserver.http.app:every_request", "middlewares (folded: their glue)", "middlewares"),
    ("mockserver.http.middlewares:counted", "metrics (counted)", "middlewares"),
    # The lane (http/lane), which answers W1, W1 distinct, W2, W3 and R: its steps, by
    # the names lane/answer.py and lane/connection.py look up.
    ("mockserver.http.lane.connection:LaneConnection.data_received", "lane: bytes in", "lane"),
    ("mockserver.http.lane.connection:Lane.read_head", "lane: head parse (kept heads)", "lane"),
    ("mockserver.http.lane.connection:answer", "lane: the steps' glue", "lane"),
    ("mockserver.http.lane.connection:LaneConnection.write", "lane: socket write", "lane"),
    ("mockserver.http.lane.answer:observe", "metrics (observe)", "middlewares"),
    ("mockserver.http.lane.answer:ready_bytes", "lane: head and body bytes", "headers"),
    ("mockserver.http.lane.outcome:head_bytes", "lane: a stream's head", "headers"),
    ("mockserver.http.lane.answer:carry_out", "lane writer: the outcome", "writer"),
    ("mockserver.http.middlewares:in_envelope", "envelope (request id, errors)", "middlewares"),
    ("mockserver.http.middlewares:journaled", "journal step (its own code)", "journal"),
    (
        "mockserver.http.middlewares:check_gateway|mockserver.http.lane.answer:check_gateway",
        "gateway: api-version, key",
        "middlewares",
    ),
    ("mockserver.http.middlewares:body_in_time", "body deadline", "middlewares"),
    ("mockserver.http.middlewares:gateway_headers", "gateway headers (on prepare)", "headers"),
    (
        "mockserver.http.journal:record|mockserver.http.lane.answer:record",
        "journal entry: scrub, mask, build",
        "journal",
    ),
    ("mockserver.stores.memory.journal:MemoryJournal.record", "journal store", "journal"),
    ("mockserver.http.handler:_call", "handler: the Call from HTTP", "middlewares"),
    ("mockserver.pipeline:run", "pipeline glue (Asked, Trace, Outcome)", "plan"),
    ("mockserver.faults.plan:from_headers", "x-mock-fault headers", "plan"),
    ("mockserver.faults.plan:rolled", "fault rates", "plan"),
    ("mockserver.pipeline:_asked_latency", "x-mock-latency header", "plan"),
    ("mockserver.pipeline:reply_seconds", "reply latency", "plan"),
    ("mockserver.pipeline:route", "route: deployment, model gate", "plan"),
    (
        "mockserver.pipeline:decode_body|mockserver.contract.deployments:decode_body",
        "JSON body",
        "parse",
    ),
    ("mockserver.pipeline:check_chat_request", "schema + o3-mini rules", "validate"),
    (
        "mockserver.pipeline:content_facts|mockserver.engines.digest:ContentFacts.of",
        "content memo lookup + digest",
        "count",
    ),
    (
        "mockserver.pipeline:content_payload|mockserver.engines.digest:content_payload",
        "content payload",
        "count",
    ),
    ("mockserver.tokens.counting:prompt_tokens", "prompt tokens (tiktoken)", "count"),
    ("mockserver.pipeline:check_token_limits", "token limits", "count"),
    ("mockserver.stores.memory.quota:MemoryQuotaLedger.admit", "quota admit", "count"),
    ("mockserver.engines.chain:EngineChain.answer", "engine chain", "engines"),
    ("mockserver.engines.rules:StubRules.answer", "stub rules (no stub)", "engines"),
    ("mockserver.engines.replay:Replay.answer", "replay (no fixtures)", "engines"),
    ("mockserver.engines.record:Record.answer", "record (off)", "engines"),
    ("mockserver.engines.generator:Generator.make", "generator: the completion", "engines"),
    ("mockserver.serialize.ids:IdSource.chat_completion", "id and created", "render"),
    ("mockserver.operations.chat:ChatCompletions.render", "render glue", "render"),
    ("mockserver.operations.chat:chat_completion_body", "chat.completion JSON", "render"),
    ("mockserver.pipeline:model_headers", "model headers", "headers"),
    ("mockserver.stores.memory.quota:MemoryQuotaLedger.snapshot", "quota snapshot", "headers"),
    ("mockserver.http.writer:write", "writer + aiohttp Response", "writer"),
    ("mockserver.http.writer:write_stream", "stream writer: frames to aiohttp", "writer"),
    ("mockserver.serialize.sse:ChunkStream._model_frame", "SSE chunk JSON", "render"),
    ("mockserver.serialize.sse:ChunkStream._pad", "SSE obfuscation pad", "render"),
    ("mockserver.serialize.pads:SeededPads._draw", "SSE pad, seeded (per frame)", "render"),
    ("mockserver.serialize.pads:PooledPads.take", "SSE pads, random (from the pool)", "render"),
    ("mockserver.serialize.sse:FrameRun.wrapped", "SSE frames as HTTP chunks (a block)", "render"),
    ("mockserver.serialize.sse:token_pieces", "SSE token pieces", "render"),
    ("mockserver.faults.latency:pacer_for", "stream pacer", "plan"),
    # aiohttp's own steps (per request; never the connection's long-lived `start`)
    (
        "mockserver.http.connection:Connection.data_received",
        "Connection: header deadline",
        "aiohttp",
    ),
    ("aiohttp.web_protocol:RequestHandler.data_received", "aiohttp: HTTP parse", "aiohttp"),
    ("aiohttp.web_protocol:RequestHandler._handle_request", "aiohttp: request glue", "aiohttp"),
    ("aiohttp.web_app:Application._handle", "aiohttp: route + middleware chain", "aiohttp"),
    ("aiohttp.web_response:StreamResponse.prepare", "aiohttp: prepare, headers out", "aiohttp"),
    ("aiohttp.web_protocol:RequestHandler.finish_response", "aiohttp: finish_response", "aiohttp"),
]
PROPOSALS = "## Ranked avoidable costs"  # from here on PROFILE.md is written by hand
AIOHTTP = "event loop, transport, the rest (no hook)"
GROUP_ORDER = [
    "parse",
    "validate",
    "count",
    "plan",
    "engines",
    "render",
    "journal",
    "headers",
    "middlewares",
    "writer",
    "lane",
    "aiohttp",
]


@dataclass
class Clock:
    """CPU time charged to the innermost running stage (one request in flight)."""

    on: bool = False
    stack: list[str] = field(default_factory=list)
    mark: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)

    def enter(self, stage: str) -> None:
        now = time.thread_time()
        if self.stack:
            top = self.stack[-1]
            self.seconds[top] = self.seconds.get(top, 0.0) + now - self.mark
        self.stack.append(stage)
        self.calls[stage] += 1
        self.mark = now

    def leave(self) -> None:
        now = time.thread_time()
        top = self.stack.pop()
        self.seconds[top] = self.seconds.get(top, 0.0) + now - self.mark
        self.mark = now

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


CLOCK = Clock()


def timed(fn: Callable[..., Any], stage: str) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            if not CLOCK.on:
                return await fn(*args, **kwargs)
            CLOCK.enter(stage)
            try:
                return await fn(*args, **kwargs)
            finally:
                CLOCK.leave()

        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not CLOCK.on:
            return fn(*args, **kwargs)
        CLOCK.enter(stage)
        try:
            return fn(*args, **kwargs)
        finally:
            CLOCK.leave()

    return wrapper


def install_hooks() -> list[str]:
    """Wrap every hook that exists on this code path; the ones not found, by name."""
    missing = []
    for places, stage, _ in HOOKS:
        found = [wrap(place, stage) for place in places.split("|")]
        if not any(found):
            missing.append(places)
    return missing


def wrap(place: str, stage: str) -> bool:
    module_name, attribute = place.split(":")
    owner: Any = importlib.import_module(module_name)
    *path, name = attribute.split(".")
    for part in path:
        owner = getattr(owner, part, None)
    original = getattr(owner, name, None) if owner is not None else None
    if original is None:
        return False
    setattr(owner, name, timed(original, stage))
    return True


# --- the server and the load --------------------------------------------------------------


async def start_server(port: int, **overrides: Any) -> Any:
    """As `mockserver serve` builds it (cli.main.serve), on this process's loop."""
    from aiohttp import web

    from mockserver.config import load_settings
    from mockserver.http.app import create_app, warmed
    from mockserver.http.connection import runner_for

    flat = {"host": "127.0.0.1", "port": port, **overrides}
    settings = load_settings(None, overrides=flat)
    runner = runner_for(create_app(settings), settings)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await warmed(runner.app)
    gc.freeze()
    return runner


async def stream_request(url: str) -> load.Request:
    """W3 as the bench sends it: a stub answers streams with the 200-token reply."""
    import aiohttp

    answer = {"content": wl.texts().stream_reply}
    stub = {"id": "bench-stream", "match": {"stream": True}, "answer": answer}
    admin = url.split("/openai/")[0] + "/__admin/stubs"
    async with aiohttp.ClientSession() as session, session.post(admin, json=stub) as response:
        if response.status not in (200, 201):
            raise RuntimeError(f"adding the stream stub failed: {response.status}")
    return load.Request(url, HEADERS, body=wl.stream_body(), stream=True)


async def replay_server(url: str, work: Path) -> tuple[Any, str]:
    """A second server replaying one recorded interaction: the first server's W1 answer."""
    import aiohttp

    from bench.targets import write_replay_fixtures

    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=wl.small_body().encode(), headers=HEADERS) as response,
    ):
        body = await response.text()
        skip = ("content-length", "date")
        kept = {k: v for k, v in response.headers.items() if k.lower() not in skip}
    fixtures = work / "replay-fixtures"
    write_replay_fixtures(fixtures, {"status": 200, "headers": kept, "body": body})
    port = free_port()
    runner = await start_server(
        port, fixtures_dir=str(fixtures), record_mode="none", allow_repeats=True
    )
    return runner, f"http://127.0.0.1:{port}{DATED_PATH}"


async def drive(request: load.Request, connections: int, seconds: float, work: Path) -> int:
    """wrk against the server for `seconds`; the requests it completed."""
    script = work / "stages.lua"
    script.write_text(load.wrk_script(request))
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{round(seconds)}s",
        "-s",
        str(script),
        request.url,
    ]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), seconds + 60)
    for line in out.decode().splitlines():
        if line.startswith("BENCHJSON "):
            stats = json.loads(line.removeprefix("BENCHJSON "))
            errors = stats["connect"] + stats["read"] + stats["write"] + stats["status"]
            if errors:
                raise RuntimeError(f"wrk saw {errors:.0f} errors: {stats}")
            return int(stats["requests"])
    raise RuntimeError(f"wrk gave no summary: {err.decode()[-300:]}")


@dataclass
class Window:
    name: str
    connections: int
    requests: int
    cpu_us: float  # main thread CPU per request
    stages: dict[str, float] = field(default_factory=dict)  # stage -> CPU us per request
    calls: dict[str, float] = field(default_factory=dict)  # stage -> calls per request


async def window(
    name: str,
    request: load.Request,
    connections: int,
    seconds: float,
    work: Path,
    hooks: bool = False,
    profiler: cProfile.Profile | None = None,
) -> Window:
    CLOCK.reset()
    CLOCK.on = hooks
    if profiler is not None:
        profiler.enable()
    started = time.thread_time()
    requests = await drive(request, connections, seconds, work)
    cpu = time.thread_time() - started
    if profiler is not None:
        profiler.disable()
    CLOCK.on = False
    result = Window(name, connections, requests, cpu / requests * 1e6)
    if hooks:
        result.stages = {k: v / requests * 1e6 for k, v in CLOCK.seconds.items()}
        result.calls = {k: v / requests for k, v in CLOCK.calls.items()}
        result.stages[AIOHTTP] = result.cpu_us - sum(result.stages.values())
    return result


async def measure(seconds: float, work: Path) -> tuple[list[Window], str, list[str]]:
    missing = install_hooks()
    port = free_port()
    runner = await start_server(port)
    url = f"http://127.0.0.1:{port}{DATED_PATH}"
    w1 = load.Request(url, HEADERS, body=wl.small_body())
    w1d = load.Request(url, HEADERS, parts=wl.distinct_small_parts())
    w2r = load.Request(url, HEADERS, body=wl.repeated_large_body())
    profiler = cProfile.Profile()
    replay = None
    try:
        await drive(w1, 8, 2, work)  # warm: first requests build caches
        windows = [
            await window("W1, 1 connection", w1, 1, seconds, work),
            await window("W1, 1 connection, hooks", w1, 1, seconds, work, hooks=True),
            await window("W1 distinct, 1 connection, hooks", w1d, 1, seconds, work, hooks=True),
            await window("W2 repeated, 1 connection, hooks", w2r, 1, seconds, work, hooks=True),
        ]
        w3 = await stream_request(url)
        windows.append(await window("W3, 1 connection, hooks", w3, 1, seconds, work, hooks=True))
        replay, replay_url = await replay_server(url, work)
        r = load.Request(replay_url, HEADERS, body=wl.small_body())
        await drive(r, 8, 1, work)
        windows += [
            await window("R replay, 1 connection, hooks", r, 1, seconds, work, hooks=True),
            await window("W1, 64 connections", w1, 64, seconds, work),
            await window("W1, 64 connections, cProfile", w1, 64, seconds, work, profiler=profiler),
        ]
    finally:
        await runner.cleanup()
        if replay is not None:
            await replay.cleanup()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(45)
    stats.print_callers(r"method 'search' of 're.Pattern'|findall|orjson|Random.seed", 12)
    stats.sort_stats("cumulative").print_stats(r"mockserver|aiohttp/web", 45)
    return windows, text.getvalue(), missing


# --- the report ---------------------------------------------------------------------------


def hook_cost_us(calls: int = 200_000) -> float:
    """What one timed call adds: a wrapped no-op against the bare one, the clock on."""

    def noop() -> None:
        return None

    wrapped = timed(noop, "hook cost")
    started = time.thread_time()
    for _ in range(calls):
        noop()
    bare = time.thread_time() - started
    CLOCK.on = True
    started = time.thread_time()
    for _ in range(calls):
        wrapped()
    hooked = time.thread_time() - started
    CLOCK.on = False
    CLOCK.reset()
    return (hooked - bare) / calls * 1e6


def group_of(stage: str) -> str:
    if stage == AIOHTTP:
        return "aiohttp"
    return next(group for _, name, group in HOOKS if name == stage)


def markdown(windows: list[Window], profile: str, missing: list[str], seconds: float) -> str:
    plain, hooked, distinct, large, streamed, replayed, _, profiled = windows
    columns = [hooked, distinct, large, streamed, replayed]
    from bench.run import machine

    m = machine()
    out = [
        "# Profile of one W1 request, by stage (the one request path of #17)",
        "",
        "Written by `python -m bench.stages` (bench/stages.py): the server in-process as "
        "`mockserver serve` builds it, wrk over loopback, timers wrapped around each stage's "
        "functions by the script (nothing added to the package). CPU is the event-loop "
        "thread's own (`time.thread_time`), per request.",
        "",
        f"- **Date**: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"- **Machine**: {m['cpu_count']} CPUs, {m['cpu_model']}; Python {m['python']}, "
        f"aiohttp {m['aiohttp']}, event loop {m['event_loop']}",
        f"- **Code**: {m['code']}",
        f"- **Windows**: {seconds:g} s each, wrk one thread; other processes on the machine "
        "add noise to every number, but CPU per request is far less sensitive to them than "
        "requests per second",
        "",
        "| window | requests | CPU per request |",
        "|---|---|---|",
    ]
    for w in windows:
        out.append(f"| {w.name} | {w.requests:,} | {w.cpu_us:.0f} us |")
    per_call = hook_cost_us()
    hook_calls = sum(hooked.calls.values())
    out += [
        "",
        f"The hooks cost {per_call:.2f} us a call (timed on a wrapped no-op), "
        f"{hook_calls:.0f} calls a W1 request: about {per_call * hook_calls:.0f} us per request, "
        "charged to the stages that made the calls (with one connection the no-hook and "
        "hook windows also differ by the machine's noise: "
        f"{hooked.cpu_us - plain.cpu_us:+.0f} us here).",
        "",
        "## By stage (the issue's list), CPU us per request",
        "",
        "| stage | W1 repeated | share | W1 distinct | share | W2 repeated | share "
        "| W3 stream | share | R replay | share |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups = [_by_group(w) for w in columns]
    for group in GROUP_ORDER:
        cells = [
            f"{g.get(group, 0.0):.0f} | {g.get(group, 0.0) / w.cpu_us:.0%}"
            for g, w in zip(groups, columns, strict=True)
        ]
        out.append(f"| {group} | " + " | ".join(cells) + " |")
    out.append("| **all** | " + " | ".join(f"{w.cpu_us:.0f} | 100%" for w in columns) + " |")
    out += [
        "",
        "## Each hooked function (exclusive: what it ran itself, not the hooked stages it "
        "called), CPU us per request",
        "",
        "| group | stage | calls/request (W1, W3) | W1 repeated | W1 distinct | W2 repeated "
        "| W3 stream | R replay |",
        "|---|---|---|---|---|---|---|---|",
    ]
    names = {stage for w in columns for stage in w.stages}
    for stage in sorted(names, key=lambda s: -max(w.stages.get(s, 0.0) for w in columns)):
        calls = f"{hooked.calls.get(stage, 0.0):.2f}, {streamed.calls.get(stage, 0.0):.0f}"
        values = " | ".join(f"{w.stages.get(stage, 0.0):.1f}" for w in columns)
        out.append(
            f"| {group_of(stage)} | {stage} | {calls if stage != AIOHTTP else '-'} | {values} |"
        )
    if missing:
        out += ["", "Hooks not found on this code path: " + ", ".join(missing)]
    out += [
        "",
        f"## cProfile of W1 under 64 connections ({profiled.requests:,} requests; cProfile "
        "slows Python code several times, so read the shares, not the times; the hooks are "
        "installed but off, one extra call each)",
        "",
        "```",
        profile.strip(),
        "```",
        "",
    ]
    return "\n".join(out) + "\n"


def _by_group(w: Window) -> dict[str, float]:
    groups: dict[str, float] = {}
    for stage, us in w.stages.items():
        groups[group_of(stage)] = groups.get(group_of(stage), 0.0) + us
    return groups


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stages", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per window")
    parser.add_argument("--no-write", action="store_true", help="print, write nothing")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench.stages needs wrk (apt-get install wrk; `python -m bench` installs it)")
        return 2
    work = Path(tempfile.mkdtemp(prefix="mockserver-stages-"))
    windows, profile, missing = asyncio.run(measure(args.seconds, work))
    text = markdown(windows, profile, missing, args.seconds)
    if args.no_write:
        print(text)
    else:
        out = BENCH / "PROFILE.md"
        kept = out.read_text() if out.exists() else ""
        if PROPOSALS in kept:
            text += "\n" + kept[kept.index(PROPOSALS) :]
        out.write_text(text)
        raw = {w.name: vars(w) for w in windows}
        (work / "stages.json").write_text(json.dumps(raw, indent=2))
        print(f"wrote bench/PROFILE.md (raw: {work / 'stages.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
