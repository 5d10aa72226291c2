"""`mockserver fixtures import-vcr | check | ls`: bring cassettes in, and inspect fixtures."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mockserver.cli.progress import counter, say, tracked
from mockserver.cli.vcr_import import CassetteError, CassetteLimits, import_cassette
from mockserver.config import Settings, load_settings
from mockserver.recordings.fixtures import (
    FixtureError,
    FixtureFile,
    Found,
    Interaction,
    cassette_files,
    find_fixtures,
    read_fixtures,
    write_fixture_file,
)
from mockserver.redaction.rules import (
    DEFAULT_POLICY,
    RedactionPolicy,
    fixture_policy,
    leaks,
    scrub_text,
)

_CHAT_FIELDS = ("choices", "created", "id", "model", "object")


def add_fixtures_commands(commands: Any) -> None:
    fixtures = commands.add_parser("fixtures", help="import, check and list recorded fixtures")
    actions = fixtures.add_subparsers(dest="fixtures_command", required=True)
    importer = actions.add_parser("import-vcr", help="convert vcrpy/pytest-recording cassettes")
    importer.add_argument("cassettes", nargs="+", type=Path)
    importer.add_argument("--out", required=True, type=Path, help="the fixtures directory")
    importer.add_argument(
        "--max-bytes", type=int, help="the largest cassette read, and what it may expand to"
    )
    importer.add_argument(
        "--max-nodes", type=int, help="the most YAML nodes a cassette may expand to"
    )
    check = actions.add_parser("check", help="validate fixtures, find secrets and broken replies")
    check.add_argument("directory", type=Path)
    listing = actions.add_parser("ls", help="list what is recorded")
    listing.add_argument("directory", type=Path)


def run_fixtures_command(args: argparse.Namespace) -> int:
    commands = {"import-vcr": _import, "check": _check, "ls": _list}
    try:
        return commands[args.fixtures_command](args)
    except (CassetteError, FixtureError, OSError, RecursionError, _SettingsError) as error:
        print(f"mockserver fixtures: {_one_line(error)}")
        return 2


class _SettingsError(ValueError):
    """The configuration (MOCKSERVER_* variables, MOCKSERVER_CONFIG) is not valid."""


def _settings() -> Settings:
    """The redaction lists and import limits come from the same configuration as `serve`."""
    try:
        return load_settings()
    except ValidationError as error:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in error.errors()})
        raise _SettingsError(f"invalid configuration in {', '.join(fields)}") from None
    except (OSError, ValueError) as error:
        raise _SettingsError(f"invalid configuration ({type(error).__name__})") from None


def _one_line(error: BaseException) -> str:
    """An error as one line, secret-shaped text scrubbed (a path or message may hold one)."""
    if isinstance(error, RecursionError):
        return "a fixture is nested too deeply to read"
    return scrub_text(" ".join(str(error).split()))


def _import(args: argparse.Namespace) -> int:
    """Convert every cassette it can; name each it refuses; exit 1 if any was refused."""
    settings = _settings()
    limits = CassetteLimits(
        max_bytes=args.max_bytes or settings.recording.vcr_max_bytes,
        max_nodes=args.max_nodes or settings.recording.vcr_max_nodes,
    )
    refused = 0
    for cassette in tracked(args.cassettes, len(args.cassettes), "cassettes"):
        target = args.out / f"{cassette.stem}.json"
        try:
            fixtures = import_cassette(cassette, limits, fixture_policy(settings))
            _write(target, fixtures, cassette)
        except CassetteError as error:
            say(f"refused: {_one_line(error)}")
            refused += 1
            continue
        say(f"{cassette} -> {target}: {len(fixtures.interactions)} interaction(s)")
    return 1 if refused else 0


def _write(target: Path, fixtures: FixtureFile, cassette: Path) -> None:
    try:
        write_fixture_file(target, fixtures)
    except OSError as error:
        raise CassetteError(f"{cassette}: {target} cannot be written ({error.strerror})") from None


def _check(args: argparse.Namespace) -> int:
    rules = fixture_policy(_settings())
    problems: list[str] = []
    count = 0
    for found in _by_file(args.directory):
        count += 1
        try:
            found_problems = interaction_problems(found.interaction, rules)
        except RecursionError:  # an answer nested deeper than a walk of it goes
            found_problems = ["nested too deeply to check: look at it by hand"]
        problems += [f"{found.where}: {p}" for p in found_problems]
    for problem in problems:
        print(problem)
    print(f"{count} interaction(s) checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def _by_file(directory: Path) -> Iterator[Found]:
    """find_fixtures, with a bar advancing a file at a time: listing the files is cheap,
    reading them is the long part, so they are counted first and read once."""
    with counter(_fixture_file_count(directory), "fixture files") as advance:
        current: Path | None = None
        for found in find_fixtures(directory):
            if found.path != current:
                advance()  # a file begun: the bar says how far into the folder the check is
                current = found.path
            yield found


def _fixture_file_count(directory: Path) -> int:
    """How many files find_fixtures will read: single files, then each cassette's files."""
    if not directory.is_dir():
        return 0
    cassettes = (p for p in directory.iterdir() if p.is_dir())
    return len(list(directory.glob("*.json"))) + sum(len(cassette_files(c)) for c in cassettes)


def interaction_problems(
    interaction: Interaction, rules: RedactionPolicy = DEFAULT_POLICY
) -> list[str]:
    """Secrets left in, and successful chat replies that break the contract."""
    problems = leaks(interaction, rules)
    response = interaction.response
    if response.status == 200 and interaction.request.path.endswith("/chat/completions"):
        problems += _stream_problems(response.frames) if response.frames is not None else []
        problems += _body_problems(response.body) if response.frames is None else []
    return problems


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
            return [f"a stream frame is not JSON: {scrub_text(data)[:60]!r}"]
    return []


def _list(args: argparse.Namespace) -> int:
    for where, interaction in read_fixtures(args.directory):
        request, response = interaction.request, interaction.response
        kind = "stream" if response.frames is not None else "json"
        print(
            f"{where}\t{request.method} {request.path}\t{response.status} "
            f"{kind}\t{scrub_text(_last_user(request.body))[:60]!r}"
        )
    return 0


def _last_user(body: Any) -> str:
    messages = body.get("messages") if isinstance(body, dict) else None
    for message in reversed(messages or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""
