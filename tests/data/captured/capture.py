"""Capture the chat requests one framework sends to a running mock.

    python tests/data/captured/capture.py FRAMEWORK http://127.0.0.1:PORT PYTHON

clears the mock's journal, runs FRAMEWORK/capture.py with the PYTHON that has the
framework installed (MOCK_URL set to the mock), and writes each journalled request as
FRAMEWORK/NN.json: method, path, query and the body exactly as the framework sent it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).parent
TIMEOUT_SECONDS = 300


def main(framework: str, url: str, python: str) -> None:
    folder = HERE / framework
    urllib.request.urlopen(urllib.request.Request(url + "/__admin/requests", method="DELETE"))
    env = {**os.environ, "MOCK_URL": url}
    run = [python, str(folder / "capture.py")]
    subprocess.run(run, env=env, check=True, timeout=TIMEOUT_SECONDS)
    with urllib.request.urlopen(url + "/__admin/requests") as answer:
        journal = sorted(json.load(answer)["requests"], key=lambda entry: entry["id"])
    for old in folder.glob("[0-9][0-9].json"):
        old.unlink()
    for number, entry in enumerate(journal, 1):
        kept = {key: entry[key] for key in ("method", "path", "query", "body")}
        text = json.dumps(kept, indent=2, ensure_ascii=False) + "\n"
        (folder / f"{number:02d}.json").write_text(text, encoding="utf-8")
    print(f"{framework}: {len(journal)} requests")


if __name__ == "__main__":
    main(*sys.argv[1:4])
