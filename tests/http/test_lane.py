"""The lane (`mockserver.http.lane`) answers as aiohttp's front does, byte for byte.

Two servers with the same settings, one with the lane and one without, are sent the same
bytes; their answers must be the same bytes once what differs on every answer anyway
(request ids, the date, the model session, quota timers, completion ids) is blanked.
Each case also says which front must have answered on the lane server: the lane, or
aiohttp's after a hand-over (logged at DEBUG).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mockserver.http.lane.connection import HANDED_OVER
from mockserver.testing.server import MockServer
from tests.replay.helpers import interactions
from tests.support.chat import API_KEY, chat_path
from tests.support.clients import azure_client
from tests.support.rawhttp import request
from tests.support.sockets import RawStream, parse_response, read_to_end

SETTINGS: dict[str, Any] = {
    "api_keys": [API_KEY],
    "deterministic_ids": True,
    "request_body_timeout_seconds": 1.0,
    "fault_hang_seconds": 0.3,
    "request_header_timeout_seconds": 1.0,
}
W1: dict[str, Any] = {
    "messages": [{"role": "user", "content": "Say hello."}],
    "reasoning_effort": "low",
}
STREAM: dict[str, Any] = {**W1, "stream": True, "stream_options": {"include_usage": True}}
# Header values that differ between any two answers.
VARYING_HEADERS = re.compile(
    rb"^(apim-request-id|x-request-id|date|azureml-model-session|x-ratelimit-reset-\w+"
    rb"|x-ratelimit-remaining-\w+): .*$",
    re.IGNORECASE | re.MULTILINE,
)
UUID = rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
VARYING_VALUES = re.compile(rb'("(?:created|created_at)": ?)\d+|' + UUID)


@dataclass
class Fronts:
    lane: MockServer
    aiohttp: MockServer


@pytest.fixture(scope="module")
def fronts() -> Iterator[Fronts]:
    with MockServer(**SETTINGS) as lane, MockServer(fast_lane=False, **SETTINGS) as plain:
        yield Fronts(lane, plain)


def post(body: Mapping[str, Any] | bytes, path: str | None = None, **headers: str) -> bytes:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    lines = [
        f"POST {path or chat_path()} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


KEYED = {"api_key": API_KEY}
CLOSE = {"connection": "close"}


def talk(server: MockServer, *sends: bytes, pause: float = 0.0) -> bytes:
    """Send each piece (pausing between them), then read until the server closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for index, piece in enumerate(sends):
            if index and pause:
                time.sleep(pause)
            sock.sendall(piece)
        return read_to_end(sock)


def blanked(answer: bytes) -> bytes:
    return VARYING_VALUES.sub(rb"\1*", VARYING_HEADERS.sub(rb"\1: *", answer))


def same_answers(
    fronts: Fronts, caplog: pytest.LogCaptureFixture, *sends: bytes, pause: float = 0.0
) -> tuple[bytes, bool]:
    """The lane server's answer (checked equal to aiohttp's), and whether it handed over."""
    with caplog.at_level(logging.DEBUG, logger="mockserver"):
        caplog.clear()
        from_lane = talk(fronts.lane, *sends, pause=pause)
        handed = any(record.getMessage().startswith(HANDED_OVER) for record in caplog.records)
    from_aiohttp = talk(fronts.aiohttp, *sends, pause=pause)
    assert blanked(from_lane) == blanked(from_aiohttp)
    return from_lane, handed


