"""Server hygiene through real sockets and the real `mockserver serve` process.

Bad HTTP gets a short Azure-shaped 400 and one log line; connections that stop halfway
through a request, or idle ones, are closed after their (configured, here small)
timeouts; SIGTERM ends requests in flight after the shutdown grace.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.cli import Cli, running

CHAT_PATH = "/openai/deployments/o3-mini/chat/completions?api-version=2025-04-01-preview"
BODY = b'{"messages":[{"role":"user","content":"hi"}]}'
MALFORMED = re.compile(r".* WARNING 400 for malformed HTTP from 127\.0\.0\.1: \w+$")
SECRET = "sk-hygiene-secret-0123456789"
BOUND = 30.0  # seconds: a bound against hangs, far above the timeouts configured here


def request_head(extra: str = "", length: int = len(BODY)) -> bytes:
    return (
        f"POST {CHAT_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\napi-key: any-key\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n{extra}\r\n"
    ).encode()


@contextmanager
def connected(port: int) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", port), timeout=BOUND) as sock:
        yield sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (fails after BOUND)."""
    received = b""
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk
    raise AssertionError(f"the server kept the connection open; received {received[:300]!r}")


def split_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), {k.lower(): v for k, v in headers.items()}, body


# --- malformed HTTP ----------------------------------------------------------------------

MALFORMED_REQUESTS = [
    b"GARBAGE\x01 /openai HTTP/1.1\r\nHost: x\r\n\r\n",  # not a method
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # TLS to the HTTP port
    b"GET /openai/deployments HTTP/1.1\r\nHost: x\r\napi-key " + SECRET.encode() + b"\r\n\r\n",
    b"GET /openai HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n",  # too long
    b"GET /openai HTTP/9.9\r\nHost: x\r\n\r\n",  # no such version
    request_head("Transfer-Encoding: chunked\r\n") + b"zz\r\n" + BODY,  # both, and bad chunk
    b"POST " + CHAT_PATH.encode() + b" HTTP/1.1\r\nContent-Length: -4\r\n\r\n",
]


def test_malformed_http_gets_an_azure_400_and_one_log_line_each() -> None:
    with running() as cli:
        answers = [send_and_read(cli, raw) for raw in MALFORMED_REQUESTS]
        assert cli.chat().status == 200  # and the server goes on answering
        assert cli.stop() == 0
    for raw, answer in zip(MALFORMED_REQUESTS, answers, strict=True):
        status, headers, body = split_response(answer)
        assert status == 400, (raw[:60], answer[:300])
        assert headers["content-type"] == "application/json"
        assert json.loads(body) == {
            "error": {"code": "BadRequest", "message": "The request could not be parsed as HTTP."}
        }
        assert "apim-request-id" in headers
        assert raw[:12] not in answer  # nothing of the request is echoed
    logged = [line for line in cli.stderr.seen if "malformed HTTP" in line]
    assert len(logged) == len(MALFORMED_REQUESTS), cli.stderr.seen
    assert all(MALFORMED.match(line) for line in logged), logged
    assert not [line for line in cli.stderr.seen if "Traceback" in line or "ERROR" in line]
    assert SECRET not in "\n".join(cli.stderr.seen)


def test_a_body_that_cannot_be_decoded_gets_an_azure_400_and_one_log_line() -> None:
    with running() as cli:
        answer = send_and_read(cli, request_head("Content-Encoding: gzip\r\n") + BODY)
        assert cli.stop() == 0
    status, _, body = split_response(answer)
    assert status == 400
    assert json.loads(body)["error"]["code"] == "BadRequest"
    logged = [line for line in cli.stderr.seen if "could not be decoded" in line]
    assert len(logged) == 1, cli.stderr.seen
    assert not [line for line in cli.stderr.seen if "Traceback" in line or "ERROR" in line]


def send_and_read(cli: Cli, raw: bytes) -> bytes:
    with connected(cli.port) as sock:
        sock.sendall(raw)
        return read_until_closed(sock)


# --- slow and idle clients -----------------------------------------------------------------


