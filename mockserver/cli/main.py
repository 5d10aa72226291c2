"""Command line: `mockserver serve [...]`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, get_args

from aiohttp import web
from pydantic import ValidationError

from mockserver.admin.metrics import multiprocess_dir
from mockserver.admin.token import warn_if_exposed
from mockserver.cli.drift.commands import add_contract_commands, run_contract_command
from mockserver.cli.fixtures import add_fixtures_commands, run_fixtures_command
from mockserver.config import RecordMode, ReplayMiss, Settings, load_settings
from mockserver.engines.stubs import StubFileError
from mockserver.http.app import create_app, warmed
from mockserver.http.connection import runner_for
from mockserver.recordings.fixtures import FixtureError
from mockserver.redaction.masking import validation_summary
from mockserver.redaction.rules import install_log_filter
from mockserver.stores.sessions import StoreConnectError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockserver", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the mock Azure OpenAI server")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8089; 0 picks a free one)")
    serve.add_argument("--config", help="TOML configuration file")
    serve.add_argument("--seed", type=int, help="seed of the deterministic generator")
    serve.add_argument("--region", help="value of the x-ms-region header")
    serve.add_argument(
        "--api-key", dest="api_keys", action="append", help="accepted key (repeatable)"
    )
    serve.add_argument(
        "--admin-token",
        help="token the admin API (/__admin) requires; MOCKSERVER_ADMIN_TOKEN keeps it out of ps",
    )
    serve.add_argument(
        "--deployment",
        dest="deployments",
        action="append",
        metavar="NAME=MODEL",
        help="a deployment and its model (repeatable; replaces the default)",
    )
    serve.add_argument("--stubs", dest="stubs_dir", help="load stub rules from *.json here")
    serve.add_argument(
        "--workers", type=int, default=1, help="processes on one port, for load tests (default 1)"
    )
    serve.add_argument(
        "--shutdown-grace-seconds",
        type=float,
        help="on SIGTERM, how long requests in flight may finish before they are cut (default 5)",
    )
    _add_tape_arguments(serve)
    add_fixtures_commands(commands)
    add_contract_commands(commands)
    serve.add_argument(
        "--deterministic-ids",
        action="store_true",
        default=None,
        help="derive ids and created from the request, for snapshot tests",
    )
    return parser


def _add_tape_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--fixtures", dest="fixtures_dir", help="recorded interactions (*.json)")
    serve.add_argument(
        "--record-mode",
        choices=get_args(RecordMode),
        help="none (default): replay only; once, new_episodes, all: as in vcrpy",
    )
    serve.add_argument("--upstream", help="the real endpoint to record, https://<resource>...")
    serve.add_argument(
        "--state",
        help="where stubs, journal, quota... live: memory (default) or redis://host:port/db "
        "(rediss:// for TLS), shared by every process and machine using it",
    )
    serve.add_argument("--state-prefix", help="key prefix, so several mocks share one Redis")
    serve.add_argument(
        "--state-session-ttl-seconds",
        type=int,
        help="on Redis, a session unused this long expires (default 86400; 0 never)",
    )
    serve.add_argument("--cassette", help="name of the cassette new recordings go to")
    serve.add_argument(
        "--upstream-read-timeout-seconds",
        type=float,
        help="seconds of upstream silence before a recording gives up (default 240)",
    )
    serve.add_argument(
        "--upstream-max-body-bytes",
        type=int,
        help="the largest upstream answer recorded (default 64 MiB)",
    )
    serve.add_argument(
        "--replay-timing", help="none (as fast as possible), original, or a scale factor"
    )
    serve.add_argument(
        "--replay-miss",
        choices=get_args(ReplayMiss),
        help="answer a miss with an error "
        "naming the nearest interaction (default), or with the generator",
    )
    serve.add_argument(
        "--allow-repeats",
        action="store_true",
        default=None,
        help="replay the last matching interaction again once they are used up",
    )


def main(argv: Sequence[str] | None = None) -> int:
    namespace = build_parser().parse_args(argv)
    if namespace.command == "fixtures":
        return run_fixtures_command(namespace)
    if namespace.command == "contract":
        return run_contract_command(namespace)
    return _serve_command(vars(namespace))


def _serve_command(args: dict[str, Any]) -> int:
    args.pop("command")
    config_file = args.pop("config")
    workers = args.pop("workers")
    try:
        settings = load_settings(config_file, overrides=args)
    except ValidationError as error:  # said without the values: they may be secrets
        print(f"mockserver: invalid configuration: {validation_summary(error)}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as error:
        print(f"mockserver: invalid configuration: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    install_log_filter(*logging.getLogger().handlers)  # no secret reaches the log
    warn_if_exposed(settings)
    try:
        if workers > 1:
            serve_workers(settings, workers)
        else:
            run(serve(settings))
    except (StubFileError, FixtureError, StoreConnectError) as error:
        print(f"mockserver: {error}", file=sys.stderr)
        return 2
    return 0


def serve_workers(settings: Settings, workers: int) -> None:
    """`--workers N`: N processes on one port (SO_REUSEPORT); each keeps its own state."""
    if settings.server.port == 0:
        settings = settings.with_changes({"port": _free_port(settings.server.host)})
    children = [
        multiprocessing.get_context("spawn").Process(
            target=_worker, args=(settings,), name=f"mockserver-{n}", daemon=True
        )
        for n in range(1, workers)
    ]
    with multiprocess_dir():  # a scrape on any worker sums every worker's metrics
        for child in children:
            child.start()
        try:
            run(serve(settings, reuse_port=True))
        finally:
            for child in children:
                child.terminate()  # SIGTERM: each worker stops within its shutdown grace
                child.join(timeout=settings.server.shutdown_grace_seconds + 10)


def _worker(settings: Settings) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the first process owns the terminal
    _stop_when_orphaned()
    run(serve(settings, reuse_port=True, announce=False))


def _stop_when_orphaned() -> None:
    """A worker stops when the first process is gone, however it went (kill -9 included).

    Workers share the port through SO_REUSEPORT: an orphan would keep answering there, with
    state no admin call can reach. So the worker sends itself the SIGTERM its parent would
    have sent, and shuts down within its grace like any other stop.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="mockserver-parent-watch", daemon=True).start()