LANE_CASES = {
    "a chat completion": post(W1, **KEYED, **CLOSE),
    "the v1 route": post(
        {**W1, "model": "o3-mini"}, "/openai/v1/chat/completions", **KEYED, **CLOSE
    ),
    "a Responses request": post(
        {"model": "o3-mini", "input": "Say hello."},
        "/openai/responses?api-version=2025-04-01-preview",
        **KEYED,
        **CLOSE,
    ),
    "a stream": post(STREAM, **KEYED, **CLOSE),
    "an unknown parameter": post({**W1, "temperature_x": 1}, **KEYED, **CLOSE),
    "a wrong key": post(W1, api_key="wrong", **CLOSE),
    "no key": post(W1, **CLOSE),
    "an unknown deployment (chunked, no Content-Type)": post(
        W1, chat_path("nope"), **KEYED, **CLOSE
    ),
    "an unknown api-version": post(W1, chat_path(api_version="1999-01-01"), **KEYED, **CLOSE),
    "no api-version": post(W1, chat_path(api_version=None), **KEYED, **CLOSE),
    "a body that is not JSON": post(b"{not json", **KEYED, **CLOSE),
    "an empty body": post(b"", **KEYED, **CLOSE),
    "a bad session id": post(W1, x_mock_session="not a session", **KEYED, **CLOSE),
    "a client request id": post(W1, x_ms_client_request_id="abc-123", **KEYED, **CLOSE),
    "a 500 fault": post(W1, x_mock_fault="500", **KEYED, **CLOSE),
    "a 429 fault": post(W1, x_mock_fault="429", **KEYED, **CLOSE),
    "a reset": post(W1, x_mock_fault="reset", **KEYED, **CLOSE),
    "a hang": post(W1, x_mock_fault="hang", **KEYED, **CLOSE),
    "a garbled body": post(W1, x_mock_fault="garbage", **KEYED, **CLOSE),
    "a truncated body": post(W1, x_mock_fault="truncate", **KEYED, **CLOSE),
    "a stream cut": post(STREAM, x_mock_fault="cut-stream", **KEYED, **CLOSE),
    "a stream error": post(STREAM, x_mock_fault="stream-error", **KEYED, **CLOSE),
    "a garbled stream": post(STREAM, x_mock_fault="garbage", **KEYED, **CLOSE),
    "a latency asked for": post(
        STREAM, x_mock_latency="ttft_ms=10,tokens_per_second=2000", **KEYED, **CLOSE
    ),
    "an over-long prompt for quota": post({**W1, "max_completion_tokens": 10**7}, **KEYED, **CLOSE),
}


@pytest.mark.parametrize("sent", LANE_CASES.values(), ids=LANE_CASES.keys())
def test_the_lane_answers_as_aiohttp_does(
    fronts: Fronts, caplog: pytest.LogCaptureFixture, sent: bytes
) -> None:
    _, handed = same_answers(fronts, caplog, sent)
    assert not handed


def test_pipelined_requests_are_answered_in_order_on_one_connection(
    fronts: Fronts, caplog: pytest.LogCaptureFixture
) -> None:
    first = post({**W1, "messages": [{"role": "user", "content": "first"}]}, **KEYED)
    second = post({**W1, "bogus": 1}, **KEYED)
    third = post(STREAM, **KEYED, **CLOSE)
    answer, handed = same_answers(fronts, caplog, first + second + third)
    assert not handed
    assert answer.count(b"HTTP/1.1 ") == 3
    assert answer.index(b"200 OK") < answer.index(b"400 Bad Request") < answer.rindex(b"200 OK")


def test_answers_held_for_the_loops_turn_reach_every_connection(fronts: Fronts) -> None:
    """Twenty connections asking at once: the lane holds each whole answer until the loop
    has run the others in hand, then sends them all. Each connection gets its answer whole
    while it stays open, then its next one, in order, before it closes."""
    port = fronts.lane.port
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(20)]
    try:
        for n, sock in enumerate(sockets):
            sock.sendall(
                post({**W1, "messages": [{"role": "user", "content": f"ask {n}"}]}, **KEYED)
            )
        for sock in sockets:
            first = _one_answer(sock)
            assert first.status == 200 and first.complete
        for n, sock in enumerate(sockets):
            sock.sendall(post({**W1, "bogus": n}, **KEYED, **CLOSE))
        for sock in sockets:
            second = parse_response(read_to_end(sock))
            assert second.status == 400 and second.complete and b"bogus" in second.body
    finally:
        for sock in sockets:
            sock.close()


def test_a_client_that_half_closes_once_it_has_asked_is_answered(fronts: Fronts) -> None:
    """Its end of the stream closes the connection once what is written has gone: the
    answer held for the loop's turn is written first (a second review found it dropped)."""
    for _ in range(10):
        with socket.create_connection(("127.0.0.1", fronts.lane.port), timeout=10) as sock:
            sock.sendall(post(W1, **KEYED))
            sock.shutdown(socket.SHUT_WR)
            answer = parse_response(read_to_end(sock))
        assert answer.status == 200 and answer.complete


def _one_answer(sock: socket.socket) -> RawStream:
    """One answer with a Content-Length, read off a connection that stays open."""
    received = b""
    while b"\r\n\r\n" not in received or not parse_response(received).complete:
        piece = sock.recv(65536)
        assert piece, "the connection closed before the answer was whole"
        received += piece
    return parse_response(received)


