"""The servers of a run: ours, the aiohttp ceiling, aimock (the leading peer) and, with
--all-peers, WireMock, Prism and Python LLM mocks.

Each is installed if needed (npm under bench/.node/<group>, each Python peer in its own venv
under bench/.peers; never into the project's venv, nothing global), started on its own free
loopback port, and probed for what it can answer. A step that fails makes that server
"unavailable" with the error; the run goes on. Every install and start has a timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import workloads as wl
from bench.procs import Proc, StartError, free_port, http, read_line_matching, spawn, wait_http

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
NODE_DIR = BENCH / ".node"
PEERS_DIR = BENCH / ".peers"
AZURE_DOC = "2025-04-01-preview.inference.json"
DATED_PATH = f"/openai/deployments/{wl.DEPLOYMENT}/chat/completions?api-version={wl.API_VERSION}"
V1_PATH = "/v1/chat/completions"
HEADERS = {
    "content-type": "application/json",
    "api-key": "bench-key",
    "authorization": "Bearer bench-key",
}
AIMOCK_PACKAGES = {"@copilotkit/aimock": "1.43.0"}
NPM_PACKAGES = {"wiremock": "3.13.2", "@stoplight/prism-cli": "5.16.0"}
INSTALL_TIMEOUT = 600
OURS = "mockserver"
START_TIMEOUT = 60


FixtureList = Callable[[], list[dict[str, Any]]]  # aimock's fixtures, made when it starts


class UnavailableError(RuntimeError):
    """This server cannot take part; the message says why."""


@dataclass
class Target:
    name: str
    description: str
    chat_path: str
    start: Callable[[Path], Proc]  # log dir -> a started, ready process
    version: str = ""
    na: dict[str, str] = field(default_factory=dict)  # workload -> why it cannot answer it
    prepare: Callable[[Proc, str], None] | None = None  # before a workload on a process
    start_w4: Callable[[Path], Proc] | None = None  # another instance for W4, if needed
    start_replay: Callable[[Path], Proc] | None = None  # an instance replaying one recording
    extra_headers: dict[str, dict[str, str]] = field(default_factory=dict)  # per workload
    replay_note: str = ""  # what its replay cell serves


def _post_ok(proc: Proc, path: str, body: str) -> bool:
    status, _, _ = http("POST", proc.base + path, body.encode(), HEADERS, timeout=5)
    return status == 200


def _ready_by_chat(proc: Proc, path: str, timeout: float = START_TIMEOUT) -> Proc:
    started = time.monotonic()
    wait_http(proc, lambda: _post_ok(proc, path, wl.small_body()), timeout, interval=0.2)
    proc.ready_seconds = time.monotonic() - started
    return proc


# --- ours ---------------------------------------------------------------------------------


def mockserver_bin() -> Path:
    return Path(sys.executable).parent / "mockserver"


def start_mockserver(log_dir: Path, *args: str, name: str = "mockserver") -> Proc:
    started = time.monotonic()
    proc = spawn(
        name, [str(mockserver_bin()), "serve", "--port", "0", *args], log_dir, pipe_stdout=True
    )
    match = read_line_matching(proc, r"listening on http://127\.0\.0\.1:(\d+)", START_TIMEOUT)
    proc.port = int(match.group(1))
    wait_http(proc, lambda: http("GET", proc.base + "/__admin/health")[0] == 200, START_TIMEOUT)
    proc.ready_seconds = time.monotonic() - started
    return proc


def prepare_mockserver(proc: Proc, workload: str) -> None:
    """W3/W4 stream a fixed ~200-token reply: a stub added through the admin API."""
    if workload in ("W3", "W4") and not proc.extra.get("stream_stub"):
        stub = {
            "id": "bench-stream",
            "match": {"stream": True},
            "answer": {"content": wl.texts().stream_reply},
        }
        status, _, body = http(
            "POST",
            proc.base + "/__admin/stubs",
            wl.dumps(stub).encode(),
            {"content-type": "application/json"},
        )
        if status not in (200, 201):
            raise StartError(f"adding the stream stub failed: {status} {body[:300]!r}")
        proc.extra["stream_stub"] = True


def ours(work: Path) -> Target:
    fixtures = work / "replay-fixtures"
    return Target(
        name=OURS,
        description="this project: `mockserver serve`, one process",
        chat_path=DATED_PATH,
        start=start_mockserver,
        prepare=prepare_mockserver,
        start_replay=lambda log_dir: _start_mockserver_replay(log_dir, fixtures, work),
        replay_note="`--fixtures DIR --record-mode none --allow-repeats`, one recorded interaction",
    )


def _start_mockserver_replay(log_dir: Path, fixtures: Path, work: Path) -> Proc:
    if not fixtures.exists():
        write_replay_fixtures(fixtures, w1_reply(work))
    return start_mockserver(
        log_dir,
        "--fixtures",
        str(fixtures),
        "--record-mode",
        "none",
        "--allow-repeats",
        name="mockserver-replay",
    )


def w1_reply(work: Path) -> dict[str, Any]:
    """Ours' answer to the W1 request (status, headers, body), taken once per run from a
    running mock: the bytes the ceiling serves, aimock's fixture and the replay's recording."""
    saved = work / "w1-reply.json"
    if saved.exists():
        reply: dict[str, Any] = json.loads(saved.read_text())
        return reply
    proc = start_mockserver(work / "logs", name="mockserver-w1-reply")
    try:
        url = proc.base + DATED_PATH
        status, headers, body = http("POST", url, wl.small_body().encode(), HEADERS)
    finally:
        proc.stop()
    if status != 200:
        raise StartError(f"could not take ours' W1 reply: {status} {body[:300]!r}")
    kept = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "date")}
    reply = {"status": status, "headers": kept, "body": body.decode()}
    saved.write_text(json.dumps(reply))
    return reply


def write_replay_fixtures(directory: Path, reply: dict[str, Any]) -> None:
    """One recorded interaction, in the format `--record-mode all` writes: the W1 request
    and ours' own reply to it."""
    directory.mkdir(parents=True, exist_ok=True)
    path, _, query = DATED_PATH.partition("?")
    interaction = {
        "request": {
            "method": "POST",
            "path": path,
            "query": dict([query.split("=", 1)]),
            "headers": {"content-type": "application/json"},
            "body": json.loads(wl.small_body()),
        },
        "response": {"status": 200, "headers": reply["headers"], "body": reply["body"]},
        "recorded_at": "2026-12-04T00:00:00Z",
    }
    text = json.dumps({"version": 1, "interactions": [interaction]})
    (directory / "recordings.json").write_text(text)