def run(main_coroutine: Coroutine[Any, Any, None]) -> None:
    """asyncio.run, on uvloop (a dependency except on Windows, where asyncio's loop runs)."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(main_coroutine)


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's loop if installed, else asyncio's; chosen before the server runs, so
    that no ImportError is being handled (and chained into tracebacks) while it does."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    fast: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return fast


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


async def serve(settings: Settings, reuse_port: bool = False, announce: bool = True) -> None:
    """Run until SIGINT or SIGTERM, then close connections and return."""
    runner = runner_for(create_app(settings), settings)
    await runner.setup()
    site = web.TCPSite(
        runner, settings.server.host, settings.server.port, reuse_port=reuse_port or None
    )
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Handlers first: a supervisor may signal as soon as it reads the ready line.
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    port = _bound_port(runner, settings.server.port)
    if announce:
        print(f"mockserver listening on http://{settings.server.host}:{port}", flush=True)
    try:
        await warmed(runner.app)
        # What start-up built (the tokenizer's 200,000 ranks, schemas, word lists) lives as
        # long as the process: frozen, the garbage collector stops walking it on every
        # full collection, which under load cost more than a request.
        gc.freeze()
        # A request that waits (on the shared store, or between a stream's frames) holds
        # its objects across loop turns, so CPython's default of a collection every 700
        # allocations walked requests still in flight: on Redis state 1,484 collections in
        # 6 s of W1, ~2 us a request. With a higher threshold most of them are gone by the
        # next collection; cyclic garbage still waits at most this many allocations.
        gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
        await stop.wait()
    finally:
        await runner.cleanup()
        if announce:
            print("mockserver stopped", flush=True)


YOUNG_COLLECTION_THRESHOLD = 10_000


def _bound_port(runner: web.AppRunner, requested: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    return requested
