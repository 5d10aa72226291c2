"""Servers under test as child processes: spawn, wait until ready, sample RSS, stop.

Every process is started in its own session, remembered, and stopped by its own pid
(SIGTERM, then SIGKILL after a grace period); `stop_all()` runs at exit as a safety net.
Every wait here has a deadline, so nothing can hang the bench.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import selectors
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_STARTED: list[subprocess.Popen[bytes]] = []


class StartError(RuntimeError):
    """A server did not come up; the message says why (with the end of its output)."""


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    port: int = 0
    ready_seconds: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        """Resident memory of the process and its direct children, in MB."""
        return sum(_rss_kb(pid) for pid in _tree(self.pid)) / 1024

    def stop(self, grace: float = 10.0) -> None:
        _stop(self.popen, grace)

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


def spawn(
    name: str,
    argv: Sequence[str],
    log_dir: Path,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    pipe_stdout: bool = False,
) -> Proc:
    """Start `argv`; stderr (and stdout unless piped) go to `log_dir/<name>.log`."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log = log_path.open("wb")
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        popen = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipe_stdout else log,
            stderr=log,
            start_new_session=True,
        )
    except OSError as error:
        raise StartError(f"{name}: cannot execute {argv[0]}: {error}") from None
    finally:
        log.close()
    _STARTED.append(popen)
    return Proc(name, popen, log_path)


def read_line_matching(proc: Proc, pattern: str, timeout: float) -> re.Match[str]:
    """Read the piped stdout of `proc` until a line matches `pattern` (copying it to the log)."""
    assert proc.popen.stdout is not None
    stream = proc.popen.stdout
    regex = re.compile(pattern)
    deadline = time.monotonic() + timeout
    buffer = b""
    with selectors.DefaultSelector() as selector, proc.log_path.open("ab") as log:
        selector.register(stream, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise StartError(f"{proc.name}: no line matching {pattern!r} in {timeout:.0f} s")
            if not selector.select(min(left, 0.5)):
                if proc.popen.poll() is not None:
                    raise StartError(f"{proc.name}: exited with {proc.popen.returncode}")
                continue
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                raise StartError(f"{proc.name}: closed its output (exit {proc.popen.poll()})")
            log.write(chunk)
            buffer += chunk
            for line in buffer.decode(errors="replace").splitlines():
                if match := regex.search(line):
                    return match


def wait_http(
    proc: Proc,
    probe: Callable[[], bool],
    timeout: float,
    interval: float = 0.05,
) -> float:
    """Call `probe` until it returns True; the seconds it took. Fails if the process dies."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.popen.poll() is not None:
            raise StartError(f"{proc.name}: exited with {proc.popen.returncode}\n{proc.log_tail()}")
        with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
            if probe():
                return time.monotonic() - start
        time.sleep(interval)
    raise StartError(f"{proc.name}: not ready after {timeout:.0f} s\n{proc.log_tail()}")


def http(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, dict[str, str], bytes]:
    """One small request with the standard library (for probes and admin calls)."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def raise_fd_limit() -> None:
    """1,000 open streams need more descriptors than some shells allow by default."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _stop(popen: subprocess.Popen[bytes], grace: float) -> None:
    # A launcher's children may leave its process group (mock-ai-api's uvicorns do):
    # remember the whole tree now, and end whatever of it is left at the end, by pid.
    family = _tree(popen.pid)[1:] if popen.poll() is None else []
    if popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGTERM)
        try:
            popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(popen.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=5)
    # The group may still hold children of a launcher that exited first.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)
    for pid in family:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    if popen.stdout is not None:
        popen.stdout.close()
    if popen in _STARTED:
        _STARTED.remove(popen)


@atexit.register
def stop_all() -> None:
    for popen in list(_STARTED):
        _stop(popen, grace=3.0)


def _tree(pid: int) -> list[int]:
    pids: list[int] = []
    queue = [pid]
    while queue and len(pids) < 256:
        current = queue.pop()
        pids.append(current)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with contextlib.suppress(OSError):
                    text = Path(f"/proc/{current}/task/{task}/children").read_text()
                    queue.extend(int(child) for child in text.split())
    return pids


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class CpuMeter:
    """CPU used during a measurement: by the server's processes, by this bench and its
    reaped children (wrk), and by everything else on the machine (other load = noise)."""

    def __init__(self, server_pid: int | None, helper_pid: int | None = None) -> None:
        self.server_pid = server_pid
        self.helper_pid = helper_pid  # a process the server needs, e.g. its Redis
        self._start = self._snapshot()

    def _snapshot(self) -> tuple[float, float, float, float, float]:
        import resource

        tick = os.sysconf("SC_CLK_TCK")
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        values = [int(v) for v in fields]
        busy = (sum(values[:8]) - values[3] - values[4]) / tick  # all but idle and iowait
        server = sum(_cpu_seconds(pid) for pid in _tree(self.server_pid)) if self.server_pid else 0
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        bench = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
        helper = _cpu_seconds(self.helper_pid) if self.helper_pid else 0.0
        return time.monotonic(), busy, server, bench, helper

    def read(self) -> dict[str, float]:
        end = self._snapshot()
        wall = max(end[0] - self._start[0], 1e-6)
        busy, server, bench, helper = (end[i] - self._start[i] for i in (1, 2, 3, 4))
        cores = {
            "server_cores": round(server / wall, 3),
            "loadgen_cores": round(bench / wall, 2),
            "other_cores": round(max(0.0, busy - server - bench - helper) / wall, 2),
        }
        if self.helper_pid:
            cores["helper_cores"] = round(helper / wall, 3)
        return cores


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def cpu_by_process(pid: int) -> dict[int, float]:
    """CPU seconds so far of each process of the tree under `pid` (e.g. each worker)."""
    return {member: _cpu_seconds(member) for member in _tree(pid)}
