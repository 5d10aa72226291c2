"""An upstream that answers every request with the same raw bytes: what no HTTP server
library would send (a status of 999, a control character in a header), written to the
socket as they are. One thread, loopback only, each connection read and closed in turn."""

from __future__ import annotations

import socket
import threading
from types import TracebackType

READ_TIMEOUT_SECONDS = 10.0


class RawUpstream:
    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)  # the loop looks for the end this often
        self.port = self.listener.getsockname()[1]
        self.answered = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="raw-upstream", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RawUpstream:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._thread.join(READ_TIMEOUT_SECONDS)
        self.listener.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(READ_TIMEOUT_SECONDS)
                _read_request(connection)
                connection.sendall(self.answer)
                self.answered += 1


def _read_request(connection: socket.socket) -> None:
    """The headers, then as many body bytes as Content-Length says (the recorder sends one)."""
    received = b""
    while b"\r\n\r\n" not in received:
        piece = connection.recv(65536)
        if not piece:
            return
        received += piece
    head, _, body = received.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        piece = connection.recv(65536)
        if not piece:
            return
        body += piece