# --- the ceiling --------------------------------------------------------------------------


def ceiling(work: Path) -> Target:
    reply = work / "ceiling-reply.json"

    def start(log_dir: Path) -> Proc:
        if not reply.exists():
            reply.write_text(json.dumps(fixed_reply(work)))
        started = time.monotonic()
        argv = [sys.executable, str(BENCH / "ceiling.py"), "--port", "0", "--reply", str(reply)]
        proc = spawn("ceiling", argv, log_dir, pipe_stdout=True)
        match = read_line_matching(proc, r"listening on http://127\.0\.0\.1:(\d+)", START_TIMEOUT)
        proc.port = int(match.group(1))
        proc.ready_seconds = time.monotonic() - started
        return proc

    return Target(
        name="ceiling",
        description="bench/ceiling.py: aiohttp answering fixed bytes, one process",
        chat_path=DATED_PATH,
        start=start,
        start_replay=start,
        replay_note="the same fixed bytes as its W1 (nothing to look up)",
    )


def fixed_reply(work: Path) -> dict[str, Any]:
    """The non-streamed body is ours' own W1 answer, byte for byte; the stream is 200
    tokens, one frame each, as ours streams the W3 stub."""
    frames = wl.sse_frames(wl.texts().stream_reply)
    return {"completion_body": w1_reply(work)["body"], "frames": frames}


# --- npm: WireMock and Prism --------------------------------------------------------------


