"""`mockserver contract verify`: the drift check from the command line.

    mockserver contract verify --endpoint https://my-resource.openai.azure.com \\
        --api-key "$AZURE_OPENAI_API_KEY" --deployment o3-mini [--api-version V] \\
        [--json] [--mock-url http://127.0.0.1:8089]

Without `--mock-url` the mock is started in-process on 127.0.0.1, serving the endpoint's
deployment name with o3-mini. Exit status: 0 no drift, 1 drift, 2 a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from mockserver.cli.drift.probes import DEFAULT_API_VERSION, Target

KEY_VARIABLE = "AZURE_OPENAI_API_KEY"
MOCK_KEY = "mockserver-drift"
EXIT_OK, EXIT_DRIFT, EXIT_USAGE = 0, 1, 2


class UsageError(ValueError):
    """Arguments that cannot run: a malformed URL, no key."""


def add_contract_commands(commands: Any) -> None:
    """Register `contract verify` on the top-level subparsers."""
    contract = commands.add_parser("contract", help="check the mock against a real endpoint")
    actions = contract.add_subparsers(dest="contract_command", required=True)
    check = actions.add_parser(
        "verify",
        help="send the probe battery to a real endpoint and to the mock; exit 1 on drift",
    )
    check.add_argument("--endpoint", required=True, help="https://<resource>.openai.azure.com")
    check.add_argument("--api-key", help=f"the endpoint's key (default: ${KEY_VARIABLE})")
    check.add_argument("--deployment", required=True, help="the o3-mini deployment's name")
    check.add_argument("--api-version", default=DEFAULT_API_VERSION, help="a dated api-version")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--mock-url", help="a running mock (default: one started in-process)")
    check.add_argument("--mock-api-key", default=MOCK_KEY, help="the key sent to the mock")


def run_contract_command(args: argparse.Namespace) -> int:
    try:
        return _verify(args)
    except UsageError as error:
        print(f"mockserver contract verify: {error}", file=sys.stderr)
        return EXIT_USAGE


def _verify(args: argparse.Namespace) -> int:
    # Imported here: `mockserver serve` parses these commands but never runs them.
    from mockserver.cli.drift.report import render_json, render_text
    from mockserver.cli.drift.runner import verify

    endpoint = Target(
        _url(args.endpoint, "--endpoint"), _key(args), args.deployment, args.api_version
    )
    with _mock(args) as mock:
        report = verify(endpoint, mock)
    if args.json:
        print(json.dumps(render_json(report), indent=2, ensure_ascii=False))
    else:
        print(render_text(report), end="")
    return EXIT_DRIFT if report.drifted else EXIT_OK


def _url(raw: str, option: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{option} must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def _key(args: argparse.Namespace) -> str:
    key: str | None = args.api_key or os.environ.get(KEY_VARIABLE)
    if not key:
        raise UsageError(f"give --api-key or set {KEY_VARIABLE}")
    return key


@contextlib.contextmanager
def _mock(args: argparse.Namespace) -> Iterator[Target]:
    """The mock side: the given URL, or an in-process MockServer for the deployment."""
    if args.mock_url:
        url = _url(args.mock_url, "--mock-url")
        yield Target(url, args.mock_api_key, args.deployment, args.api_version)
        return
    from mockserver.testing.server import MockServer  # the server only when it is needed

    try:
        server = MockServer(deployments=[f"{args.deployment}=o3-mini"])
    except (ValidationError, ValueError) as error:
        raise UsageError(f"cannot serve deployment {args.deployment!r}: {error}") from None
    with server:
        yield Target(server.url, args.mock_api_key, args.deployment, args.api_version)
