"""Recording when things go wrong: a cut stream, an unreachable upstream, many requests at
once, a recorder killed mid-write, and fixture files of another version."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import random
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from mockserver.cli.main import main
from mockserver.recordings.fixtures import (
    INTERACTION_FILE,
    FixtureError,
    Interaction,
    cassette_files,
    read_fixture_file,
)
from mockserver.support.json_files import MAX_JSON_FILE_BYTES
from mockserver.testing.server import MockServer
from tests.replay.helpers import (
    CASSETTE,
    closed_port,
    error_code,
    interactions,
    journal,
    post,
    recorded_bytes,
    recorder,
    replayer,
)
from tests.support import rawhttp
from tests.support.chat import API_KEY, DEPLOYMENT, chat_path, user
from tests.support.clients import async_azure_client, azure_client
from tests.support.sockets import exchange

REPO = Path(__file__).resolve().parents[2]
CUT_BODY: dict[str, Any] = {"messages": user("Stream this until the line drops."), "stream": True}


# --- a stream the upstream cuts -----------------------------------------------------------


def test_a_cut_stream_is_relayed_recorded_as_cut_and_replayed_cut(
    upstream: MockServer, tmp_path: Path
) -> None:
    upstream.stub(answer={"fault": "cut-stream"})
    with recorder(upstream, tmp_path) as recording:
        seen = exchange(recording, CUT_BODY)
    assert seen.status == 200
    assert not seen.complete, "the client must see the connection cut, not an ending"
    assert seen.body.startswith(b"data: {")
    assert b"[DONE]" not in seen.body

    [interaction] = interactions(tmp_path)
    response = interaction.response
    assert response.cut is True
    assert response.frames, "the frames received before the cut are kept"
    assert all(frame.data.startswith("data: {") for frame in response.frames)
    assert recorded_bytes(response) == seen.body

    with replayer(tmp_path) as replaying:
        replayed = exchange(replaying, CUT_BODY)
        [entry] = journal(replaying, 1)
    assert entry.source == f"fixture:{CASSETTE}#0"
    assert replayed.status == 200
    assert not replayed.complete, "the replay must cut the connection where the upstream did"
    assert replayed.body == seen.body


def test_the_sdk_sees_the_cut_while_recording_and_in_replay(
    upstream: MockServer, tmp_path: Path
) -> None:
    upstream.stub(answer={"fault": "cut-stream"})

    def chunks_until_the_cut(server: MockServer) -> list[str]:
        received: list[str] = []
        with azure_client(server) as client, pytest.raises(openai.APIConnectionError):
            for chunk in client.chat.completions.create(model=DEPLOYMENT, **CUT_BODY):
                received.append(chunk.model_dump_json())
        return received

    with recorder(upstream, tmp_path) as recording:
        while_recording = chunks_until_the_cut(recording)
    with replayer(tmp_path) as replaying:
        in_replay = chunks_until_the_cut(replaying)
    [interaction] = interactions(tmp_path)
    assert interaction.response.cut is True
    assert interaction.response.frames is not None
    assert len(while_recording) == len(interaction.response.frames) > 0
    assert in_replay == while_recording


# --- an upstream nobody answers -----------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_unreachable_upstream_is_a_502_and_nothing_is_recorded(
    stream: bool, tmp_path: Path
) -> None:
    nowhere = f"http://127.0.0.1:{closed_port()}"
    body: dict[str, Any] = {"messages": user("Is anybody there?"), "stream": stream}
    with MockServer(fixtures_dir=tmp_path, record_mode="all", upstream=nowhere) as recording:
        response = post(recording, body)
        with azure_client(recording) as client, pytest.raises(openai.APIStatusError) as raised:
            client.chat.completions.create(model=DEPLOYMENT, **body)
        entries = journal(recording, 2)
    assert response.status == 502
    assert error_code(response) == "UpstreamUnavailable"
    assert nowhere in response.json()["error"]["message"]
    assert raised.value.status_code == 502
    assert raised.value.code == "UpstreamUnavailable"
    assert [entry.status for entry in entries] == [502, 502]
    assert list(tmp_path.iterdir()) == [], "a request that never got an answer is not recorded"


# --- many at once -------------------------------------------------------------------------


async def _ask(client: openai.AsyncAzureOpenAI, number: int) -> tuple[str, bytes]:
    prompt = f"Concurrent question number {number}: what is {number} squared?"
    completions = client.chat.completions
    if number % 3 == 0:
        async with completions.with_streaming_response.create(
            model=DEPLOYMENT, messages=user(prompt), stream=True
        ) as streamed:
            return prompt, b"".join([piece async for piece in streamed.iter_bytes()])
    raw = await completions.with_raw_response.create(model=DEPLOYMENT, messages=user(prompt))
    return prompt, raw.http_response.content


async def test_thirty_parallel_recordings_are_all_kept(
    upstream: MockServer, tmp_path: Path
) -> None:
    with recorder(upstream, tmp_path) as recording:
        async with async_azure_client(recording) as client:
            received = dict(await asyncio.gather(*(_ask(client, n) for n in range(30))))
    assert len(received) == 30

    recorded = interactions(tmp_path)
    assert len(recorded) == 30
    by_prompt = {i.request.body["messages"][0]["content"]: i for i in recorded}
    assert set(by_prompt) == set(received)
    for prompt, data in received.items():
        assert recorded_bytes(by_prompt[prompt].response) == data, prompt
    assert [p.name for p in tmp_path.iterdir()] == [CASSETTE]
    names = sorted(p.name for p in (tmp_path / CASSETTE).iterdir())
    assert names == [f"{n:08d}.json" for n in range(30)], "one file each, no temporary left"

    with replayer(tmp_path) as replaying:
        async with async_azure_client(replaying) as client:
            replayed = dict(await asyncio.gather(*(_ask(client, n) for n in range(30))))
        sources = {entry.source for entry in journal(replaying, 30)}
    assert replayed == received
    assert sources == {f"fixture:{CASSETTE}#{n}" for n in range(30)}


# --- two recording processes on one cassette -----------------------------------------------


def test_two_recording_processes_on_one_cassette_lose_nothing(
    upstream: MockServer, tmp_path: Path
) -> None:
    """`--workers 2`: two processes, each with its own count of the cassette's files."""
    process = _serve(tmp_path / "fixtures", upstream, tmp_path / "server.log", "--workers", "2")
    try:
        url = _address(process, "workers") + chat_path()
        prompts = [f"Worker question {n}." for n in range(40)]
        answers: dict[str, int] = {}

        def ask(prompt: str) -> None:
            body = {"messages": user(prompt), "stream": prompt.endswith("5.")}
            answers[prompt] = rawhttp.request(url, body=body, headers={"api-key": API_KEY}).status

        askers = [threading.Thread(target=ask, args=(prompt,)) for prompt in prompts]
        for asker in askers:
            asker.start()
        for asker in askers:
            asker.join(timeout=60)
    finally:
        _stop(process)
    assert answers == dict.fromkeys(prompts, 200)
    recorded = interactions(tmp_path / "fixtures")
    assert sorted(i.request.body["messages"][0]["content"] for i in recorded) == sorted(prompts)