def npm_install(log: list[str], group: str, packages: dict[str, str]) -> Path:
    """Install pinned npm packages under bench/.node/<group> (once, never global); the
    node_modules path."""
    folder = NODE_DIR / group
    marker = folder / ".bench-installed"
    wanted = json.dumps(packages, sort_keys=True)
    if marker.exists() and marker.read_text() == wanted:
        return folder / "node_modules"
    if shutil.which("npm") is None:
        raise UnavailableError("npm is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    package = {"private": True, "description": "bench peers", "dependencies": packages}
    (folder / "package.json").write_text(json.dumps(package, indent=2))
    try:
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UnavailableError(f"npm install timed out after {INSTALL_TIMEOUT} s") from None
    log.append(f"npm install {' '.join(packages)}: exit {done.returncode}")
    if done.returncode != 0:
        raise UnavailableError(f"npm install failed: {done.stderr.strip()[-500:]}")
    marker.write_text(wanted)
    return folder / "node_modules"


def aimock(work: Path, modules: Path) -> Target:
    """aimock (npm `@copilotkit/aimock`), its `llmock` server on Azure's dated route, with
    fixtures equivalent to ours: W1's reply text for every non-streamed request, the 200-token
    stream for W3 (chunked so it sends as many frames as ours), and for W4 an instance whose
    stream fixture is paced like `x-mock-latency` asks (its streamingProfile)."""
    package = modules / "@copilotkit" / "aimock"
    cli = package / "dist" / "cli.js"
    if shutil.which("node") is None:
        raise UnavailableError("node is not installed")
    if not cli.exists():
        raise UnavailableError(f"the npm package @copilotkit/aimock has no {cli.name}")
    version = json.loads((package / "package.json").read_text())["version"]

    def start_with(fixtures: FixtureList, name: str) -> Callable[[Path], Proc]:
        def start(log_dir: Path) -> Proc:
            folder = work / name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "bench.json").write_text(json.dumps({"fixtures": fixtures()}))
            port = free_port()
            argv = ["node", str(cli), "-p", str(port), "-h", "127.0.0.1", "-f", str(folder),
                    "--log-level", "silent"]  # fmt: skip
            proc = spawn(name, argv, log_dir)
            proc.port = port
            return _ready_by_chat(proc, DATED_PATH)

        return start

    return Target(
        name="aimock",
        version=version,
        description="aimock (npm `@copilotkit/aimock`, Node): fixtures with ours' W1 reply text "
        "and the 200-token stream",
        chat_path=DATED_PATH,
        start=start_with(lambda: aimock_fixtures(work), "aimock"),
        start_w4=start_with(lambda: aimock_fixtures(work, paced=True), "aimock-w4"),
        start_replay=start_with(lambda: aimock_fixtures(work, replay=True), "aimock-replay"),
        replay_note="one fixture matching the W1 prompt (its record format)",
    )


def aimock_fixtures(work: Path, paced: bool = False, replay: bool = False) -> list[dict[str, Any]]:
    w1_text = json.loads(w1_reply(work)["body"])["choices"][0]["message"]["content"]
    stream_text = wl.texts().stream_reply
    frames = len(wl.sse_frames(stream_text)) - 4  # the content frames of ours' stream
    stream: dict[str, Any] = {
        "match": {"userMessage": wl.STREAM_TITLE},
        "response": {"content": stream_text},
        "chunkSize": max(1, round(len(stream_text) / frames)),
    }
    if paced:
        latency = dict(part.split("=") for part in wl.W4_LATENCY.split(","))
        stream["streamingProfile"] = {
            "ttft": float(latency["ttft_ms"]),
            "tps": float(latency["tokens_per_second"]),
        }
    if replay:
        recorded = {"userMessage": wl.texts().small_prompt}
        return [{"match": recorded, "response": {"content": w1_text}}]
    return [stream, {"match": {}, "response": {"content": w1_text}}]


def wiremock(work: Path, modules: Path) -> Target:
    if shutil.which("java") is None:
        raise UnavailableError("java is not installed (WireMock runs on the JVM)")
    jars = sorted((modules / "wiremock" / "build").glob("wiremock-standalone-*.jar"))
    if not jars:
        raise UnavailableError("the npm package wiremock holds no standalone jar")
    jar = jars[-1]
    root = work / "wiremock"
    replay_root = work / "wiremock-replay"

    def start_at(
        log_dir: Path, directory: Path, mappings: Callable[[], list[Any]], name: str
    ) -> Proc:
        (directory / "mappings").mkdir(parents=True, exist_ok=True)
        (directory / "__files").mkdir(exist_ok=True)
        target_file = directory / "mappings" / "bench.json"
        if not target_file.exists():
            target_file.write_text(json.dumps({"mappings": mappings()}))
        port = free_port()
        argv = [
            "java", "-jar", str(jar), "--port", str(port), "--bind-address", "127.0.0.1",
            "--root-dir", str(directory), "--disable-banner",
            "--max-request-journal-entries", "1000",
            "--async-response-enabled", "true", "--async-response-threads", "64",
            "--container-threads", "200",
        ]  # fmt: skip
        proc = spawn(name, argv, log_dir)
        proc.port = port
        started = time.monotonic()
        # The replay instance answers only the recorded request: ask the admin API.
        ready = proc.base + "/__admin/mappings?limit=1"
        wait_http(proc, lambda: http("GET", ready)[0] == 200, timeout=180, interval=0.2)
        proc.ready_seconds = time.monotonic() - started
        return proc

    return Target(
        name="wiremock",
        version=jar.stem.removeprefix("wiremock-standalone-"),
        description="WireMock (npm `wiremock`, standalone jar): static stubs",
        chat_path=DATED_PATH,
        start=lambda log_dir: start_at(log_dir, root, lambda: wiremock_mappings(work), "wiremock"),
        start_replay=lambda log_dir: start_at(
            log_dir, replay_root, lambda: wiremock_replay_mappings(work), "wiremock-replay"
        ),
    )


