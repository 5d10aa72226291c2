"""A request nothing recorded matches: an Azure-shaped FixtureNotFound naming the nearest
recorded interaction and the fields that differ; or the generator, if so configured; and
stubs still answer first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest

from mockserver.testing.server import MockServer
from tests.replay.helpers import (
    CASSETTE,
    UPSTREAM_SEED,
    error_code,
    interactions,
    journal,
    post,
    recorded_bytes,
    recorder,
    replayer,
)
from tests.support.chat import DEPLOYMENT, chat_path, user
from tests.support.clients import azure_client

ALPHA: dict[str, Any] = {"messages": user("The alpha question."), "reasoning_effort": "low"}
BETA: dict[str, Any] = {"messages": user("The beta question."), "reasoning_effort": "low"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """recordings.json: #0 answers ALPHA, #1 answers BETA."""
    directory = tmp_path_factory.mktemp("fixtures")
    with (
        MockServer(seed=UPSTREAM_SEED, deterministic_ids=True) as upstream,
        recorder(upstream, directory) as recording,
    ):
        assert post(recording, ALPHA).status == 200
        assert post(recording, BETA).status == 200
    return directory


def miss_message(response: Any) -> str:
    assert error_code(response) == "FixtureNotFound"
    assert set(response.json()) == {"error"}
    assert set(response.json()["error"]) == {"code", "message"}
    message = str(response.json()["error"]["message"])
    assert message.startswith("No recorded interaction matches this request.")
    return message


@pytest.mark.parametrize(
    ("body", "nearest", "fields"),
    [
        ({**ALPHA, "messages": user("An alpha-ish question.")}, 0, "body.messages[0].content"),
        ({**BETA, "reasoning_effort": "high"}, 1, "body.reasoning_effort"),
        (
            {**ALPHA, "reasoning_effort": "high", "max_completion_tokens": 50},
            0,
            "body.max_completion_tokens, body.reasoning_effort",
        ),
    ],
    ids=["content", "reasoning-effort", "two-fields"],
)
def test_a_miss_names_the_nearest_interaction_and_the_differing_fields(
    body: dict[str, Any], nearest: int, fields: str, recorded: Path
) -> None:
    with replayer(recorded) as replaying:
        response = post(replaying, body)
        [entry] = journal(replaying, 1)
    assert response.status == 404
    assert miss_message(response).endswith(
        f"The nearest recorded interaction is {CASSETTE}#{nearest}; it differs in: {fields}."
    )
    assert (entry.source, entry.status) == ("fixture-miss", 404)
    assert entry.body == body


def test_a_miss_on_another_deployment_names_the_deployment(recorded: Path) -> None:
    with replayer(recorded) as replaying:
        response = post(replaying, ALPHA, path=chat_path("another-deployment"))
    assert response.status == 404
    assert miss_message(response).endswith(f"{CASSETTE}#0; it differs in: deployment.")


def test_a_miss_with_nothing_recorded_says_so(tmp_path: Path) -> None:
    with replayer(tmp_path) as replaying:
        response = post(replaying, ALPHA)
    assert response.status == 404
    assert miss_message(response).endswith("No interaction is recorded.")


def test_the_sdk_sees_a_miss_as_a_404_with_code_fixture_not_found(recorded: Path) -> None:
    with (
        replayer(recorded) as replaying,
        azure_client(replaying) as client,
        pytest.raises(openai.NotFoundError) as raised,
    ):
        client.chat.completions.create(model=DEPLOYMENT, messages=user("Unrecorded."))
    assert raised.value.status_code == 404
    assert raised.value.code == "FixtureNotFound"
    assert f"{CASSETTE}#" in raised.value.message


def test_replay_miss_status_sets_the_status(recorded: Path) -> None:
    with replayer(recorded, replay_miss_status=500) as replaying:
        response = post(replaying, {**ALPHA, "reasoning_effort": "medium"})
        [entry] = journal(replaying, 1)
        with azure_client(replaying) as client, pytest.raises(openai.InternalServerError) as raised:
            client.chat.completions.create(model=DEPLOYMENT, messages=user("Unrecorded."))
    assert response.status == 500
    assert miss_message(response).endswith(f"{CASSETTE}#0; it differs in: body.reasoning_effort.")
    assert (entry.source, entry.status) == ("fixture-miss", 500)
    assert raised.value.status_code == 500
    assert raised.value.code == "FixtureNotFound"


def test_replay_miss_generate_answers_misses_from_the_generator(recorded: Path) -> None:
    with replayer(recorded, replay_miss="generate") as replaying:
        hit = post(replaying, ALPHA)
        miss = post(replaying, {"messages": user("Nothing recorded this.")})
        sources = [entry.source for entry in journal(replaying, 2)]
    assert sources == [f"fixture:{CASSETTE}#0", "generator"]
    assert hit.status == miss.status == 200
    assert miss.json()["object"] == "chat.completion"
    assert miss.json()["choices"][0]["message"]["content"]
    assert miss.body != hit.body


def test_a_matching_stub_answers_before_the_fixtures(recorded: Path) -> None:
    with replayer(recorded) as replaying:
        stub = replaying.stub(
            match={"last_user_message": {"contains": "alpha"}},
            answer={"content": "The stub answered."},
        )
        with azure_client(replaying) as client:
            stubbed = client.chat.completions.create(model=DEPLOYMENT, **ALPHA)
            replayed = client.chat.completions.with_raw_response.create(model=DEPLOYMENT, **BETA)
        sources = [entry.source for entry in journal(replaying, 2)]
    assert stubbed.choices[0].message.content == "The stub answered."
    assert sources == [f"stub:{stub.id}", f"fixture:{CASSETTE}#1"]
    assert replayed.http_response.content == recorded_bytes(interactions(recorded)[1].response)


def _raw_or_miss(client: Any) -> Any:
    """The raw reply, or the 404 a replay miss raises in the SDK."""
    try:
        return client.chat.completions.with_raw_response.create(model=DEPLOYMENT, **ALPHA)
    except openai.NotFoundError as miss:
        return miss


@pytest.mark.parametrize(
    "stub",
    [
        {"times": 1},
        {"scenario": "flow", "required_state": "Later", "new_state": "Done"},
    ],
    ids=["spent-after-one-answer", "waiting-for-another-scenario-state"],
)
def test_a_stub_that_no_longer_answers_does_not_hide_the_fixtures(
    stub: dict[str, Any], recorded: Path
) -> None:
    """Only a stub that would answer goes first: one used up (`times`), or one whose
    scenario is in another state, must let the recording replay."""
    with replayer(recorded) as replaying:
        added = replaying.stub(
            match={"last_user_message": {"contains": "alpha"}},
            answer={"content": "The stub answered."},
            **stub,
        )
        with azure_client(replaying) as client:
            replies = [_raw_or_miss(client) for _ in range(2)]
        sources = [entry.source for entry in journal(replaying, 2)]
    recorded_alpha = recorded_bytes(interactions(recorded)[0].response)
    if "times" in stub:  # the stub answers once, then the recording replays
        assert sources == [f"stub:{added.id}", f"fixture:{CASSETTE}#0"]
        assert replies[0].parse().choices[0].message.content == "The stub answered."
        assert replies[1].http_response.content == recorded_alpha
    else:  # never in its state: the recording replays, then it is used up (a miss)
        assert sources == [f"fixture:{CASSETTE}#0", "fixture-miss"]
        assert replies[0].http_response.content == recorded_alpha