AIOHTTP_CASES = {
    "HTTP/1.0": post(W1, **KEYED).replace(b"HTTP/1.1", b"HTTP/1.0", 1),
    "a chunked body": post(b"", **KEYED, **CLOSE).replace(
        b"Content-Length: 0", b"Transfer-Encoding: chunked"
    )
    + b"%x\r\n%b\r\n0\r\n\r\n" % (len(json.dumps(W1)), json.dumps(W1).encode()),
    "Expect: 100-continue": post(W1, expect="100-continue", **KEYED, **CLOSE),
    "a gzip body": post(W1, content_encoding="gzip", **KEYED, **CLOSE),
    "a percent-encoded path": post(
        W1, chat_path().replace("o3-mini", "o3%2Dmini"), **KEYED, **CLOSE
    ),
    "a model list": post(W1, "/openai/models?api-version=2025-04-01-preview", **CLOSE).replace(
        b"POST", b"GET", 1
    ),
    "the admin API": post(b"", "/__admin/journal", **CLOSE).replace(b"POST", b"GET", 1),
    "an unknown path": post(W1, "/nowhere", **KEYED, **CLOSE),
    "an absolute-form target": post(W1, "http://elsewhere.example" + chat_path(), **KEYED, **CLOSE),
    "bad HTTP": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    "a head cut short": b"POST / HTTP/1.1\r\nHost",
}


@pytest.mark.parametrize("sent", AIOHTTP_CASES.values(), ids=AIOHTTP_CASES.keys())
def test_what_the_lane_does_not_take_goes_to_aiohttp_unchanged(
    fronts: Fronts, caplog: pytest.LogCaptureFixture, sent: bytes
) -> None:
    _, handed = same_answers(fronts, caplog, sent + b"" if sent.endswith(b"\r\n") else sent)
    assert handed


def test_a_request_after_the_lane_answered_can_still_go_to_aiohttp(
    fronts: Fronts, caplog: pytest.LogCaptureFixture
) -> None:
    chunked = AIOHTTP_CASES["a chunked body"]
    answer, handed = same_answers(fronts, caplog, post(W1, **KEYED) + chunked)
    assert handed
    assert answer.count(b"HTTP/1.1 200 OK") == 2


def test_a_body_that_comes_in_pieces_is_waited_for(
    fronts: Fronts, caplog: pytest.LogCaptureFixture
) -> None:
    whole = post(W1, **KEYED, **CLOSE)
    answer, handed = same_answers(fronts, caplog, whole[:-20], whole[-20:], pause=0.1)
    assert not handed
    assert answer.startswith(b"HTTP/1.1 200 OK")


def test_a_body_that_stops_coming_is_a_408_and_the_connection_closes(
    fronts: Fronts, caplog: pytest.LogCaptureFixture
) -> None:
    whole = post(W1, **KEYED)
    answer, handed = same_answers(fronts, caplog, whole[:-20])
    assert not handed
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout")


def test_a_wrong_key_is_refused_before_the_body_has_come(
    fronts: Fronts, caplog: pytest.LogCaptureFixture
) -> None:
    """As on aiohttp's front: the gateway answers at once, the body still coming."""
    whole = post(W1, api_key="wrong", **CLOSE)
    with caplog.at_level(logging.DEBUG, logger="mockserver"):
        answers = [_first_answer(server, whole) for server in (fronts.lane, fronts.aiohttp)]
    assert blanked(answers[0]) == blanked(answers[1])
    assert answers[0].startswith(b"HTTP/1.1 401 ")
    assert any(record.getMessage().startswith(HANDED_OVER) for record in caplog.records)