def wiremock_mappings(work: Path) -> list[dict[str, Any]]:
    reply = fixed_reply(work)
    completion = reply["completion_body"]
    sse = "".join(reply["frames"])
    chat = {"method": "POST", "urlPathPattern": "/openai/deployments/[^/]+/chat/completions"}
    streamed = {"contains": '"stream":true'}
    sse_headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    latency_ms = dict(part.split("=") for part in wl.W4_LATENCY.split(","))
    ttft = int(float(latency_ms["ttft_ms"]))
    dribble = round(len(reply["frames"]) / float(latency_ms["tokens_per_second"]) * 1000)
    return [
        {  # W4: paced like x-mock-latency asks: a first delay, then the body dribbled out
            "priority": 1,
            "request": {
                **chat,
                "headers": {"x-mock-latency": {"matches": ".+"}},
                "bodyPatterns": [streamed],
            },
            "response": {
                "status": 200,
                "headers": sse_headers,
                "body": sse,
                "fixedDelayMilliseconds": ttft,
                "chunkedDribbleDelay": {
                    "numberOfChunks": len(reply["frames"]),
                    "totalDuration": dribble,
                },
            },
        },
        {  # W3: the stream as one static body
            "priority": 2,
            "request": {**chat, "bodyPatterns": [streamed]},
            "response": {"status": 200, "headers": sse_headers, "body": sse},
        },
        {  # W1, W2: a fixed chat.completion
            "priority": 3,
            "request": chat,
            "response": {
                "status": 200,
                "headers": {"Content-Type": "application/json"},
                "body": completion,
            },
        },
    ]


def wiremock_replay_mappings(work: Path) -> list[dict[str, Any]]:
    """Replay for WireMock: one stub for the recorded request, matched on the whole body."""
    return [
        {
            "request": {
                "method": "POST",
                "urlPathPattern": "/openai/deployments/[^/]+/chat/completions",
                "bodyPatterns": [{"equalToJson": wl.small_body()}],
            },
            "response": {
                "status": 200,
                "headers": {"Content-Type": "application/json"},
                "body": fixed_reply(work)["completion_body"],
            },
        }
    ]


