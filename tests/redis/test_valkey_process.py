"""The suite's own valkey-server starter: a port taken between `free_port` finding it and
valkey binding it (another process on the machine) costs a retry, not a failed test."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis.server import PortTakenError, ValkeyProcess


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_first_start_moves_off_a_taken_port(tmp_path: Path, taken_port: int) -> None:
    server = ValkeyProcess(tmp_path)
    server.port = taken_port
    try:
        server.start()
        assert server.port != taken_port
        assert server.client().ping()
    finally:
        server.kill()


def test_a_cluster_node_moves_off_a_taken_bus_port(tmp_path: Path, taken_port: int) -> None:
    server = ValkeyProcess(tmp_path, cluster=True)
    server.bus = taken_port
    try:
        server.start()
        assert server.bus != taken_port
        assert server.client().ping()
    finally:
        server.kill()


def test_a_restart_keeps_its_port_and_says_it_was_taken(tmp_path: Path) -> None:
    server = ValkeyProcess(tmp_path)
    server.start()
    port = server.port
    server.kill()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        with pytest.raises(PortTakenError):
            server.start()  # its clients know this port: it is not changed
    assert server.port == port
    server.kill()
