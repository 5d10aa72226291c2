"""`tests/data/` is exactly what its manifest and README say: every file present, every hash.

A test that read a file the manifest does not list, or a hand edit of a vendored recording,
would otherwise go unnoticed until the next refresh from the reference copies.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from typing import Any

import pytest

from tests.support.testdata import DATA_DIR

REPO = DATA_DIR.parents[1]
MANAGED = ("contracts-ref", "real-traffic", "reference")  # scripts/refresh_test_data.py's


def _manifest() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((DATA_DIR / "manifest.json").read_text("utf-8"))
    return entries


def test_every_vendored_file_has_its_recorded_hash() -> None:
    entries = _manifest()
    assert entries, "the manifest lists no file"
    for entry in entries:
        content = (DATA_DIR / entry["path"]).read_bytes()
        assert hashlib.sha256(content).hexdigest() == entry["sha256"], entry["path"]
        assert len(content) == entry["size"], entry["path"]


def test_the_refreshed_folders_hold_only_what_the_manifest_lists() -> None:
    on_disk = {
        path.relative_to(DATA_DIR).as_posix()
        for top in MANAGED
        for path in (DATA_DIR / top).rglob("*")
        if path.is_file()
    }
    assert on_disk == {entry["path"] for entry in _manifest()}


def test_the_readme_names_each_file_with_its_source_and_hash() -> None:
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    for entry in _manifest():
        assert f"| `{entry['path']}` | {entry['upstream']} |" in readme
        assert entry["sha256"] in readme


def test_the_folder_stays_small() -> None:
    assert sum(entry["size"] for entry in _manifest()) < 20 * 1024 * 1024


@pytest.mark.parametrize("where", ["mockserver", "tests", "bench", "scripts"])
def test_nothing_reaches_outside_the_project_for_data(where: str) -> None:
    """Only the refresh script takes a reference folder, and only as its argument."""
    tracked = subprocess.run(
        ["git", "ls-files", "--", where], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    # Spelt in parts so that this file does not match itself.
    sibling, machine_root = "../" + "shared", "/" + "work/"
    offenders = [
        name
        for name in tracked
        if name.endswith((".py", ".toml", ".cfg", ".sh"))
        and (sibling in (text := (REPO / name).read_text("utf-8")) or machine_root in text)
    ]
    assert offenders == []