# --- a recorder killed while it writes ----------------------------------------------------

LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
TEMPORARY = re.compile(r"^\..+\.tmp$")


def _clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}


def _first_line(process: subprocess.Popen[str], timeout: float = 60.0) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    ready = selector.select(timeout)
    selector.close()
    assert ready, "the recorder did not print its address"
    return process.stdout.readline()


def _serve(
    directory: Path, upstream: MockServer, log_path: Path, *extra: str
) -> subprocess.Popen[str]:
    """A real `mockserver serve` recording into `directory` what `upstream` answers."""
    with log_path.open("a") as log:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "mockserver", "serve", "--port", "0"),
                *("--fixtures", str(directory), "--record-mode", "all"),
                *("--upstream", upstream.url, *extra),
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=REPO,
            env=_clean_environment(),
        )


def _address(process: subprocess.Popen[str], note: str) -> str:
    match = LISTENING.search(_first_line(process))
    assert match, f"{note}: no address printed"
    return match.group(1)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=30)
    if process.stdout is not None:
        process.stdout.close()


def _count(directory: Path) -> int:
    return len(cassette_files(directory / CASSETTE))


def _hammer(url: str, stop: threading.Event, worker: int, answered: list[str]) -> None:
    """Streamed requests, one after another, until told to stop or the server is gone;
    the prompt of every answer received whole goes to `answered`."""
    number = 0
    while not stop.is_set():
        prompt = f"Worker {worker}, request {number}."
        body = {"messages": user(prompt), "stream": True}
        try:
            response = rawhttp.request(url, body=body, headers={"api-key": API_KEY}, timeout=10)
            if response.status == 200 and response.body.endswith(b"data: [DONE]\n\n"):
                answered.append(prompt)
        except (OSError, http.client.HTTPException):
            time.sleep(0.01)
        number += 1


