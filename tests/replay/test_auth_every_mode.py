"""The key is checked first in every mode: replay, record, a replay miss, an injected fault.

Before the gateway ran first, a keyed server in replay or record mode answered 200 to a
wrong key (the fixture, or the upstream's answer), and recorded it. Every test here drives
a real server: the `openai` SDK where a client would see the difference, raw HTTP for the
exact bytes, and in record mode a second real MockServer as the upstream.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from mockserver.testing.server import MockServer
from tests.http.helpers import INVALID_BEARER, INVALID_KEY, RESOURCE_NOT_FOUND
from tests.replay.helpers import CASSETTE, QUESTION, interactions, journal, post, recorder, replayer
from tests.support import rawhttp
from tests.support.chat import API_KEY, API_VERSION, DEPLOYMENT, chat_path, user
from tests.support.clients import azure_client

WRONG_KEY = "not-the-key"
BODY: dict[str, Any] = {"messages": user(QUESTION)}
RESPONSES_BODY: dict[str, Any] = {"model": DEPLOYMENT, "input": QUESTION}
RESPONSES_PATH = f"/openai/responses?api-version={API_VERSION}"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cassette with one chat and one Responses interaction, recorded with the right key."""
    directory = tmp_path_factory.mktemp("keyed-fixtures")
    with MockServer(seed=7) as upstream, recorder(upstream, directory) as recording:
        assert post(recording, BODY).status == 200
        assert post(recording, RESPONSES_BODY, path=RESPONSES_PATH).status == 200
    return directory


@pytest.fixture
def keyed_replayer(recorded: Path) -> Iterator[MockServer]:
    with replayer(recorded, api_keys=[API_KEY], allow_repeats=True) as server:
        yield server


def sdk_chat(server: MockServer, api_key: str) -> Any:
    with azure_client(server, api_key=api_key) as client:
        return client.chat.completions.create(model=DEPLOYMENT, **BODY)


# --- replay (record mode none) -------------------------------------------------------------


def test_replay_refuses_a_wrong_key_through_the_sdk(keyed_replayer: MockServer) -> None:
    with pytest.raises(openai.AuthenticationError) as refused:
        sdk_chat(keyed_replayer, WRONG_KEY)
    assert refused.value.status_code == 401
    assert refused.value.response.content == INVALID_KEY
    assert sdk_chat(keyed_replayer, API_KEY).choices[0].message.content


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, INVALID_KEY),
        ({"api-key": WRONG_KEY}, INVALID_KEY),
        ({"Authorization": f"Bearer {WRONG_KEY}"}, INVALID_BEARER),
    ],
    ids=["no-key", "wrong-key", "wrong-bearer"],
)
@pytest.mark.parametrize(
    ("path", "body"),
    [(chat_path(), BODY), (RESPONSES_PATH, RESPONSES_BODY)],
    ids=["chat", "responses"],
)
def test_replay_answers_only_a_good_credential(
    keyed_replayer: MockServer,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
    expected: bytes,
) -> None:
    refused = rawhttp.request(keyed_replayer.url + path, body=body, headers=headers)
    assert (refused.status, refused.body) == (401, expected)
    [entry] = journal(keyed_replayer, 1)
    assert (entry.status, entry.source) == (401, "gateway")
    assert post(keyed_replayer, body, path=path).status == 200


def test_a_replay_miss_with_a_wrong_key_is_a_401_not_a_fixture_miss(
    keyed_replayer: MockServer,
) -> None:
    unrecorded = {"messages": user("A question nobody recorded.")}
    refused = post(keyed_replayer, unrecorded, headers={"api-key": WRONG_KEY})
    assert (refused.status, refused.body) == (401, INVALID_KEY)
    missed = post(keyed_replayer, unrecorded)
    assert missed.json()["error"]["code"] == "FixtureNotFound"


# --- record -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["once", "new_episodes", "all"])
def test_record_refuses_a_wrong_key_and_forwards_and_records_only_a_good_one(
    mode: str, tmp_path: Path
) -> None:
    with MockServer(seed=7) as upstream:
        with recorder(upstream, tmp_path, mode, api_keys=[API_KEY]) as recording:
            with pytest.raises(openai.AuthenticationError) as refused:
                sdk_chat(recording, WRONG_KEY)
            raw = post(recording, RESPONSES_BODY, RESPONSES_PATH, {"api-key": WRONG_KEY})
            assert upstream.requests == [], "a refused request reached the upstream"
            assert not (tmp_path / CASSETTE).exists(), "a refused request was recorded"
            assert sdk_chat(recording, API_KEY).choices[0].message.content
        assert len(upstream.requests) == 1
    assert refused.value.response.content == INVALID_KEY
    assert (raw.status, raw.body) == (401, INVALID_KEY)
    assert len(interactions(tmp_path)) == 1


# --- faults and unknown routes -----------------------------------------------------


def test_an_injected_fault_comes_after_the_key(keyed_server: MockServer) -> None:
    """A refused request neither gets the fault nor uses up the fault's count."""
    fault = {"x-mock-fault": "429", "x-mock-fault-count": "1", "x-mock-fault-id": "auth-first"}
    url = f"{keyed_server.url}{chat_path()}"
    refused = rawhttp.request(url, body=BODY, headers={"api-key": WRONG_KEY, **fault})
    assert (refused.status, refused.body) == (401, INVALID_KEY)
    faulted = rawhttp.request(url, body=BODY, headers={"api-key": "test-key", **fault})
    assert faulted.status == 429


@pytest.mark.parametrize(
    "headers",
    [{}, {"api-key": WRONG_KEY}, {"Authorization": f"Bearer {WRONG_KEY}"}, {"api-key": "test-key"}],
    ids=["no-key", "wrong-key", "wrong-bearer", "good-key"],
)
@pytest.mark.parametrize("path", ["/chat/completions", "/openai/v1/no-such-operation"])
def test_an_unknown_path_is_azures_404_whatever_the_key(
    keyed_server: MockServer, path: str, headers: dict[str, str]
) -> None:
    """Azure routes before it checks the key: the dd-trace-js recordings of 2025-08-20 show
    `POST /chat/completions` sent with the invalid key "test" answered 404 "Resource not
    found", and the chat route with the same key 401, one second later."""
    response = rawhttp.request(keyed_server.url + path, body=BODY, headers=headers)
    assert (response.status, response.body) == (404, RESOURCE_NOT_FOUND)
