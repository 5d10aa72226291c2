"""Command line: `mockserver serve [...]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from mockserver.app import create_app
from mockserver.config import Settings, load_settings
from mockserver.fixtures import FixtureError
from mockserver.fixtures_cli import add_fixtures_commands, run_fixtures_command
from mockserver.stubs import StubFileError


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
        "--deployment",
        dest="deployments",
        action="append",
        metavar="NAME=MODEL",
        help="a deployment and its model (repeatable; replaces the default)",
    )
    serve.add_argument("--stubs", dest="stubs_dir", help="load stub rules from *.json here")
    _add_tape_arguments(serve)
    add_fixtures_commands(commands)
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
        choices=("none", "once", "new_episodes", "all"),
        help="none (default): replay only; once, new_episodes, all: as in vcrpy",
    )
    serve.add_argument("--upstream", help="the real endpoint to record, https://<resource>...")
    serve.add_argument("--cassette", help="file name (without .json) new recordings go to")
    serve.add_argument(
        "--replay-timing", help="none (as fast as possible), original, or a scale factor"
    )
    serve.add_argument(
        "--replay-miss",
        choices=("error", "generate"),
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
    return _serve_command(vars(namespace))


def _serve_command(args: dict[str, Any]) -> int:
    args.pop("command")
    config_file = args.pop("config")
    try:
        settings = load_settings(config_file, overrides=args)
    except (ValidationError, OSError, ValueError) as error:
        print(f"mockserver: invalid configuration: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        asyncio.run(serve(settings))
    except (StubFileError, FixtureError) as error:
        print(f"mockserver: {error}", file=sys.stderr)
        return 2
    return 0


async def serve(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM, then close connections and return."""
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Handlers first: a supervisor may signal as soon as it reads the ready line.
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    port = _bound_port(runner, settings.port)
    print(f"mockserver listening on http://{settings.host}:{port}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        print("mockserver stopped", flush=True)


def _bound_port(runner: web.AppRunner, requested: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    return requested
