"""The servers of a run: ours, the aiohttp ceiling, WireMock, Prism and Python LLM mocks.

Each is installed if needed (npm under bench/.node, each Python peer in its own venv under
bench/.peers; never into the project's venv), started on its own free loopback port, and
probed for what it can answer. A step that fails makes that server "unavailable" with the
error; the run goes on. Every install and start has a timeout.
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
NPM_PACKAGES = {"wiremock": "3.13.2", "@stoplight/prism-cli": "5.16.0"}
INSTALL_TIMEOUT = 600
OURS = "mockserver"
START_TIMEOUT = 60


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
    start_w5: Callable[[Path], Proc] | None = None  # an instance replaying 10,000 recordings
    extra_headers: dict[str, dict[str, str]] = field(default_factory=dict)  # per workload


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


def mockserver_supports_replay() -> bool:
    try:
        done = subprocess.run(
            [str(mockserver_bin()), "serve", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--fixtures" in done.stdout


def ours(work: Path) -> Target:
    target = Target(
        name=OURS,
        description="this project: `mockserver serve`, one process",
        chat_path=DATED_PATH,
        start=start_mockserver,
        prepare=prepare_mockserver,
    )
    if mockserver_supports_replay():
        fixtures = work / "replay-fixtures"
        target.start_w5 = lambda log_dir: _start_mockserver_replay(log_dir, fixtures)
    else:
        target.na["W5"] = "not available: replay not implemented"
    return target


def _start_mockserver_replay(log_dir: Path, fixtures: Path) -> Proc:
    if not (fixtures / "recordings.json").exists():
        write_replay_fixtures(fixtures)
    return start_mockserver(
        log_dir, "--fixtures", str(fixtures), "--allow-repeats", name="mockserver-replay"
    )


def write_replay_fixtures(directory: Path) -> None:
    """10,000 recorded interactions: distinct requests, each with the mock's own reply.

    One real reply is taken from a running mock (the W1 request) and given a new id per
    interaction, so the cassette is what `--record-mode all` would have written, made in
    seconds instead of recording 10,000 round trips.
    """
    directory.mkdir(parents=True, exist_ok=True)
    proc = start_mockserver(directory.parent / "logs", name="mockserver-recorder")
    try:
        status, headers, reply = http(
            "POST", proc.base + DATED_PATH, wl.small_body().encode(), HEADERS
        )
    finally:
        proc.stop()
    if status != 200:
        raise StartError(f"could not take a reply to record: {status}")
    template = reply.decode()
    reply_id = json.loads(template)["id"]
    kept = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "date")}
    path, _, query = DATED_PATH.partition("?")
    interactions = []
    for n in range(wl.W5_INTERACTIONS):
        body = wl.chat_body(wl.replay_question(n))
        interactions.append(
            {
                "request": {
                    "method": "POST",
                    "path": path,
                    "query": dict([query.split("=", 1)]),
                    "headers": {"content-type": "application/json"},
                    "body": body,
                },
                "response": {
                    "status": 200,
                    "headers": kept,
                    "body": template.replace(reply_id, f"chatcmpl-replay{n:021d}"),
                },
                "recorded_at": "2026-11-25T00:00:00Z",
            }
        )
    text = json.dumps({"version": 1, "interactions": interactions})
    (directory / "recordings.json").write_text(text)


# --- the ceiling --------------------------------------------------------------------------


def ceiling(work: Path) -> Target:
    reply = work / "ceiling-reply.json"

    def start(log_dir: Path) -> Proc:
        if not reply.exists():
            reply.write_text(json.dumps(fixed_reply()))
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
        na={"W5": "n/a: fixed reply, nothing recorded to replay"},
    )


def fixed_reply() -> dict[str, Any]:
    texts = wl.texts()
    return {
        "completion": wl.fixed_completion(texts.stream_reply),
        "frames": wl.sse_frames(texts.stream_reply),
    }


# --- npm: WireMock and Prism --------------------------------------------------------------


def npm_install(log: list[str]) -> Path:
    """Install the pinned npm packages under bench/.node (once); the node_modules path."""
    marker = NODE_DIR / ".bench-installed"
    wanted = json.dumps(NPM_PACKAGES, sort_keys=True)
    if marker.exists() and marker.read_text() == wanted:
        return NODE_DIR / "node_modules"
    if shutil.which("npm") is None:
        raise UnavailableError("npm is not installed")
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    package = {"private": True, "description": "bench peers", "dependencies": NPM_PACKAGES}
    (NODE_DIR / "package.json").write_text(json.dumps(package, indent=2))
    try:
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UnavailableError(f"npm install timed out after {INSTALL_TIMEOUT} s") from None
    log.append(f"npm install: exit {done.returncode}")
    if done.returncode != 0:
        raise UnavailableError(f"npm install failed: {done.stderr.strip()[-500:]}")
    marker.write_text(wanted)
    return NODE_DIR / "node_modules"


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
        # The replay instance answers only the 10,000 recorded requests: ask the admin API.
        ready = proc.base + "/__admin/mappings?limit=1"
        wait_http(proc, lambda: http("GET", ready)[0] == 200, timeout=180, interval=0.2)
        proc.ready_seconds = time.monotonic() - started
        return proc

    return Target(
        name="wiremock",
        version=jar.stem.removeprefix("wiremock-standalone-"),
        description="WireMock (npm `wiremock`, standalone jar): static stubs",
        chat_path=DATED_PATH,
        start=lambda log_dir: start_at(log_dir, root, wiremock_mappings, "wiremock"),
        start_w5=lambda log_dir: start_at(
            log_dir, replay_root, wiremock_replay_mappings, "wiremock-replay"
        ),
    )


def wiremock_mappings() -> list[dict[str, Any]]:
    reply = fixed_reply()
    completion = wl.dumps(reply["completion"])
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


def wiremock_replay_mappings() -> list[dict[str, Any]]:
    """W5 for WireMock: 10,000 stubs, one per recorded request, matched on the whole body."""
    completion = wl.dumps(fixed_reply()["completion"])
    return [
        {
            "request": {
                "method": "POST",
                "urlPathPattern": "/openai/deployments/[^/]+/chat/completions",
                "bodyPatterns": [{"equalToJson": wl.dumps(wl.chat_body(wl.replay_question(n)))}],
            },
            "response": {
                "status": 200,
                "headers": {"Content-Type": "application/json"},
                "body": completion.replace("bench0000", f"replay{n:05d}", 1),
            },
        }
        for n in range(wl.W5_INTERACTIONS)
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
            "W5": "n/a: answers the document's examples, records nothing",
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

    na = {"W5": "n/a: no replay of recorded interactions"}
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
