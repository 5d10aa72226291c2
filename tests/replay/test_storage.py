"""How recordings are stored: one file per interaction in a cassette directory, added
without touching the others, written exactly as json.dumps would write the whole, and
read beside the single-file cassettes recorded before."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mockserver.cli.main import main
from mockserver.recordings.capture import Capture
from mockserver.recordings.cassette import Cassette
from mockserver.recordings.fixtures import (
    FixtureFile,
    Frame,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    dumped,
    read_fixture_file,
    write_fixture_file,
)
from mockserver.redaction.rules import REDACTED, scrub_text
from mockserver.testing.server import MockServer
from tests.replay.helpers import CASSETTE, interactions, journal, post, recorder, replayer
from tests.support.chat import user

SECRET = "sk-proj0123456789abcdefGHIJ"  # shaped like an OpenAI key: scrubbed from text


def _ask(server: MockServer, number: int) -> None:
    body = {"messages": user(f"Stored question {number}."), "stream": number % 2 == 1}
    assert post(server, body).status == 200


def _snapshot(directory: Path) -> dict[str, tuple[int, int, bytes]]:
    return {
        path.name: (path.stat().st_ino, path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted(directory.iterdir())
    }


def test_recording_one_more_adds_one_file_and_touches_no_other(
    upstream: MockServer, tmp_path: Path
) -> None:
    with recorder(upstream, tmp_path) as recording:
        for number in range(3):
            _ask(recording, number)
    cassette = tmp_path / CASSETTE
    before = _snapshot(cassette)
    assert list(before) == ["00000000.json", "00000001.json", "00000002.json"]

    with recorder(upstream, tmp_path) as recording:  # a new process counts the files once
        _ask(recording, 3)
    after = _snapshot(cassette)
    assert list(after) == [*before, "00000003.json"]
    assert {name: after[name] for name in before} == before, "no earlier file was rewritten"
    for name in after:
        [interaction] = read_fixture_file(cassette / name).interactions
        assert interaction.request.body["messages"] == user(f"Stored question {int(name[:8])}.")


def test_an_old_single_file_cassette_replays_first_and_new_recordings_go_beside_it(
    upstream: MockServer, tmp_path: Path
) -> None:
    with recorder(upstream, tmp_path / "then") as recording:
        _ask(recording, 0)
    old = tmp_path / "now" / "recordings.json"
    write_fixture_file(old, FixtureFile(interactions=interactions(tmp_path / "then")))
    old_bytes = old.read_bytes()

    with recorder(upstream, old.parent, mode="once") as once:
        assert post(once, {"messages": user("Never recorded.")}).status == 404
    assert not (old.parent / CASSETTE).exists(), "the old file is the cassette: once is done"
    with recorder(upstream, old.parent, mode="new_episodes") as recording:
        _ask(recording, 0)
        _ask(recording, 1)
        sources = [entry.source for entry in journal(recording, 2)]
    assert sources == ["fixture:recordings.json#0", "upstream"]
    assert old.read_bytes() == old_bytes, "a single-file cassette is never written to"
    assert [path.name for path in (old.parent / CASSETTE).iterdir()] == ["00000000.json"]

    with replayer(old.parent) as replaying:
        _ask(replaying, 0)
        _ask(replaying, 1)
        sources = [entry.source for entry in journal(replaying, 2)]
    assert sources == ["fixture:recordings.json#0", f"fixture:{CASSETTE}#0"]


def test_temporaries_and_other_files_in_a_cassette_are_not_read(
    upstream: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with recorder(upstream, tmp_path) as recording:
        _ask(recording, 0)
    cassette = tmp_path / CASSETTE
    (cassette / ".00000001.json.abc.tmp").write_text('{"version": 1, "interac')  # torn
    (cassette / "notes.txt").write_text("recorded against the staging resource")
    with replayer(tmp_path) as replaying:
        _ask(replaying, 0)
        assert [entry.source for entry in journal(replaying, 1)] == [f"fixture:{CASSETTE}#0"]
    capsys.readouterr()
    assert main(["fixtures", "ls", str(tmp_path)]) == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == [
        f"{CASSETTE}#0"
    ]


def test_temporaries_of_a_killed_recorder_are_removed_and_live_ones_kept(
    upstream: MockServer, tmp_path: Path
) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # a process that has ended
    assert dead.wait(timeout=30) == 0
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())
    cassette = tmp_path / CASSETTE
    cassette.mkdir()
    left = cassette / f".{host}.{dead.pid}.abcd1234.json.tmp"  # what a kill -9 leaves
    writing = cassette / f".{host}.{os.getpid()}.efgh5678.json.tmp"  # a live writer's
    foreign = cassette / f".other-machine.{dead.pid}.ijkl9012.json.tmp"  # not ours to judge
    for path in (left, writing, foreign):
        path.write_text('{"version": 1, "interac')
    with recorder(upstream, tmp_path) as recording:
        _ask(recording, 0)
    assert sorted(path.name for path in cassette.iterdir()) == sorted(
        ["00000000.json", writing.name, foreign.name]
    )


# --- the writer: pieces in, the same file out --------------------------------------------

# The secret straddles the writer's 64 KiB reads; the pieces cut characters in two.
LONG_TEXT = ("é" * 32_760 + f'"{SECRET}" and \\ "quotes"\n' + "x" * 30_000).encode()
CASES: dict[str, tuple[bool, list[bytes]]] = {
    "text body": (False, [LONG_TEXT[i : i + 1000] for i in range(0, len(LONG_TEXT), 1000)]),
    "bytes body": (False, [b"\xff\xfe\x00 not utf-8 ", b"\x80" * 70_000]),
    "text stream": (True, [b'data: {"a": "\xc3', b'\xa9"}\n', b"\ndata: [DONE]\n\n"]),
    "bytes stream": (True, [b"data: \xff\n\n", b"data: [DONE]\n\n"]),
    "empty stream": (True, []),
}


def _expected(streamed: bool, data: bytes) -> RecordedResponse:
    """The answer as one model, built the slow way, to compare the writer with."""
    encoding: Any = "utf-8"
    try:
        data.decode()
    except UnicodeDecodeError:
        encoding = "base64"
    response = RecordedResponse(status=200, encoding=encoding)
    if not streamed:
        text = scrub_text(data.decode()) if encoding == "utf-8" else _b64(data)
        return response.model_copy(update={"body": text})
    events = [event + b"\n\n" for event in data.split(b"\n\n")[:-1]]
    frames = [
        Frame(offset_ms=7.0, data=event.decode() if encoding == "utf-8" else _b64(event))
        for event in events
    ]
    return response.model_copy(update={"frames": frames})


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize(("streamed", "pieces"), CASES.values(), ids=CASES.keys())
def test_an_interaction_file_is_what_json_dumps_writes(
    streamed: bool, pieces: list[bytes], tmp_path: Path
) -> None:
    capture = Capture(limit=1 << 20, streamed=streamed)
    for piece in pieces:
        capture.add(piece, offset_ms=7.0)
    capture.finish(offset_ms=7.0)
    expected = Interaction(
        request=RecordedRequest(method="POST", path="/openai/v1/chat/completions"),
        response=_expected(streamed, b"".join(pieces)),
        recorded_at="2026-12-04T00:00:00+00:00",
    )
    head = expected.model_copy(
        update={"response": RecordedResponse(status=200, encoding=expected.response.encoding)}
    )
    written = Cassette(tmp_path).add(head, capture, scrub_text)
    capture.close()

    whole = json.dumps(dumped(FixtureFile(interactions=[expected])), indent=2, ensure_ascii=False)
    assert written.read_text(encoding="utf-8") == whole + "\n"
    assert read_fixture_file(written).interactions == [expected]
    assert SECRET not in written.read_text(encoding="utf-8")
    assert os.listdir(tmp_path) == ["00000000.json"]
    if not streamed and expected.response.encoding == "utf-8":
        assert f'\\"{REDACTED}\\"' in written.read_text(encoding="utf-8")