def test_a_request_whose_headers_stop_halfway_is_closed() -> None:
    env = {"MOCKSERVER_REQUEST_HEADER_TIMEOUT_SECONDS": "0.5"}
    with running(env=env) as cli, connected(cli.port) as sock:
        sock.sendall(f"POST {CHAT_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
        assert read_until_closed(sock) == b""
        assert cli.chat().status == 200  # other clients are unaffected


def test_headers_trickled_a_byte_at_a_time_are_closed_at_the_deadline() -> None:
    # Slowloris keeps each read short of any idle timeout; the deadline runs from the
    # request's first byte however often bytes arrive.
    env = {
        "MOCKSERVER_REQUEST_HEADER_TIMEOUT_SECONDS": "1",
        "MOCKSERVER_IDLE_TIMEOUT_SECONDS": "60",
    }
    trickle = request_head("X-Slow: " + "a" * 400 + "\r\n")
    with running(env=env) as cli, connected(cli.port) as sock:
        closed_after = None
        for sent in range(len(trickle)):
            try:
                sock.sendall(trickle[sent : sent + 1])
            except (BrokenPipeError, ConnectionResetError):
                closed_after = sent
                break
            time.sleep(0.05)
        assert closed_after is not None, "the whole trickled request was accepted"
        assert closed_after < len(trickle) - 1


def test_a_pipelined_request_whose_headers_stop_halfway_is_closed_at_the_deadline() -> None:
    # Two whole requests and the start of a third in one packet: the third's deadline
    # runs although the packet also completed requests.
    env = {
        "MOCKSERVER_REQUEST_HEADER_TIMEOUT_SECONDS": "0.5",
        "MOCKSERVER_IDLE_TIMEOUT_SECONDS": "120",
    }
    partial = f"POST {CHAT_PATH} HTTP/1.1\r\nHost: x\r\n".encode()
    with running(env=env) as cli, connected(cli.port) as sock:
        sock.sendall(2 * (request_head() + BODY) + partial)
        answers = read_until_closed(sock)  # BOUND (30 s) is far below the idle timeout
    assert answers.count(b"HTTP/1.1 200 OK") == 2


def test_an_idle_connection_is_closed_after_the_idle_timeout() -> None:
    with (
        running(env={"MOCKSERVER_IDLE_TIMEOUT_SECONDS": "0.5"}) as cli,
        connected(cli.port) as sock,
    ):
        assert read_until_closed(sock) == b""


def test_an_idle_keep_alive_connection_is_closed_after_its_answer() -> None:
    with (
        running(env={"MOCKSERVER_IDLE_TIMEOUT_SECONDS": "0.5"}) as cli,
        connected(cli.port) as sock,
    ):
        sock.sendall(request_head() + BODY)
        status, headers, _ = split_response(read_until_closed(sock))
    assert status == 200
    assert headers.get("connection", "keep-alive").lower() != "close"


def test_a_body_that_stops_halfway_gets_azure_408_and_the_connection_closes() -> None:
    env = {"MOCKSERVER_REQUEST_BODY_TIMEOUT_SECONDS": "0.5"}
    with running(env=env) as cli:
        with connected(cli.port) as sock:
            sock.sendall(request_head(length=len(BODY) + 100) + BODY)
            status, _, body = split_response(read_until_closed(sock))
        assert cli.chat().status == 200
        assert cli.stop() == 0
    assert status == 408
    assert json.loads(body) == {
        "error": {"code": "Timeout", "message": "The operation was timeout."}
    }
    assert not [line for line in cli.stderr.seen if "Traceback" in line or "ERROR" in line]


# --- shutdown ------------------------------------------------------------------------------


def wait_until_stopped(cli: Cli) -> int:
    """The exit status; fails if the process outlives BOUND (its grace here is 1 s)."""
    try:
        return cli.process.wait(BOUND)
    except subprocess.TimeoutExpired:
        raise AssertionError("the server did not stop after SIGTERM") from None


IN_FLIGHT = re.compile(r"^mockserver_requests_in_flight (\S+)$", re.MULTILINE)


def wait_until_in_flight(cli: Cli) -> None:
    """Polls /metrics until a request is being handled (fails after BOUND)."""
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{cli.port}/metrics", timeout=BOUND) as page:
            found = IN_FLIGHT.search(page.read().decode())
        if found and float(found.group(1)) >= 1:
            return
        time.sleep(0.02)
    raise AssertionError("the request never reached its handler")


def test_sigterm_cuts_a_hanging_request_after_the_grace() -> None:
    with running("--shutdown-grace-seconds", "1") as cli, connected(cli.port) as sock:
        sock.sendall(request_head("x-mock-fault: hang\r\n") + BODY)
        wait_until_in_flight(cli)  # SIGTERM must find the request in its handler
        cli.process.send_signal(signal.SIGTERM)
        assert wait_until_stopped(cli) == 0
        assert read_until_closed(sock) == b""  # cut, without an answer
    assert "mockserver stopped" in cli.stdout.seen


def test_sigterm_cuts_a_slow_stream_after_the_grace() -> None:
    slow = request_head(
        "x-mock-latency: tokens_per_second=2\r\n",
        length=len(stream_body := b'{"messages":[{"role":"user","content":"hi"}],"stream":true}'),
    )
    with running("--shutdown-grace-seconds", "1") as cli, connected(cli.port) as sock:
        sock.sendall(slow + stream_body)
        assert b"200 OK" in sock.recv(65536)  # the stream has begun
        cli.process.send_signal(signal.SIGTERM)
        assert wait_until_stopped(cli) == 0
        assert b"data: [DONE]" not in read_until_closed(sock)  # cut short


def test_sigterm_lets_a_stream_in_flight_finish_within_the_grace() -> None:
    body = b'{"messages":[{"role":"user","content":"hi"}],"stream":true,"max_completion_tokens":20}'
    slow = request_head("x-mock-latency: tokens_per_second=50\r\n", length=len(body))
    with running("--shutdown-grace-seconds", "20") as cli, connected(cli.port) as sock:
        sock.sendall(slow + body)
        first = sock.recv(65536)
        assert b"200 OK" in first  # the stream has begun
        cli.process.send_signal(signal.SIGTERM)
        rest = read_until_closed(sock)
        assert wait_until_stopped(cli) == 0
    assert b"data: [DONE]" in first + rest  # the whole stream, then the connection closed