def _check_directory(directory: Path, kept: list[Interaction], note: str) -> list[Interaction]:
    """Every interaction file is whole; anything else is a dot-named temporary."""
    assert [path.name for path in directory.iterdir()] == [CASSETTE]
    for path in (directory / CASSETTE).iterdir():
        if INTERACTION_FILE.match(path.name):
            assert len(read_fixture_file(path).interactions) == 1  # FixtureError if torn
        else:
            assert TEMPORARY.match(path.name), f"{note}: unexpected file {path.name}"
    now = interactions(directory)
    assert now[: len(kept)] == kept, f"{note}: interactions recorded before were lost"
    for interaction in now:
        assert interaction.response.status == 200
        assert interaction.response.cut is False
        frames = interaction.response.frames
        assert frames is not None
        assert frames[-1].data == "data: [DONE]\n\n", f"{note}: a stream was kept incomplete"
    return now


def test_a_killed_recorder_loses_no_answered_recording_and_tears_no_file(
    upstream: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "fixtures"
    seed = random.randrange(1 << 30)
    dice = random.Random(seed)
    kept: list[Interaction] = []
    answered: list[str] = []
    for round_number in range(2):
        note = f"round {round_number} (random seed {seed})"
        process = _serve(directory, upstream, tmp_path / "server.log")
        stop = threading.Event()
        workers: list[threading.Thread] = []
        try:
            url = _address(process, note) + chat_path()
            workers = [
                threading.Thread(target=_hammer, args=(url, stop, n, answered), daemon=True)
                for n in range(6)
            ]
            for worker in workers:
                worker.start()
            target = len(kept) + 1
            deadline = time.monotonic() + 60
            while _count(directory) < target and time.monotonic() < deadline:
                time.sleep(0.01)
            assert _count(directory) >= target, f"{note}: nothing was recorded"
            time.sleep(dice.uniform(0.0, 0.4))  # requests are in flight: kill at random
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=30) == -signal.SIGKILL
        finally:
            stop.set()
            _stop(process)
            for worker in workers:
                worker.join(timeout=30)
        kept = _check_directory(directory, kept, note)
        recorded = {i.request.body["messages"][0]["content"] for i in kept}
        lost = [prompt for prompt in answered if prompt not in recorded]
        assert not lost, f"{note}: answered whole but not recorded: {lost}"

    capsys.readouterr()
    assert main(["fixtures", "ls", str(directory)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [
        f"{CASSETTE}#{number}" for number, _ in cassette_files(directory / CASSETTE)
    ]
    assert len(lines) == len(kept)
    with replayer(directory) as replaying:
        assert len(replaying.state.recordings.tape or []) == len(kept)


# --- fixture files this version cannot read -----------------------------------------------


def _answering(response: dict[str, Any]) -> dict[str, Any]:
    """A version-1 file whose one interaction's response is `response` (status 200 unless
    it says): loaded, it would fail only when its request came."""
    request = {"method": "POST", "path": chat_path(), "body": {"messages": user("x")}}
    return {
        "version": 1,
        "interactions": [{"request": request, "response": {"status": 200, **response}}],
    }


BAD_FILES = {
    "older-version": ({"version": 0, "interactions": []}, "fixture format version 0"),
    "newer-version": ({"version": 2, "interactions": []}, "fixture format version 2"),
    "no-version": ({"interactions": []}, "fixture format version None"),
    "a-list": ([], "fixture format version None"),
    "not-json": ("{ this is not json", "not a readable JSON file"),
    "not-fixtures": ({"version": 1, "interactions": [{"request": {}}]}, "interactions.0"),
    "nested-too-deep": (
        "[" * 100_000 + "]" * 100_000,
        "not a readable JSON file (nested too deep)",
    ),
    "bad-base64": (_answering({"encoding": "base64", "body": "!!!not-b64***"}), "not valid base64"),
    "header-with-crlf": (
        _answering({"headers": {"x-a": "1\r\nSet-Cookie: b=2"}}),
        "holds a control character",
    ),
    "negative-status": (_answering({"status": -5}), "status -5 is not an HTTP status"),
}


def _write_bad(directory: Path, content: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "old.json"
    text = content if isinstance(content, str) else json.dumps(content)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("content", "expected"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_file_of_another_version_is_a_clear_fixture_error(
    content: Any, expected: str, tmp_path: Path
) -> None:
    path = _write_bad(tmp_path, content)
    with pytest.raises(FixtureError) as raised:
        read_fixture_file(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    if "version" in expected:
        assert "is not supported; this mockserver reads version 1" in message

    with pytest.raises(RuntimeError) as failed:
        MockServer(fixtures_dir=tmp_path).start()
    assert isinstance(failed.value.__cause__, FixtureError)
    assert str(failed.value.__cause__) == message


def test_serve_refuses_a_bad_fixture_file_with_exit_code_2(tmp_path: Path) -> None:
    content, expected = BAD_FILES["older-version"]
    path = _write_bad(tmp_path, content)
    served = _serve_refused("--fixtures", str(tmp_path))
    assert f"mockserver: {path}: {expected} is not supported" in served.stderr
    assert "listening" not in served.stdout


def _serve_refused(*flags: str) -> subprocess.CompletedProcess[str]:
    """`mockserver serve` with `flags`, which must refuse to start: exit code 2, no
    traceback, within the timeout (a start-up that waits on a file fails here)."""
    served = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", *flags],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=_clean_environment(),
        timeout=60,
        check=False,
    )
    assert served.returncode == 2, served.stdout + served.stderr
    assert "Traceback" not in served.stderr
    return served


def _special_file(directory: Path, kind: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "special.json"
    if kind == "fifo":
        os.mkfifo(path)  # opening it would wait for a writer forever
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")  # reading it would never end
    else:
        with path.open("wb") as sparse:  # a byte over the limit, made in no time
            sparse.truncate(MAX_JSON_FILE_BYTES + 1)
    return path


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("fifo", "not a regular file"),
        ("dev-zero", "not a regular file"),
        ("over-a-gib", "1073741825 bytes, over the 1073741824-byte limit"),
    ],
)
def test_serve_refuses_a_special_or_huge_fixture_file_at_once(
    kind: str, expected: str, tmp_path: Path
) -> None:
    path = _special_file(tmp_path, kind)
    served = _serve_refused("--fixtures", str(tmp_path))
    assert f"mockserver: {path}: not a readable JSON file ({expected})" in served.stderr


def test_serve_refuses_a_stub_file_nested_too_deep(tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    served = _serve_refused("--stubs", str(tmp_path))
    assert f"{tmp_path / 'deep.json'}: nested too deep" in served.stderr


@pytest.mark.parametrize(("content", "expected"), BAD_FILES.values(), ids=BAD_FILES.keys())
@pytest.mark.parametrize("command", ["ls", "check"])
def test_fixtures_commands_refuse_a_bad_file_with_exit_code_2(
    command: str, content: Any, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_bad(tmp_path, content)
    assert main(["fixtures", command, str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert out.startswith(f"mockserver fixtures: {path}: ")
    assert expected in out