def find_azure_doc() -> Path | None:
    """The official document Prism serves: the project's vendored copy, or BENCH_AZURE_DOC."""
    candidates = [
        os.environ.get("BENCH_AZURE_DOC", ""),
        str(REPO / "tests" / "data" / "contracts-ref" / AZURE_DOC),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def prism(work: Path, modules: Path) -> Target:
    doc = find_azure_doc()
    if doc is None:
        raise UnavailableError(
            f"the official Azure document {AZURE_DOC} was not found in tests/data/contracts-ref/ "
            "(scripts/refresh_test_data.py writes it) and BENCH_AZURE_DOC is not set"
        )
    binary = modules / ".bin" / "prism"
    if not binary.exists():
        raise UnavailableError("npm package @stoplight/prism-cli has no prism binary")
    served = work / "prism-azure.json"
    path = f"/deployments/{wl.DEPLOYMENT}/chat/completions?api-version={wl.API_VERSION}"

    def start(log_dir: Path) -> Proc:
        # The document's x-ms-examples point at ./examples/*.json files that are not
        # published with it; they are AutoRest metadata Prism does not use, so they go.
        document = json.loads(doc.read_text())
        for item in document.get("paths", {}).values():
            for operation in item.values():
                if isinstance(operation, dict):
                    operation.pop("x-ms-examples", None)
        served.write_text(json.dumps(document))
        port = free_port()
        argv = [str(binary), "mock", str(served), "-p", str(port), "-h", "127.0.0.1", "-v", "error"]
        proc = spawn("prism", argv, log_dir)
        proc.port = port
        return _ready_by_chat(proc, path, timeout=120)

    version = json.loads((modules / "@stoplight/prism-cli/package.json").read_text())["version"]
    return Target(
        name="prism",
        version=version,
        description=f"Stoplight Prism mocking the official Azure document ({doc.name})",
        chat_path=path,
        start=start,
        na={
            "W4": "n/a: no latency simulation",
            "R": "n/a: answers the document's examples, records nothing",
        },
    )


# --- Python LLM mock servers from PyPI ------------------------------------------------------


@dataclass(frozen=True)
class PyPeer:
    package: str
    version: str
    argv: Callable[[Path, int], list[str]]  # (venv bin, port) -> the command
    files: dict[str, str] = field(default_factory=dict)  # written in its working directory
    latency_argv: Callable[[Path, int], list[str]] | None = None  # a W4 instance, if any
    note: str = ""


PY_PEERS = [
    PyPeer(
        "mockllm",
        "0.0.8",
        lambda b, p: [
            str(b / "mockllm"),
            "start",
            "-h",
            "127.0.0.1",
            "-p",
            str(p),
            "-r",
            "responses.yml",
        ],
        files={
            "responses.yml": "responses: {}\ndefaults:\n  unknown_response: "
            "This is a fixed reply from the mock for the benchmark.\n"
        },
    ),
    PyPeer(
        "fakellm",
        "0.3.5",
        lambda b, p: [
            str(b / "fakellm"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(p),
            "--config",
            "fakellm.yaml",
        ],
        files={
            "fakellm.yaml": "version: 1\ndefaults:\n  fallback: deterministic_echo\nrules: []\n"
        },
    ),
    PyPeer(
        "stubllm",
        "0.1.5",
        lambda b, p: [
            str(b / "stubllm"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(p),
            "--log-level",
            "warning",
        ],
    ),
    PyPeer(
        "llmock",
        "0.2.2",
        lambda b, p: [
            str(b / "llmock"),
            "serve",
            "-h",
            "127.0.0.1",
            "-p",
            str(p),
            "--log-level",
            "warning",
            "--response-style",
            "static",
        ],
        latency_argv=lambda b, p: [
            str(b / "llmock"),
            "serve",
            "-h",
            "127.0.0.1",
            "-p",
            str(p),
            "--log-level",
            "warning",
            "--response-style",
            "static",
            "--latency-ms",
            "200",
            "--stream-chunk-delay-ms",
            "20",
        ],
        note="W4 on an instance started with --latency-ms 200 --stream-chunk-delay-ms 20",
    ),
    PyPeer(
        "mock-ai-api",
        "0.1.1",
        lambda b, p: [
            str(b / "mock-ai-api"),
            "--openai-port",
            str(p),
            "--anthropic-port",
            str(free_port()),
        ],
    ),
    PyPeer(
        "mock-myna",
        "0.2.1",
        lambda b, p: [str(b / "mock-myna"), "--host", "127.0.0.1", "--port", str(p)],
    ),
]


def pip_install(peer: PyPeer, log: list[str]) -> Path:
    """A venv of its own under bench/.peers/<package>; its bin directory."""
    venv = PEERS_DIR / peer.package
    marker = venv / ".bench-installed"
    if marker.exists() and marker.read_text() == peer.version:
        return venv / "bin"
    PEERS_DIR.mkdir(parents=True, exist_ok=True)
    base_python = shutil.which("python3") or sys.executable
    try:
        subprocess.run(
            [base_python, "-m", "venv", "--clear", str(venv)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        done = subprocess.run(
            [
                str(venv / "bin" / "pip"),
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"{peer.package}=={peer.version}",
            ],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UnavailableError(f"pip install timed out after {INSTALL_TIMEOUT} s") from None
    except subprocess.CalledProcessError as error:
        raise UnavailableError(f"python3 -m venv failed: {error.stderr!r}") from None
    log.append(f"pip install {peer.package}=={peer.version}: exit {done.returncode}")
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
        raise UnavailableError("pip install failed: " + (" ".join(errors) or done.stderr[-400:]))
    marker.write_text(peer.version)
    return venv / "bin"


def python_peer(peer: PyPeer, work: Path, bin_dir: Path) -> Target:
    cwd = work / f"peer-{peer.package}"
    cwd.mkdir(parents=True, exist_ok=True)
    for name, text in peer.files.items():
        (cwd / name).write_text(text)

    def start_with(argv: Callable[[Path, int], list[str]], name: str) -> Callable[[Path], Proc]:
        def start(log_dir: Path) -> Proc:
            port = free_port()
            proc = spawn(name, argv(bin_dir, port), log_dir, cwd=cwd)
            proc.port = port
            return _ready_by_chat(proc, V1_PATH)

        return start

    na = {"R": "n/a: no replay of recorded interactions"}
    if peer.latency_argv is None:
        na["W4"] = "n/a: no latency simulation for streams"
    return Target(
        name=peer.package,
        version=peer.version,
        description=f"PyPI `{peer.package}` (OpenAI route {V1_PATH})"
        + (f"; {peer.note}" if peer.note else ""),
        chat_path=V1_PATH,
        start=start_with(peer.argv, peer.package),
        start_w4=start_with(peer.latency_argv, f"{peer.package}-latency")
        if peer.latency_argv
        else None,
        na=na,
    )
