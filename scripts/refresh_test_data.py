"""Refresh `tests/data/` from a reference copy, and write its manifest and README.

    python scripts/refresh_test_data.py REFERENCE_DIR          # copy, hash, write
    python scripts/refresh_test_data.py REFERENCE_DIR --check  # compare only; exit 1 on drift

REFERENCE_DIR holds `contracts-ref/`, `real-traffic/` and `reference/` (the team's reference
copies of the official documents and of public recordings). This script is the only part of
the project that knows such a folder exists: the tests read `tests/data/` alone, so a fresh
clone runs them with nothing beside it.

What is copied is listed in `COPIED` below, byte for byte. One file is derived rather than
copied: `reference/azure-contract-error-bodies.json` holds the complete `{"error": ...}` JSON
bodies quoted in the contract notes, as data (with the line each was quoted on), without the
notes' prose.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
MANIFEST = DATA / "manifest.json"
README = DATA / "README.md"

# Globs inside the reference folder; every match is copied to the same relative path.
COPIED = (
    "contracts-ref/2024-10-21.inference.json",
    "contracts-ref/2025-04-01-preview.inference.json",
    "real-traffic/azure/*",
    "real-traffic/openai/*",
    "real-traffic/issue-excerpts/*.json",
)
# The top folders of tests/data this script writes; others (captured/) are the tests' own.
MANAGED = ("contracts-ref", "real-traffic", "reference")
CONTRACT_NOTES = "reference/azure-contract.md"
ERROR_BODIES = "reference/azure-contract-error-bodies.json"
SOURCE_TABLES = ("contracts-ref/SOURCES.md", "real-traffic/SOURCES.md")
_QUOTED_ERROR = re.compile(r"`(\{\"error\".*?\})`")
_TABLE_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)$", re.MULTILINE)
ISSUE_QUOTES = "quoted from public GitHub issues (each entry has its URL)"
_ORIGIN = re.compile(r"^([\w.-]+/[\w.-]+\b|same repo)")
MAX_BYTES = 20 * 1024 * 1024  # the folder stays small enough to clone in a second


@dataclass(frozen=True)
class Entry:
    path: str  # relative to tests/data and to the reference folder
    upstream: str  # where the reference copy says the file came from
    sha256: str
    size: int


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reference", type=Path, help="folder with contracts-ref/, real-traffic/")
    parser.add_argument("--check", action="store_true", help="compare, change nothing")
    args = parser.parse_args(argv)
    reference: Path = args.reference
    if not (reference / "contracts-ref").is_dir():
        print(f"error: {reference} has no contracts-ref/ folder", file=sys.stderr)
        return 2
    wanted = planned_files(reference)
    if args.check:
        return report_drift(wanted)
    write_all(wanted, upstreams(reference))
    print(f"tests/data: {len(wanted)} files, {sum(len(b) for b in wanted.values()):,} bytes")
    return 0


def planned_files(reference: Path) -> dict[str, bytes]:
    """Every file tests/data should hold, by relative path, with its bytes."""
    files: dict[str, bytes] = {}
    for pattern in COPIED:
        matches = sorted(p for p in reference.glob(pattern) if p.is_file())
        if not matches:
            raise SystemExit(f"error: nothing in {reference} matches {pattern}")
        for path in matches:
            files[path.relative_to(reference).as_posix()] = path.read_bytes()
    notes = (reference / CONTRACT_NOTES).read_text(encoding="utf-8")
    files[ERROR_BODIES] = error_bodies_json(notes)
    total = sum(len(content) for content in files.values())
    if total > MAX_BYTES:
        raise SystemExit(f"error: {total:,} bytes is over the {MAX_BYTES:,}-byte budget")
    return files


def error_bodies_json(notes: str) -> bytes:
    """The complete error bodies quoted in the contract notes; abridged quotes are skipped."""
    bodies = []
    for match in _QUOTED_ERROR.finditer(notes):
        try:
            body = json.loads(match.group(1))
        except ValueError:
            continue  # an abridged quote ("message":...), not a body
        if isinstance(body, dict):
            line = notes.count("\n", 0, match.start()) + 1
            bodies.append({"line": line, "body": body})
    document = {"source": CONTRACT_NOTES, "bodies": bodies}
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def upstreams(reference: Path) -> dict[str, str]:
    """File name -> its upstream repository, path and commit, from the SOURCES tables.

    The origin is a row's first cell that starts with `owner/repo`; a "same repo" cell
    is completed with the repository of the row before it.
    """
    found: dict[str, str] = {}
    for table in SOURCE_TABLES:
        text = (reference / table).read_text(encoding="utf-8")
        repository = ""
        for name, rest in _TABLE_ROW.findall(text):
            cells = (cell.strip() for cell in rest.split("|"))
            origin = next((cell for cell in cells if _ORIGIN.match(cell)), "")
            if origin.startswith("same repo"):
                origin = repository + origin.removeprefix("same repo")
            else:
                repository = origin.split(" ", 1)[0]
            if origin:
                found.setdefault(name, origin)
    return found


def write_all(wanted: dict[str, bytes], origins: dict[str, str]) -> None:
    for stale in sorted(managed_files()):
        if stale.relative_to(DATA).as_posix() not in wanted:
            stale.unlink()
    for relative, content in wanted.items():
        target = DATA / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    entries = manifest_entries(wanted, origins)
    MANIFEST.write_text(
        json.dumps([entry.__dict__ for entry in entries], indent=1) + "\n", encoding="utf-8"
    )
    README.write_text(readme(entries), encoding="utf-8")


def managed_files() -> list[Path]:
    """The files this script owns: the folders it copies into (`captured/` is the tests' own)."""
    return [path for top in MANAGED for path in (DATA / top).rglob("*") if path.is_file()]


def manifest_entries(wanted: dict[str, bytes], origins: dict[str, str]) -> list[Entry]:
    entries = []
    for relative, content in sorted(wanted.items()):
        name = relative.rsplit("/", 1)[-1]
        if relative == ERROR_BODIES:
            origin = f"derived: the JSON error bodies quoted in {CONTRACT_NOTES}"
        else:
            origin = origins.get(name) or ISSUE_QUOTES
        digest = hashlib.sha256(content).hexdigest()
        entries.append(Entry(relative, origin.strip(), digest, len(content)))
    return entries


def readme(entries: list[Entry]) -> str:
    rows = "\n".join(f"| `{e.path}` | {e.upstream} | {e.size:,} | `{e.sha256}` |" for e in entries)
    return f"""# Test data

The files the tests read, vendored so that a fresh clone runs `make test` with nothing
beside it. Written by `scripts/refresh_test_data.py` (`make refresh-test-data REF=<folder>`)
from the team's reference copies; never edit them by hand. `manifest.json` holds the same
list, and `tests/unit/test_test_data.py` checks every hash on every run. `captured/` is not
written by the script: it holds requests captured from frameworks by the tests' authors, each
folder with its own README naming the framework and version.

Public recordings (`real-traffic/`) are as their upstream repositories published them,
with Azure host names and credential header values already replaced by `REDACTED` in the
reference copy. The official OpenAPI documents (`contracts-ref/`) are byte-for-byte copies
of the published Azure documents.

| file | where it came from | bytes | sha256 |
|---|---|---|---|
{rows}
"""


def report_drift(wanted: dict[str, bytes]) -> int:
    drift = []
    for relative, content in sorted(wanted.items()):
        target = DATA / relative
        if not target.is_file() or target.read_bytes() != content:
            drift.append(relative)
    for line in drift:
        print(f"differs: tests/data/{line}")
    print(f"{len(drift)} of {len(wanted)} files differ from the reference")
    return 1 if drift else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
