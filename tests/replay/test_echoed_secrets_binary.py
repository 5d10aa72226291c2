"""An upstream that echoes the client's credential inside an answer that is not UTF-8: the
fixture keeps such bytes as base64, and the bytes of the key or token sent are masked in
them before they are encoded (a body, a body read back in pieces with the key cut between
two, each frame of a stream, an error the SDK sees). The client still gets the bytes as
the upstream sent them."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import openai
import pytest
from aiohttp import web

from mockserver.recordings.fixtures import Frame, Interaction, RecordedRequest, RecordedResponse
from mockserver.redaction.rules import DEFAULT_POLICY, redact_interaction, sent_secrets
from mockserver.testing.server import MockServer
from tests.replay.helpers import interactions, journal, post, recorded_bytes
from tests.replay.scripted_upstream import ScriptedUpstream
from tests.support.chat import DEPLOYMENT, user
from tests.support.clients import azure_client

KEY = "plain-words-key-77"  # no known secret shape: only its value can find it
BEARER = "opaque-token-4e4e4e4e"
NOT_UTF8 = b"\xff\xfe\x00"
# The recorder reads a spooled body back 64 KiB at a time: a key placed across that
# boundary arrives in two pieces.
READ_PIECE = 64 * 1024
QUESTION: dict[str, Any] = {"messages": user("Echo what I sent.")}


def _sent(request: web.Request) -> tuple[bytes, bytes]:
    bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return request.headers.get("api-key", "").encode(), bearer.encode()


async def binary_body(upstream: ScriptedUpstream, request: web.Request) -> web.StreamResponse:
    key, bearer = _sent(request)
    body = NOT_UTF8 + b"key=" + key + b" token=" + bearer + NOT_UTF8
    return web.Response(body=body, content_type="application/octet-stream")


async def key_across_pieces(upstream: ScriptedUpstream, request: web.Request) -> web.StreamResponse:
    key, bearer = _sent(request)
    before = READ_PIECE - len(key) // 2  # the key's first half ends the first piece
    body = NOT_UTF8 + b"a" * (before - len(NOT_UTF8)) + key + b" " + bearer + NOT_UTF8
    return web.Response(body=body, content_type="application/octet-stream")


async def binary_stream(upstream: ScriptedUpstream, request: web.Request) -> web.StreamResponse:
    key, bearer = _sent(request)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await response.write(b"data: " + NOT_UTF8 + key + b"\n\n")
    await response.write(b"data: " + bearer + NOT_UTF8 + b"\n\n")
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


async def binary_error(upstream: ScriptedUpstream, request: web.Request) -> web.StreamResponse:
    key, bearer = _sent(request)
    body = b'{"error": {"message": "bad key ' + key + NOT_UTF8 + bearer + b'"}}'
    return web.Response(status=401, body=body, content_type="application/json")


def _recording(upstream: ScriptedUpstream, directory: Path) -> MockServer:
    return MockServer(fixtures_dir=directory, record_mode="all", upstream=upstream.url)


def _credentials() -> dict[str, str]:
    return {"api-key": KEY, "Authorization": f"Bearer {BEARER}"}


def _recorded(directory: Path, count: int) -> list[RecordedResponse]:
    found = [interaction.response for interaction in interactions(directory)]
    assert len(found) == count, "every answer was recorded"
    assert all(response.encoding == "base64" for response in found)
    return found


def _assert_masked(response: RecordedResponse) -> None:
    recorded = recorded_bytes(response)  # the base64 decoded: the bytes the fixture replays
    assert KEY.encode() not in recorded
    assert BEARER.encode() not in recorded
    assert recorded.count(b"REDACTED") == 2
    assert NOT_UTF8 in recorded  # the rest kept byte for byte


@pytest.mark.parametrize(
    ("handler", "body"),
    [
        (binary_body, QUESTION),
        (key_across_pieces, QUESTION),
        (binary_stream, {**QUESTION, "stream": True}),
    ],
    ids=["body", "key-across-pieces", "stream-frames"],
)
def test_a_credential_echoed_in_bytes_kept_as_base64_is_masked(
    handler: Any, body: dict[str, Any], tmp_path: Path
) -> None:
    with ScriptedUpstream(handler) as upstream, _recording(upstream, tmp_path) as recording:
        seen = post(recording, body, headers=_credentials())
        entries = journal(recording, 1)
    assert seen.status == 200
    assert KEY not in repr(entries) and BEARER not in repr(entries)
    assert KEY.encode() in seen.body, "the client gets the upstream's bytes as they were"
    (response,) = _recorded(tmp_path, 1)
    _assert_masked(response)


def test_a_credential_echoed_in_a_binary_error_the_sdk_sees_is_masked(tmp_path: Path) -> None:
    with ScriptedUpstream(binary_error) as upstream, _recording(upstream, tmp_path) as recording:
        with (
            azure_client(
                recording,
                api_key=KEY,
                max_retries=0,
                default_headers={"Authorization": f"Bearer {BEARER}"},
            ) as client,
            pytest.raises(openai.APIStatusError) as raised,
        ):
            client.chat.completions.create(model=DEPLOYMENT, **QUESTION)
        raw = post(recording, QUESTION, headers=_credentials())
    assert raised.value.status_code == 401 and raw.status == 401
    assert KEY.encode() in raised.value.response.content, "relayed as the upstream sent it"
    for response in _recorded(tmp_path, 2):
        _assert_masked(response)


def test_redact_interaction_masks_sent_secrets_in_a_base64_body_and_frames() -> None:
    echoed = NOT_UTF8 + KEY.encode() + b" " + BEARER.encode()
    response = RecordedResponse(
        status=200,
        body=base64.b64encode(echoed).decode(),
        frames=[Frame(offset_ms=0.0, data=base64.b64encode(echoed + b"\n\n").decode())],
        encoding="base64",
    )
    interaction = Interaction(
        request=RecordedRequest(method="POST", path="/openai/v1/chat/completions"),
        response=response,
    )
    secrets = sent_secrets(_credentials(), DEFAULT_POLICY)
    redacted = redact_interaction(interaction, DEFAULT_POLICY, secrets).response
    assert redacted.body_bytes() == NOT_UTF8 + b"REDACTED REDACTED"
    assert redacted.frames is not None
    assert redacted.frame_bytes(redacted.frames[0]) == NOT_UTF8 + b"REDACTED REDACTED\n\n"
