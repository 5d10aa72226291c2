"""The journal keeps each answer as the client got it: the mock's own JSON as written (not
parsed and written again), a garbled one as its text, a replayed one read once."""

from __future__ import annotations

import orjson

from mockserver import MockServer
from mockserver.stores.journal_entry import stored_size
from tests.support import rawhttp

PATH = "/openai/deployments/o3-mini/chat/completions?api-version=2025-04-01-preview"
BODY = {"messages": [{"role": "user", "content": "Name three colours."}]}


def test_a_generated_answer_is_journaled_as_the_client_got_it() -> None:
    with MockServer() as server:
        answers = [rawhttp.request(server.url + PATH, body=BODY, headers={"api-key": "k"})]
        answers.append(rawhttp.request(server.url + PATH, body=BODY, headers={"api-key": "k"}))
        entries = server.requests
    for answer, entry in zip(answers, entries, strict=True):
        assert answer.status == 200
        assert entry.response_body == orjson.loads(answer.body)
        assert stored_size(entry, "response_body") == len(answer.body.rstrip(b"\n"))
    assert entries[0].response_body != entries[1].response_body  # ids differ per call


def test_a_garbled_answer_is_journaled_as_its_text() -> None:
    headers = {"api-key": "k", "x-mock-fault": "garbage"}
    with MockServer() as server:
        answer = rawhttp.request(server.url + PATH, body=BODY, headers=headers)
        (entry,) = server.requests
    assert answer.status == 200 and entry.status == 200 and b"\xff\xfe" in answer.body
    assert entry.response_body == answer.body.decode("utf-8", "replace")