def _first_answer(server: MockServer, sent: bytes) -> bytes:
    """The answer to all but the last 20 bytes of `sent`, read before any deadline; then
    the rest is sent (aiohttp's front reads what is left of a refused body)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(sent[:-20])
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
        head, _, body = received.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
        while len(body) < length:
            body += sock.recv(65536)
        sock.sendall(sent[-20:])
        read_to_end(sock)
        return head + b"\r\n\r\n" + body


def test_the_journal_keeps_the_same_entries_from_either_front(fronts: Fronts) -> None:
    session = {"x_mock_session": "lane-journal"}
    session_header = {"x-mock-session": "lane-journal"}
    sends = [
        post(W1, **KEYED, **session, **CLOSE),
        post({**W1, "bogus": 1}, **KEYED, **session, **CLOSE),
        post(STREAM, **KEYED, **session, **CLOSE),
        post(W1, x_mock_fault="reset", **KEYED, **session, **CLOSE),
    ]
    journals = []
    for server in (fronts.lane, fronts.aiohttp):
        for sent in sends:
            talk(server, sent)
        journal = request(server.url + "/__admin/requests", "GET", headers=session_header)
        journals.append(_entries(journal.json()))
    assert [_comparable(entry) for entry in journals[0]] == [
        _comparable(entry) for entry in journals[1]
    ]
    assert [entry["status"] for entry in journals[0]] == [200, 400, 200, 0]


def test_a_head_sent_again_is_journaled_masked_each_time(fronts: Fronts) -> None:
    # The lane hands the same parsed head to requests sent with the same bytes, and the
    # journal masks that head once: each entry is still masked, and its own.
    token = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"
    session = {"x_mock_session": "lane-heads", "x_team_token": token}
    again = post(W1, **KEYED, **session)
    answers = talk(fronts.lane, again, again, post(W1, **KEYED, **session, **CLOSE))
    assert answers.count(b"HTTP/1.1 200 OK") == 3
    journal = request(
        fronts.lane.url + "/__admin/requests", "GET", headers={"x-mock-session": "lane-heads"}
    )
    entries = _entries(journal.json())
    assert len({entry["id"] for entry in entries}) == 3
    for entry in entries:
        assert entry["headers"]["api-key"] != API_KEY and API_KEY not in json.dumps(entry)
        assert token not in json.dumps(entry)


def _entries(journal: Any) -> list[dict[str, Any]]:
    return journal["requests"] if isinstance(journal, dict) else list(journal)


def _comparable(entry: dict[str, Any]) -> bytes:
    fields = dict(entry)
    for varying in ("id", "time", "duration_ms", "engine_ms"):
        fields.pop(varying, None)
    return blanked(json.dumps(fields, sort_keys=True).encode())


@pytest.mark.parametrize("body", [W1, STREAM], ids=["whole", "stream"])
def test_recorded_and_replayed_answers_are_the_same_bytes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, body: dict[str, object]
) -> None:
    """Recording relays the upstream's answer as it comes; replay sends the recording."""
    sent = post(body, **KEYED, **CLOSE)
    recordings = tmp_path / "recorded-through-the-lane"
    with MockServer(seed=7, deterministic_ids=True) as upstream:
        recorded = [
            _once(
                caplog,
                sent,
                fast_lane=lane,
                upstream=upstream.url,
                record_mode="all",
                fixtures_dir=recordings if lane else tmp_path / "recorded-by-aiohttp",
            )
            for lane in (True, False)
        ]
    replayed = [
        _once(caplog, sent, fast_lane=lane, fixtures_dir=recordings) for lane in (True, False)
    ]
    # Relayed as the upstream's pieces came: the same head and body, in chunks cut by timing.
    heads = [answer.partition(b"\r\n\r\n")[0] for answer, _ in recorded]
    assert blanked(heads[0]) == blanked(heads[1])
    bodies = [parse_response(answer).body for answer, _ in recorded]
    assert blanked(bodies[0]) == blanked(bodies[1])
    assert blanked(replayed[0][0]) == blanked(replayed[1][0])
    assert recorded[0][0].startswith(b"HTTP/1.1 200 OK")
    assert replayed[0][0].startswith(b"HTTP/1.1 200 OK")
    assert not recorded[0][1] and not replayed[0][1]  # the lane answered


def _once(caplog: pytest.LogCaptureFixture, sent: bytes, **settings: Any) -> tuple[bytes, bool]:
    """A server's answer to `sent`, and whether it handed the connection over."""
    with (
        MockServer(api_keys=[API_KEY], **settings) as server,
        caplog.at_level(logging.DEBUG, logger="mockserver"),
    ):
        caplog.clear()
        answer = talk(server, sent)
        handed = any(record.getMessage().startswith(HANDED_OVER) for record in caplog.records)
    return answer, handed


