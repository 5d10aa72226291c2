"""`python -m mockserver serve` as a real process: ready line, signals, configuration layers."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from mockserver.cli import main as cli_module
from mockserver.testing.server import MockServer
from tests.http.helpers import BODY, DEPLOYMENT_NOT_FOUND, INVALID_KEY
from tests.support import rawhttp
from tests.support.cli import run_to_exit, running
from tests.support.rawhttp import post_chat
from tests.support.waiting import WAIT_SECONDS


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_answers_health_and_stops_cleanly_on_signal(sig: signal.Signals) -> None:
    with running() as cli:
        assert cli.port > 0
        health = rawhttp.request(cli.url + "/__admin/health", "GET")
        assert health.status == 200
        assert health.json()["status"] == "ok"
        assert cli.chat().status == 200
        assert cli.stop(sig) == 0
    assert "mockserver stopped" in cli.stdout.seen
    assert not [line for line in cli.stderr.seen if "Traceback" in line]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_right_after_the_ready_line_still_stops_cleanly(sig: signal.Signals) -> None:
    # Once "listening" is printed a supervisor may stop the server at any moment; the
    # signal handlers must already be in place. A few tries make the race visible.
    for _ in range(4):
        with running() as cli:
            assert cli.stop(sig) == 0
        assert "mockserver stopped" in cli.stdout.seen


def test_requests_sent_the_moment_the_server_is_ready_are_answered_in_full() -> None:
    # The tokenizer and word lists load on a thread after the ready line: a request that
    # arrives first waits for them, and gets the same answer as one sent once warm.
    with running("--deterministic-ids") as cli:
        early = [cli.chat() for _ in range(3)]
        for _ in range(300):
            if rawhttp.request(cli.url + "/__admin/health", "GET").json()["warm"]:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the warm-up did not finish in 30 s")
        warm = cli.chat()
        assert cli.stop() == 0
    assert warm.status == 200
    for answer in early:
        assert answer.status == 200, answer.body
        assert answer.json() == warm.json()
    assert not [line for line in cli.stderr.seen if "Traceback" in line]


def test_toml_config_file(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text(
        'region = "West Europe"\napi_keys = ["file-key"]\n\n'
        '[deployments]\n"my-o3" = {model = "o3-mini"}\n'
    )
    with running("--config", str(config)) as cli:
        ok = cli.chat("my-o3", key="file-key")
        default_gone = cli.chat("o3-mini", key="file-key")
        bad_key = cli.chat("my-o3", key="other-key")
        cli.stop()
    assert ok.status == 200
    assert ok.headers["x-ms-region"] == "West Europe"
    assert ok.headers["x-ms-deployment-name"] == "my-o3"
    assert default_gone.status == 404
    assert default_gone.body == DEPLOYMENT_NOT_FOUND
    assert bad_key.status == 401
    assert bad_key.body == INVALID_KEY


def test_environment_variables() -> None:
    env = {
        "MOCKSERVER_REGION": "Sweden Central",
        "MOCKSERVER_API_KEYS": "key-a,key-b",
        "MOCKSERVER_DEPLOYMENTS": "dep-1=o3-mini,dep-2=o3-mini",
    }
    with running(env=env) as cli:
        responses = {
            "dep-1": cli.chat("dep-1", key="key-a"),
            "dep-2": cli.chat("dep-2", key="key-b"),
            "o3-mini": cli.chat("o3-mini", key="key-a"),
            "bad-key": cli.chat("dep-1", key="key-c"),
        }
        cli.stop()
    assert responses["dep-1"].status == 200
    assert responses["dep-1"].headers["x-ms-region"] == "Sweden Central"
    assert responses["dep-2"].status == 200
    assert responses["dep-2"].headers["x-ms-deployment-name"] == "dep-2"
    assert responses["o3-mini"].status == 404
    assert responses["bad-key"].status == 401


def test_flags_override_file_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text('region = "File Region"\napi_keys = ["file-key"]\n')
    env = {
        "MOCKSERVER_REGION": "Env Region",
        "MOCKSERVER_API_KEYS": "env-key",
        "MOCKSERVER_DEPLOYMENTS": "env-dep=o3-mini",
    }
    flags = ["--config", str(config), "--region", "Flag Region", "--api-key", "flag-key"]
    flags += ["--deployment", "flag-dep=o3-mini", "--deployment", "other=o3-mini"]
    with running(*flags, env=env) as cli:
        ok = cli.chat("flag-dep", key="flag-key")
        other = cli.chat("other", key="flag-key")
        env_key = cli.chat("flag-dep", key="env-key")
        file_key = cli.chat("flag-dep", key="file-key")
        env_dep = cli.chat("env-dep", key="flag-key")
        cli.stop()
    assert ok.status == 200
    assert ok.headers["x-ms-region"] == "Flag Region"
    assert other.status == 200
    assert env_key.status == 401
    assert file_key.status == 401
    assert env_dep.status == 404


@pytest.fixture(scope="module")
def content_by_seed() -> dict[int, str]:
    """The answer to BODY from an embedded server with each seed."""
    contents = {}
    for seed in (1, 2):
        with MockServer(seed=seed) as server:
            contents[seed] = post_chat(server, BODY).json()["choices"][0]["message"]["content"]
    assert contents[1] != contents[2]
    return contents


@pytest.mark.parametrize(
    ("env", "flags", "seed"),
    [({"MOCKSERVER_SEED": "1"}, [], 1), ({"MOCKSERVER_SEED": "1"}, ["--seed", "2"], 2)],
)
def test_seed_from_environment_and_flag(
    content_by_seed: dict[int, str], env: dict[str, str], flags: list[str], seed: int
) -> None:
    with running(*flags, env=env) as cli:
        content = cli.chat().json()["choices"][0]["message"]["content"]
        cli.stop()
    assert content == content_by_seed[seed]


def test_deterministic_ids_flag() -> None:
    with running("--deterministic-ids") as cli:
        first, second = cli.chat().json(), cli.chat().json()
        cli.stop()
    assert first["id"] == second["id"]
    assert first["created"] == second["created"]


def test_ids_differ_without_the_flag() -> None:
    with running() as cli:
        first, second = cli.chat().json(), cli.chat().json()
        cli.stop()
    assert first["id"] != second["id"]


INVALID: list[tuple[list[str], dict[str, str], str]] = [
    (["--deployment", "no-equals-sign"], {}, ""),
    (["--deployment", "x=no-such-model"], {}, ""),
    ([], {"MOCKSERVER_DEPLOYMENTS": "broken"}, ""),
    ([], {"MOCKSERVER_SEED": "abc"}, ""),
    (["--port", "70000"], {}, ""),
    (["--config"], {}, 'unknown_key = "x"\n'),
    (["--config"], {}, "region = \n"),
    (["--config"], {}, '[deployments]\n"d" = {model = "o3-mini", colour = "blue"}\n'),
]


@pytest.mark.parametrize(("flags", "env", "toml"), INVALID)
def test_invalid_configuration_exits_2_with_a_message(
    tmp_path: Path, flags: list[str], env: dict[str, str], toml: str
) -> None:
    if flags == ["--config"]:
        config = tmp_path / "bad.toml"
        config.write_text(toml)
        flags = [*flags, str(config)]
    result = run_to_exit(*flags, env=env)
    assert result.returncode == 2
    assert "invalid configuration" in result.stderr
    assert "Traceback" not in result.stderr
    assert "listening" not in result.stdout


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = run_to_exit("--config", str(tmp_path / "absent.toml"))
    assert result.returncode == 2
    assert "absent.toml" in result.stderr
    assert "Traceback" not in result.stderr


# --- the event loop is chosen before the server runs -----------------------------------


def test_an_error_raised_in_the_server_is_not_chained_to_an_import_error() -> None:
    # The loop used to be picked inside `except ImportError` (uvloop missing), so every
    # exception of the running server carried that ModuleNotFoundError as its context.
    async def failing() -> None:
        raise RuntimeError("a failure of the server")

    with pytest.raises(RuntimeError) as caught:
        cli_module.run(failing())
    assert caught.value.__context__ is None


def _children(pid: int) -> list[int]:
    """The processes `pid` started (Linux's /proc: one file per thread lists its children)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


def test_workers_stop_when_the_first_process_is_killed() -> None:
    """kill -9 of the first process leaves no worker serving on the shared port."""
    with running("--workers", "2") as cli:
        deadline = time.monotonic() + 10  # a hang guard, not a threshold
        while not (workers := [p for p in _children(cli.process.pid) if _alive(p)]):
            assert time.monotonic() < deadline, "the worker never started"
            time.sleep(0.05)
        cli.process.kill()
        cli.process.wait(WAIT_SECONDS)
        try:
            while any(_alive(worker) for worker in workers):
                assert time.monotonic() < deadline + WAIT_SECONDS, "a worker outlived its parent"
                time.sleep(0.05)
        finally:  # an orphan would hold the output pipes open: end it so the test can fail
            for worker in filter(_alive, workers):
                os.kill(worker, signal.SIGKILL)
