"""`mockserver fixtures import-vcr | check | ls`: bring cassettes in, and inspect fixtures."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from mockserver.fixtures import (
    REDACTED,
    SECRET_HEADERS,
    FixtureError,
    Interaction,
    read_fixture_dir,
    write_fixture_file,
)
from mockserver.vcr_import import CassetteError, import_cassette

# Secrets that must never sit in a fixture: keys in headers or bodies.
_SECRET_TEXT = re.compile(r"(sk-[A-Za-z0-9]{20,}|Bearer\s+(?!REDACTED)[A-Za-z0-9._-]{20,})")
_CHAT_FIELDS = ("choices", "created", "id", "model", "object")


def add_fixtures_commands(commands: Any) -> None:
    fixtures = commands.add_parser("fixtures", help="import, check and list recorded fixtures")
    actions = fixtures.add_subparsers(dest="fixtures_command", required=True)
    importer = actions.add_parser("import-vcr", help="convert vcrpy/pytest-recording cassettes")
    importer.add_argument("cassettes", nargs="+", type=Path)
    importer.add_argument("--out", required=True, type=Path, help="the fixtures directory")
    check = actions.add_parser("check", help="validate fixtures, find secrets and broken replies")
    check.add_argument("directory", type=Path)
    listing = actions.add_parser("ls", help="list what is recorded")
    listing.add_argument("directory", type=Path)


def run_fixtures_command(args: argparse.Namespace) -> int:
    commands = {"import-vcr": _import, "check": _check, "ls": _list}
    try:
        return commands[args.fixtures_command](args)
    except (CassetteError, FixtureError) as error:
        print(f"mockserver fixtures: {error}")
        return 2


def _import(args: argparse.Namespace) -> int:
    """Convert every cassette it can; name each it refuses; exit 1 if any was refused."""
    refused = 0
    for cassette in args.cassettes:
        try:
            fixtures = import_cassette(cassette)
        except CassetteError as error:
            print(f"refused: {error}")
            refused += 1
            continue
        target = args.out / f"{cassette.stem}.json"
        write_fixture_file(target, fixtures)
        print(f"{cassette} -> {target}: {len(fixtures.interactions)} interaction(s)")
    return 1 if refused else 0


def _check(args: argparse.Namespace) -> int:
    problems: list[str] = []
    count = 0
    for path, fixtures in read_fixture_dir(args.directory):
        for position, interaction in enumerate(fixtures.interactions):
            count += 1
            where = f"{path.name}#{position}"
            problems += [f"{where}: {p}" for p in interaction_problems(interaction)]
    for problem in problems:
        print(problem)
    print(f"{count} interaction(s) checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def interaction_problems(interaction: Interaction) -> list[str]:
    """Secrets left in, and successful chat replies that break the contract."""
    problems = _secrets(interaction)
    response = interaction.response
    if response.status == 200 and interaction.request.path.endswith("/chat/completions"):
        problems += _stream_problems(response.frames) if response.frames is not None else []
        problems += _body_problems(response.body) if response.frames is None else []
    return problems


def _secrets(interaction: Interaction) -> list[str]:
    found = [
        f"secret header {name!r} is not redacted"
        for headers in (interaction.request.headers, interaction.response.headers)
        for name, value in headers.items()
        if name.lower() in SECRET_HEADERS and value != REDACTED
    ]
    text = json.dumps(interaction.model_dump(mode="json"))
    if _SECRET_TEXT.search(text):
        found.append("a key or bearer token appears in the recorded text")
    return found


def _body_problems(body: str | None) -> list[str]:
    try:
        parsed = json.loads(body or "")
    except ValueError:
        return ["the 200 body is not JSON"]
    missing = [field for field in _CHAT_FIELDS if field not in parsed]
    return [f"the chat.completion body lacks {', '.join(missing)}"] if missing else []


def _stream_problems(frames: Any) -> list[str]:
    datas = [frame.data.strip() for frame in frames]
    if not datas or datas[-1] != "data: [DONE]":
        return ["the stream does not end with data: [DONE]"]
    for data in datas[:-1]:
        try:
            json.loads(data.removeprefix("data:").strip())
        except ValueError:
            return [f"a stream frame is not JSON: {data[:60]!r}"]
    return []


def _list(args: argparse.Namespace) -> int:
    for path, fixtures in read_fixture_dir(args.directory):
        for position, interaction in enumerate(fixtures.interactions):
            request, response = interaction.request, interaction.response
            kind = "stream" if response.frames is not None else "json"
            print(
                f"{path.name}#{position}\t{request.method} {request.path}\t{response.status} "
                f"{kind}\t{_last_user(request.body)[:60]!r}"
            )
    return 0


def _last_user(body: Any) -> str:
    messages = body.get("messages") if isinstance(body, dict) else None
    for message in reversed(messages or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""