def test_the_openai_sdk_is_answered_by_the_lane(
    fronts: Fronts, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx writes a request's head and body apart: the lane waits for the body."""
    with caplog.at_level(logging.DEBUG, logger="mockserver"), azure_client(fronts.lane) as client:
        for _ in range(3):
            completion = client.chat.completions.create(
                model="o3-mini", messages=[{"role": "user", "content": "Say hello."}]
            )
            assert completion.choices[0].message.content
        with client.chat.completions.create(
            model="o3-mini", messages=[{"role": "user", "content": "Say hello."}], stream=True
        ) as stream:
            assert any(chunk.choices and chunk.choices[0].delta.content for chunk in stream)
    assert not any(record.getMessage().startswith(HANDED_OVER) for record in caplog.records)


@pytest.mark.parametrize("lane", [True, False], ids=["lane", "aiohttp"])
def test_an_idle_connection_is_closed_after_the_idle_timeout(lane: bool) -> None:
    with (
        MockServer(api_keys=[API_KEY], idle_timeout_seconds=0.3, fast_lane=lane) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
    ):
        sock.sendall(post(W1, **KEYED))
        answer = read_to_end(sock)  # the answer, then the end once the server closes
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert answer.endswith(b"}\n")


def test_shutdown_lets_the_lane_finish_the_request_in_hand(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A request in flight when the server stops is answered within the grace period."""
    server = MockServer(api_keys=[API_KEY], shutdown_grace_seconds=5.0).start()
    try:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        paced = post(STREAM, x_mock_latency="ttft_ms=300", **KEYED)
        sock.sendall(paced)
        time.sleep(0.1)  # the request is in hand (its first frame waits 300 ms)
    finally:
        server.stop()
    answer = read_to_end(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert answer.endswith(b"0\r\n\r\n")  # the whole stream, to its last chunk


def test_shutdown_waits_for_a_request_whose_client_left(tmp_path: Path) -> None:
    """A stream being recorded when its client leaves is still read to its end and saved,
    though the server is stopping (as on aiohttp's front)."""
    with MockServer(seed=7) as upstream:
        upstream.stub(
            match={"last_user_message": {"equals": "Take your time."}},
            answer={"content": "Done.", "delay_ms": 300},
        )
        body = {**STREAM, "messages": [{"role": "user", "content": "Take your time."}]}
        server = MockServer(
            api_keys=[API_KEY], fixtures_dir=tmp_path, record_mode="all", upstream=upstream.url
        ).start()
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(post(body, **KEYED))
                time.sleep(0.05)  # the request is on its way upstream; the client leaves
        finally:
            server.stop()
    assert len(interactions(tmp_path)) == 1


def test_shutdown_lets_a_body_still_coming_arrive_and_be_answered() -> None:
    """A request in hand whose body is still coming is answered within the grace period.
    (aiohttp's front drops bytes that arrive once it is closing, and cuts the request at
    the end of the grace period.)"""
    whole = post(W1, **KEYED)
    server = MockServer(api_keys=[API_KEY], shutdown_grace_seconds=5.0).start()
    stopping = threading.Thread(target=server.stop)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        try:
            sock.sendall(whole[:-20])
            time.sleep(0.1)  # the head is read, the body is coming
            stopping.start()
            time.sleep(0.2)  # the server is stopping
            sock.sendall(whole[-20:])
            answer = read_to_end(sock)
        finally:
            stopping.join()
    assert answer.startswith(b"HTTP/1.1 200 OK")


def test_a_late_body_is_journaled_with_the_time_it_was_waited_for(fronts: Fronts) -> None:
    """Timed from its head, on either front: the 408's entry lasts the body deadline."""
    session = {"x_mock_session": "late-body"}
    for server in (fronts.lane, fronts.aiohttp):
        answer = talk(server, post(W1, **KEYED, **session)[:-20])
        assert answer.startswith(b"HTTP/1.1 408 ")
        journal = request(
            server.url + "/__admin/requests", "GET", headers={"x-mock-session": "late-body"}
        )
        [entry] = _entries(journal.json())[-1:]
        assert entry["status"] == 408
        assert entry["duration_ms"] >= 1000 * SETTINGS["request_body_timeout_seconds"]


def test_a_bodiless_status_replayed_has_no_body_and_no_framing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A recording whose status has no body (204) is replayed as aiohttp writes it."""
    sent = post(W1, **KEYED, **CLOSE)
    with MockServer(seed=7, deterministic_ids=True) as upstream:
        _once(caplog, sent, upstream=upstream.url, record_mode="all", fixtures_dir=tmp_path)
    for path in tmp_path.rglob("*.json"):
        data = json.loads(path.read_text())
        for interaction in data.get("interactions", [data]):
            if isinstance(interaction, dict) and "response" in interaction:
                interaction["response"]["status"] = 204
        path.write_text(json.dumps(data))
    replayed = [
        _once(caplog, sent, fast_lane=lane, fixtures_dir=tmp_path) for lane in (True, False)
    ]
    assert blanked(replayed[0][0]) == blanked(replayed[1][0])
    assert replayed[0][0].startswith(b"HTTP/1.1 204 No Content\r\n")
    assert replayed[0][0].endswith(b"\r\n\r\n")  # no body after the head
    assert b"Content-Length" not in replayed[0][0] and not replayed[0][1]
