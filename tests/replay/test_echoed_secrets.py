"""An upstream that echoes the client's credential back (in its answer's text, a header, a
stream frame, an error, a header too large to read): the fixture file, the journal and the
error body never hold it, whatever its shape. The shape rules alone missed these: a key of
no known shape is only found by its value, which the recorder knows because it sent it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest
from aiohttp import web

from mockserver.testing.server import MockServer
from tests.replay.helpers import cassette_text, journal, post
from tests.replay.scripted_upstream import ScriptedUpstream
from tests.support.chat import DEPLOYMENT, user
from tests.support.clients import azure_client

KEY = "plain-words-key-77"  # no known secret shape: only its value can find it
BEARER = "opaque-token-4e4e4e4e"
QUESTION: dict[str, Any] = {"messages": user("Echo what I sent.")}


def _credentials(request: web.Request) -> str:
    return f"{request.headers.get('api-key', '')} {request.headers.get('Authorization', '')}"


async def echo_in_body(upstream: ScriptedUpstream, request: web.Request) -> web.StreamResponse:
    answer = {"choices": [{"message": {"content": "you sent " + _credentials(request)}}]}
    return web.json_response(answer, headers={"x-echo": request.headers.get("api-key", "")})


async def echo_in_error(upstream: ScriptedUpstream, request: web.Request) -> web.StreamResponse:
    error = {"error": {"code": "401", "message": f"bad key {_credentials(request)} given"}}
    return web.json_response(error, status=401)


async def echo_in_stream(upstream: ScriptedUpstream, request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    delta = {"choices": [{"index": 0, "delta": {"content": _credentials(request)}}]}
    await response.write(b"data: " + json.dumps(delta).encode() + b"\n\n")
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


async def echo_in_stream_pieces(
    upstream: ScriptedUpstream, request: web.Request
) -> web.StreamResponse:
    """As a model spells out what it was given: three characters a frame."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    text = _credentials(request)
    for start in range(0, len(text), 3):
        delta = {"choices": [{"index": 0, "delta": {"content": text[start : start + 3]}}]}
        await response.write(b"data: " + json.dumps(delta).encode() + b"\n\n")
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


async def echo_in_huge_header(
    upstream: ScriptedUpstream, request: web.Request
) -> web.StreamResponse:
    """A header past what the client reads (8 KB): aiohttp's error quotes its bytes."""
    return web.json_response({}, headers={"x-big": _credentials(request) + "a" * 9000})


def _streamed_text(directory: Path) -> str:
    """The deltas' text of every recorded stream, joined frame after frame."""
    spelt = ""
    for path in sorted(directory.rglob("*.json")):
        interactions = json.loads(path.read_text(encoding="utf-8"))["interactions"]
        frames = [frame for one in interactions for frame in one["response"]["frames"] or []]
        for frame in frames:
            data = frame["data"].removeprefix("data: ").strip()
            if data.startswith("{"):
                for choice in json.loads(data).get("choices", []):
                    spelt += choice.get("delta", {}).get("content") or ""
    return spelt


def _recording(upstream: ScriptedUpstream, directory: Path) -> MockServer:
    return MockServer(fixtures_dir=directory, record_mode="all", upstream=upstream.url)


def _status_through_sdk(client: openai.AzureOpenAI) -> int:
    try:
        client.chat.completions.create(model=DEPLOYMENT, **QUESTION)
    except openai.APIStatusError as error:
        return error.status_code
    return 200


def _credential_headers() -> dict[str, str]:
    return {"api-key": KEY, "Authorization": f"Bearer {BEARER}"}


@pytest.mark.parametrize(
    ("handler", "body"),
    [
        (echo_in_body, QUESTION),
        (echo_in_error, QUESTION),
        (echo_in_stream, {**QUESTION, "stream": True}),
        (echo_in_stream_pieces, {**QUESTION, "stream": True}),
    ],
    ids=["body-and-header", "error", "stream", "stream-pieces"],
)
def test_an_echoed_credential_is_relayed_but_never_recorded(
    handler: Any, body: dict[str, Any], tmp_path: Path
) -> None:
    with ScriptedUpstream(handler) as upstream, _recording(upstream, tmp_path) as recording:
        seen = post(recording, body, headers=_credential_headers())
        with azure_client(recording, api_key=KEY, max_retries=0) as client:  # and the SDK
            sdk_status = _status_through_sdk(client)
        entries = journal(recording, 2)
    relayed = seen.body.decode()
    assert KEY in relayed or KEY[:3] in relayed, "the client gets the upstream's answer as it was"
    assert sdk_status == seen.status
    written = cassette_text(tmp_path)
    assert written, "the answer was recorded"
    assert KEY not in written and BEARER not in written
    spelt = _streamed_text(tmp_path)  # what the recorded deltas spell out, joined
    assert KEY not in spelt and BEARER not in spelt
    assert "REDACTED" in written
    assert all(KEY not in repr(entry) for entry in entries)


def test_an_unreadable_header_quoting_the_key_is_a_502_that_does_not(tmp_path: Path) -> None:
    with (
        ScriptedUpstream(echo_in_huge_header) as upstream,
        _recording(upstream, tmp_path) as recording,
    ):
        raw = post(recording, QUESTION, headers=_credential_headers())
        with (
            azure_client(recording, api_key=KEY, max_retries=0) as client,
            pytest.raises(openai.APIStatusError) as raised,
        ):
            client.chat.completions.create(model=DEPLOYMENT, **QUESTION)
        entries = journal(recording, 2)
    assert raw.status == 502
    assert json.loads(raw.body)["error"]["code"] == "UpstreamUnavailable"
    assert KEY.encode() not in raw.body and BEARER.encode() not in raw.body
    assert raised.value.status_code == 502
    assert KEY not in str(raised.value.body)
    assert all(KEY not in repr(entry) for entry in entries)
    assert not (tmp_path / "recordings").exists() or not cassette_text(tmp_path)
