"""The journal's bounds: it never holds an answer back, never breaks its own reader,
keeps what it counts, and keeps no secrets."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import openai
import pytest

from mockserver.testing.server import MockServer
from tests.support import rawhttp
from tests.support.chat import API_KEY, API_VERSION, DEPLOYMENT
from tests.support.cli import running

ANSWER_WAIT_SECONDS = 30.0  # a bound against hangs, not a performance threshold
CHAT = f"/openai/deployments/{DEPLOYMENT}/chat/completions"
SK_KEY = "sk-proj-4f8A9b2C7d1E6f3G0h5J"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBhcnQ"
# Made up in the shape of the 84-character keys Azure issues for AI services.
ANNOTATED_KEY = "Zq8d" * 13 + "JQQJ99BACYeBjFXJ3w3AAAAACOGk3x9Q"


@pytest.fixture(scope="module")
def keyed() -> Iterator[MockServer]:
    with MockServer(api_keys=[API_KEY]) as server:
        yield server


def _first_bytes(server: MockServer, head: str) -> bytes:
    """Sends `head` and one byte of a 100-byte body, keeps the connection open, and returns
    what comes back (b"" if nothing did within the bound)."""
    port = urlsplit(server.url).port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), 10) as sock:
        sock.sendall(head.encode() + b"Content-Length: 100\r\n\r\n{")
        sock.settimeout(ANSWER_WAIT_SECONDS)
        try:
            return sock.recv(4096)
        except TimeoutError:
            return b""


@pytest.mark.parametrize(
    ("query", "headers", "status"),
    [
        (f"api-version={API_VERSION}", "", 401),  # no key
        ("api-version=1999", f"api-key: {API_KEY}\r\n", 400),
    ],
    ids=["no-key", "bad-api-version"],
)
def test_a_refused_request_is_answered_before_its_body_arrives(
    keyed: MockServer, query: str, headers: str, status: int
) -> None:
    keyed.reset()
    head = f"POST {CHAT}?{query} HTTP/1.1\r\nHost: x\r\n{headers}"
    head += "Content-Type: application/json\r\n"
    answer = _first_bytes(keyed, head)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:80]
    [entry] = keyed.requests
    assert (entry.status, entry.body, entry.body_size) == (status, None, None)


def test_a_body_nested_deeper_than_json_output_allows_is_kept_as_text(keyed: MockServer) -> None:
    keyed.reset()
    deep = "[" * 300 + "]" * 300
    raw = ('{"messages":[{"role":"user","content":"hi"}],"metadata":' + deep + "}").encode()
    answer = rawhttp.request(
        keyed.url + CHAT + f"?api-version={API_VERSION}", body=raw, headers={"api-key": API_KEY}
    )
    assert answer.status == 400
    listed = rawhttp.request(keyed.url + "/__admin/requests", "GET")
    assert listed.status == 200, listed.body[:200]
    [entry] = listed.json()["requests"]
    assert (entry["body"], entry["body_text"], entry["body_size"]) == (None, raw.decode(), len(raw))


def test_secrets_in_the_body_and_the_path_are_masked_and_the_rest_kept(keyed: MockServer) -> None:
    keyed.reset()
    body = {
        "messages": [
            {"role": "user", "content": f"my key is {SK_KEY} and token {JWT}"},
            {"role": "user", "content": f"the other key: {ANNOTATED_KEY}."},
        ],
        "user": "end-user-7",
        "metadata": {"team": "blue"},
        "store": True,  # metadata needs it
    }
    url = keyed.url + CHAT + f"?api-version={API_VERSION}"
    assert rawhttp.request(url, body=body, headers={"api-key": API_KEY}).status == 200
    text_url = keyed.url + CHAT + f"?api-version={API_VERSION}"
    rawhttp.request(text_url, body=f"not json {SK_KEY}".encode(), headers={"api-key": API_KEY})
    path_url = (
        keyed.url + f"/openai/deployments/{SK_KEY}/chat/completions?api-version={API_VERSION}"
    )
    assert rawhttp.request(path_url, body=body, headers={"api-key": API_KEY}).status == 404
    listed = rawhttp.request(keyed.url + "/__admin/requests", "GET")
    assert SK_KEY.encode() not in listed.body and JWT.encode() not in listed.body
    assert ANNOTATED_KEY.encode() not in listed.body
    chat, text, by_path = listed.json()["requests"]
    assert chat["body"]["messages"][0]["content"] == "my key is *** and token ***"
    assert chat["body"]["messages"][1]["content"] == "the other key: ***."
    assert (chat["body"]["user"], chat["body"]["metadata"]) == ("end-user-7", {"team": "blue"})
    assert text["body_text"] == "not json ***"
    assert by_path["path"] == "/openai/deployments/***/chat/completions"


@pytest.mark.parametrize("secret", [SK_KEY, ANNOTATED_KEY], ids=["sk", "annotated"])
@pytest.mark.parametrize("fast_lane", [True, False], ids=["lane", "aiohttp"])
def test_an_error_echoing_a_secret_is_journaled_as_the_client_got_it(
    fast_lane: bool, secret: str
) -> None:
    """Azure's 400 quotes a rejected value; the client gets a key it put there masked, and
    the journal's copy of that answer is the same masked one."""
    body = {"messages": [{"role": "user", "content": "hi"}], "service_tier": secret}
    with MockServer(api_keys=[API_KEY], fast_lane=fast_lane) as server:
        url = server.url + CHAT + f"?api-version={API_VERSION}"
        answer = rawhttp.request(url, body=body, headers={"api-key": API_KEY})
        client = server.openai_client(api_key=API_KEY, max_retries=0)
        with client, pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(
                model=DEPLOYMENT,
                messages=[{"role": "user", "content": "hi"}],
                extra_body={"service_tier": secret},
            )
        listed = rawhttp.request(server.url + "/__admin/requests", "GET")
    assert answer.status == 400 and "'***'" in answer.json()["error"]["message"]
    assert secret not in str(refused.value.body)
    assert secret.encode() not in listed.body
    journaled = [entry["response_body"] for entry in listed.json()["requests"]]
    assert journaled == [answer.json(), answer.json()]


def _rss_megabytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match.group(1)) // 1024


def test_the_journal_keeps_bodies_as_bytes_not_as_parsed_objects() -> None:
    # 1 MB of `[{},...]` is ~25 MB as Python dicts: 40 of them kept parsed pass 1 GB,
    # kept as received they are 40 MB, well under the journal's 64 MiB.
    body = ("[" + ",".join(["{}"] * 340_000) + "]").encode()
    with running() as cli:
        for _ in range(40):
            url = cli.url + CHAT + f"?api-version={API_VERSION}"
            answer = rawhttp.request(url, body=body, headers={"api-key": API_KEY})
            assert answer.status == 400
        rss = _rss_megabytes(cli.process.pid)
        listed = rawhttp.request(cli.url + "/__admin/requests?limit=1", "GET")
    assert rss < 600, f"{rss} MB resident after 40 bodies of {len(body)} bytes"
    assert json.loads(listed.body)["requests"][0]["body"] == [{}] * 340_000
