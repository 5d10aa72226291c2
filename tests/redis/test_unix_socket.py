"""A Redis on a Unix socket (`--state unix:///path/valkey.sock`): the server starts on
it and shares its state there, through redis-py's pool (the health check, admin calls)
and the pipelined line (every request's calls) alike. TCP keepalive is not an option a
Unix socket's connection takes: passing it failed the server's start."""

from __future__ import annotations

from pathlib import Path

import httpx

from mockserver import MockServer
from tests.redis.server import running_valkey
from tests.redis.test_two_servers import API_VERSION, CHAT, HELLO
from tests.support.clients import azure_client


def test_a_server_on_a_unix_socket_redis_shares_its_state(tmp_path: Path) -> None:
    socket = tmp_path / "valkey.sock"
    with (
        running_valkey("--unixsocket", str(socket)),
        MockServer(state=f"unix://{socket}") as server,
    ):
        health = httpx.get(server.url + "/__admin/health", timeout=10).json()
        assert health["store"] == "up"
        raw = httpx.post(
            server.url + CHAT,
            params={"api-version": API_VERSION},
            headers={"api-key": "k"},
            json=HELLO,
            timeout=30,
        )
        assert raw.status_code == 200
        answer = azure_client(server).chat.completions.create(
            model="o3-mini", messages=[{"role": "user", "content": "hello"}]
        )
        assert answer.choices[0].message.content
        assert [entry.status for entry in server.requests] == [200, 200]  # in Redis's journal
