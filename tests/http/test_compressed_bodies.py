"""Compressed request bodies (`Content-Encoding`): decoded off the event loop and within
`max_body_bytes`, so a gzip bomb is a 413 after a piece past the bound, not gigabytes
inflated on the loop (aiohttp's own decoding went on inflating it after its 413)."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator

import pytest

from mockserver.support.content_coding import (
    PIECE,
    TooLargeDecodedError,
    UnsupportedEncodingError,
    decoded_within,
)
from mockserver.testing.server import MockServer
from tests.support import rawhttp
from tests.support.chat import API_KEY, chat_body, chat_url

BODY = json.dumps(chat_body("Say hello in three words.")).encode()
LIMIT = 1024 * 1024


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def zeros_gzipped(megabytes: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    return b"".join(compressor.compress(block) for _ in range(megabytes)) + compressor.flush()


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(api_keys=[API_KEY], max_body_bytes=LIMIT) as running:
        yield running


def send(server: MockServer, body: bytes, coding: str) -> rawhttp.RawResponse:
    headers = {"api-key": API_KEY, "Content-Encoding": coding}
    return rawhttp.request(chat_url(server), body=body, headers=headers)


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),  # the zlib wrapper, as RFC 9110 names it
        ("identity", lambda data: data),
    ],
)
def test_a_compressed_body_is_answered_as_the_plain_one(
    server: MockServer, coding: str, encode: object
) -> None:
    assert callable(encode)
    plain = rawhttp.request(chat_url(server), body=BODY, headers={"api-key": API_KEY})
    answer = send(server, encode(BODY), coding)
    assert answer.status == plain.status == 200, answer.body
    assert answer.json()["choices"] == plain.json()["choices"]  # the same request, decoded


def test_a_gzip_bomb_is_a_413_in_azures_words(server: MockServer) -> None:
    bomb = zeros_gzipped(1024)  # ~1 MB that inflates to 1 GiB
    assert len(bomb) < LIMIT
    answer = send(server, bomb, "gzip")
    assert answer.status == 413, answer.body
    assert answer.json()["error"]["code"] == "RequestEntityTooLarge"
    after = rawhttp.request(chat_url(server), body=BODY, headers={"api-key": API_KEY})
    assert after.status == 200  # and the server answers on


@pytest.mark.parametrize(("coding", "body"), [("br", BODY), ("gzip", BODY), ("foo", BODY)])
def test_a_body_that_does_not_decode_is_the_malformed_http_400(
    server: MockServer, coding: str, body: bytes
) -> None:
    answer = send(server, body, coding)
    assert answer.status == 400
    assert answer.json() == {
        "error": {"code": "BadRequest", "message": "The request could not be parsed as HTTP."}
    }


def test_an_admin_body_may_be_compressed_too(server: MockServer) -> None:
    stub = {"match": {"last_user_message": {"contains": "zipped"}}, "answer": {"content": "ok"}}
    added = rawhttp.request(
        server.url + "/__admin/stubs",
        body=gzip.compress(json.dumps(stub).encode()),
        headers={"Content-Encoding": "gzip"},
    )
    assert added.status in (200, 201), added.body
    answer = send(server, gzip.compress(json.dumps(chat_body("zipped")).encode()), "gzip")
    assert answer.json()["choices"][0]["message"]["content"] == "ok"
    server.reset()


def test_decoding_stops_a_piece_past_the_bound() -> None:
    with pytest.raises(TooLargeDecodedError):
        decoded_within(zeros_gzipped(64), "gzip", 10 * PIECE)
    assert decoded_within(raw_deflate(BODY), "deflate", LIMIT) == BODY  # raw deflate too
    assert decoded_within(gzip.compress(BODY), "GZip ", LIMIT) == BODY
    with pytest.raises(UnsupportedEncodingError):
        decoded_within(BODY, "gzip, br", LIMIT)


def test_a_compressed_body_refused_at_the_gateway_is_journaled_decoded(
    server: MockServer,
) -> None:
    """Refused before the body step (a wrong key), the body is still journaled as the
    JSON it is, not as its gzip bytes."""
    server.reset()
    headers = {"api-key": "not-the-key", "Content-Encoding": "gzip"}
    refused = rawhttp.request(chat_url(server), body=gzip.compress(BODY), headers=headers)
    assert refused.status == 401
    [entry] = rawhttp.request(server.url + "/__admin/requests", "GET").json()["requests"]
    assert entry["body"] == json.loads(BODY)
    server.reset()
