"""Record through the real SDK, then replay byte for byte.

The recorder is a MockServer with fixtures and an upstream; the upstream is a second
MockServer generating reproducible answers, so each test can ask the upstream directly for
the same request and compare: what the client got while recording must be exactly what the
upstream says, and what a fresh replaying server sends must be exactly what was recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest

from mockserver.engines.replay import pause as _pause
from mockserver.testing.server import MockServer
from tests.replay.helpers import (
    CASSETTE,
    QUESTION,
    UPSTREAM_SEED,
    WEATHER_TOOL,
    cassette_text,
    error_code,
    frame_payloads,
    interactions,
    journal,
    post,
    recorded_bytes,
    recorder,
    replayer,
)
from tests.support import rawhttp
from tests.support.chat import API_KEY, DEPLOYMENT, chat_path, user
from tests.support.clients import azure_client, v1_client
from tests.support.sse import raw_events


@dataclass
class Received:
    status: int
    body: bytes
    content_type: str | None = None


def sdk_call(
    server: MockServer, model: str, body: dict[str, Any], route: str = "dated"
) -> Received:
    """One chat request through the SDK (AzureOpenAI, or OpenAI on the v1 route), keeping
    the exact bytes it received."""
    with azure_client(server) if route == "dated" else v1_client(server) as client:
        completions = client.chat.completions
        try:
            if body.get("stream"):
                with completions.with_streaming_response.create(model=model, **body) as streamed:
                    data = b"".join(streamed.iter_bytes())
                    return Received(
                        streamed.status_code, data, streamed.headers.get("content-type")
                    )
            raw = completions.with_raw_response.create(model=model, **body)
            return Received(
                raw.status_code, raw.http_response.content, raw.headers.get("content-type")
            )
        except openai.APIStatusError as error:
            response = error.response
            return Received(
                error.status_code, response.content, response.headers.get("content-type")
            )


@dataclass(frozen=True)
class Case:
    body: dict[str, Any]
    status: int
    code: str | None = None
    deployment: str = DEPLOYMENT
    upstream: dict[str, Any] = field(default_factory=dict)


CASES = {
    "plain": Case({"messages": user(QUESTION), "reasoning_effort": "low"}, 200),
    "stream": Case({"messages": user("Stream a short answer, please."), "stream": True}, 200),
    "stream-with-usage": Case(
        {
            "messages": user("Stream a short answer with usage."),
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        200,
    ),
    "unsupported-parameter": Case(
        {"messages": user(QUESTION), "temperature": 0.2}, 400, "unsupported_parameter"
    ),
    "deployment-not-found": Case(
        {"messages": user(QUESTION)}, 404, "DeploymentNotFound", deployment="no-such-deployment"
    ),
    "unauthorized": Case(
        {"messages": user(QUESTION)}, 401, "401", upstream={"api_keys": ["the-only-right-key"]}
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_recorded_bytes_are_the_upstreams_and_replay_byte_for_byte(
    case: Case, tmp_path: Path
) -> None:
    path = chat_path(case.deployment)
    with MockServer(seed=UPSTREAM_SEED, deterministic_ids=True, **case.upstream) as upstream:
        with recorder(upstream, tmp_path) as recording:
            received = sdk_call(recording, case.deployment, case.body)
            [entry] = journal(recording, 1)
            assert entry.source == "upstream"
        [forwarded] = journal(upstream, 1)
        assert forwarded.body == entry.body, "the recorder changed the body it forwarded"
        assert forwarded.path == path.split("?")[0]
        direct = post(upstream, forwarded.body, path=path)

    assert received.status == direct.status == case.status
    if case.code is not None:
        assert error_code(direct) == case.code
    assert received.body == direct.body, "the client did not get the upstream's bytes"

    [interaction] = interactions(tmp_path)
    assert interaction.response.status == case.status
    assert interaction.response.cut is False
    assert recorded_bytes(interaction.response) == received.body
    assert (interaction.response.frames is not None) == bool(case.body.get("stream"))
    if interaction.response.frames is not None:
        usage = [p.get("usage") for p in frame_payloads(interaction.response)]
        wants_usage = "stream_options" in case.body
        assert bool(usage[-1]) == wants_usage, "include_usage decides the closing usage chunk"
        assert not any(usage[:-1])

    with replayer(tmp_path) as replaying:
        replayed = sdk_call(replaying, case.deployment, case.body)
        [entry] = journal(replaying, 1)
        assert entry.source == f"fixture:{CASSETTE}#0"
        assert entry.status == case.status
    assert replayed.status == case.status
    assert replayed.body == received.body

    with replayer(tmp_path) as replaying:
        raw = post(replaying, forwarded.body, path=path)
    assert raw.status == case.status
    assert raw.body == received.body
    if interaction.response.frames is not None:
        assert raw_events(raw.body) == [frame.data for frame in interaction.response.frames]
        assert raw.body.endswith(b"data: [DONE]\n\n")


@pytest.mark.parametrize(
    "case",
    [CASES["plain"], CASES["stream"], CASES["deployment-not-found"]],
    ids=["plain", "stream", "deployment-not-found"],
)
def test_content_type_is_the_upstreams_while_recording_and_in_replay(
    case: Case, tmp_path: Path
) -> None:
    """Azure sends DeploymentNotFound with no Content-Type at all; neither may add one."""
    path = chat_path(case.deployment)
    with MockServer(seed=UPSTREAM_SEED, deterministic_ids=True) as upstream:
        direct = post(upstream, {"model": case.deployment, **case.body}, path=path)
        with recorder(upstream, tmp_path) as recording:
            received = sdk_call(recording, case.deployment, case.body)
    with replayer(tmp_path) as replaying:
        replayed = sdk_call(replaying, case.deployment, case.body)
    expected = direct.headers.get("content-type")
    assert (received.content_type, replayed.content_type) == (expected, expected)


def tool_loop(client: openai.AzureOpenAI) -> list[bytes]:
    """The two turns of a tool loop: the call, then the answer to the tool's result."""
    messages: list[Any] = user("What is the weather in Paris?")
    first = client.chat.completions.with_raw_response.create(
        model=DEPLOYMENT, messages=messages, tools=[WEATHER_TOOL]
    )
    message = first.parse().choices[0].message
    assert message.tool_calls, "the first turn should call the tool"
    call = message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    messages += [
        message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 21}'},
    ]
    second = client.chat.completions.with_raw_response.create(
        model=DEPLOYMENT, messages=messages, tools=[WEATHER_TOOL]
    )
    assert second.parse().choices[0].message.content
    return [first.http_response.content, second.http_response.content]


def test_tool_loop_records_and_replays_turn_by_turn(upstream: MockServer, tmp_path: Path) -> None:
    def run_loop(server: MockServer) -> list[bytes]:
        with azure_client(server) as client:
            return tool_loop(client)

    with recorder(upstream, tmp_path) as recording:
        recorded = run_loop(recording)
    for entry, body in zip(journal(upstream, 2), recorded, strict=True):
        assert post(upstream, entry.body).body == body

    assert [recorded_bytes(i.response) for i in interactions(tmp_path)] == recorded
    with replayer(tmp_path) as replaying:
        assert run_loop(replaying) == recorded
        assert [e.source for e in journal(replaying, 2)] == [
            f"fixture:{CASSETTE}#0",
            f"fixture:{CASSETTE}#1",
        ]


def _record_twice_with_different_seeds(upstream: MockServer, directory: Path) -> list[bytes]:
    body = {"messages": user("Tell me something new.")}
    answers = []
    with recorder(upstream, directory) as recording:
        for seed in (101, 202):
            upstream.configure(seed=seed)
            answers.append(post(recording, body).body)
    assert answers[0] != answers[1], "the upstream seeds should give two different answers"
    return answers


def test_identical_requests_replay_in_recorded_order(upstream: MockServer, tmp_path: Path) -> None:
    answers = _record_twice_with_different_seeds(upstream, tmp_path)
    body = {"messages": user("Tell me something new.")}
    with replayer(tmp_path) as replaying:
        first, second, third = (post(replaying, body) for _ in range(3))
        sources = [entry.source for entry in journal(replaying, 3)]
    assert [first.body, second.body] == answers
    assert sources == [f"fixture:{CASSETTE}#0", f"fixture:{CASSETTE}#1", "fixture-miss"]
    assert third.status == 404
    assert error_code(third) == "FixtureNotFound"
    assert f"{CASSETTE}#" in third.json()["error"]["message"]
    assert "used up" in third.json()["error"]["message"]


def test_the_same_json_spelt_otherwise_replays_the_same_recording(
    upstream: MockServer, tmp_path: Path
) -> None:
    body = {"messages": user("Name three rivers."), "reasoning_effort": "low"}
    with recorder(upstream, tmp_path) as recording:
        recorded = post(recording, body)
    compact = json.dumps(body, separators=(",", ":")).encode()
    spaced = json.dumps(body, indent=2, sort_keys=True).encode()  # other spaces, key order
    with replayer(tmp_path, allow_repeats=True) as replaying:
        url, key = replaying.url + chat_path(), {"api-key": API_KEY}
        replies = [
            rawhttp.request(url, body=raw, headers=key) for raw in (compact, spaced, compact)
        ]
        sources = [entry.source for entry in journal(replaying, 3)]
    assert [reply.body for reply in replies] == [recorded.body] * 3
    assert sources == [f"fixture:{CASSETTE}#0"] * 3


def test_allow_repeats_replays_the_last_one_again(upstream: MockServer, tmp_path: Path) -> None:
    answers = _record_twice_with_different_seeds(upstream, tmp_path)
    body = {"messages": user("Tell me something new.")}
    with replayer(tmp_path, allow_repeats=True) as replaying:
        replies = [post(replaying, body) for _ in range(4)]
        sources = [entry.source for entry in journal(replaying, 4)]
    assert [reply.status for reply in replies] == [200] * 4
    assert [reply.body for reply in replies] == [answers[0], answers[1], answers[1], answers[1]]
    assert sources == [f"fixture:{CASSETTE}#{n}" for n in (0, 1, 1, 1)]


def test_uuids_and_timestamps_in_messages_do_not_prevent_a_match(
    upstream: MockServer, tmp_path: Path
) -> None:
    def asked(order: str, when: str) -> dict[str, Any]:
        return {"messages": user(f"Summarise order {order}, placed at {when}.")}

    with recorder(upstream, tmp_path) as recording:
        recorded = post(
            recording, asked("3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b", "2026-01-02T03:04:05Z")
        )
    with replayer(tmp_path) as replaying:
        later = post(
            replaying, asked("a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d", "2027-12-31 23:59:58.5+01:00")
        )
        other = post(replaying, {"messages": user("Summarise order 12, placed yesterday.")})
        sources = [entry.source for entry in journal(replaying, 2)]
    assert later.status == 200
    assert later.body == recorded.body
    assert other.status == 404
    assert sources == [f"fixture:{CASSETTE}#0", "fixture-miss"]


def test_v1_route_records_and_replays_with_the_model_as_deployment(
    upstream: MockServer, tmp_path: Path
) -> None:
    body = {"messages": user("Hello from the v1 route.")}
    with recorder(upstream, tmp_path) as recording:
        received = sdk_call(recording, DEPLOYMENT, body, route="v1")
    assert received.status == 200
    [interaction] = interactions(tmp_path)
    assert interaction.request.path == "/openai/v1/chat/completions"
    assert interaction.request.body["model"] == DEPLOYMENT
    assert journal(upstream, 1)[0].path == "/openai/v1/chat/completions"

    with replayer(tmp_path, allow_repeats=True) as replaying:
        replayed = sdk_call(replaying, DEPLOYMENT, body, route="v1")
        other_model = sdk_call(replaying, "gpt-4o", body, route="v1")
        dated = sdk_call(replaying, DEPLOYMENT, body)
        sources = [entry.source for entry in journal(replaying, 3)]
    assert replayed.status == 200
    assert replayed.body == received.body
    assert other_model.status == 404
    assert b"deployment" in other_model.body
    assert dated.status == 404, "a v1 recording must not answer the dated route"
    assert sources == [f"fixture:{CASSETTE}#0", "fixture-miss", "fixture-miss"]


# --- record modes -------------------------------------------------------------------------

KNOWN = {"messages": user("A question recorded before.")}
NEW = {"messages": user("A question never asked.")}


def _cassette_with_known(upstream: MockServer, directory: Path) -> bytes:
    with recorder(upstream, directory, mode="once") as recording:
        answer = post(recording, KNOWN)
        assert [entry.source for entry in journal(recording, 1)] == ["upstream"]
    assert len(interactions(directory)) == 1
    return answer.body


def test_once_records_into_a_new_cassette_only(upstream: MockServer, tmp_path: Path) -> None:
    known = _cassette_with_known(upstream, tmp_path)
    before = cassette_text(tmp_path)
    upstream.reset()
    with recorder(upstream, tmp_path, mode="once") as again:
        replayed = post(again, KNOWN)
        missed = post(again, NEW)
        sources = [entry.source for entry in journal(again, 2)]
    assert replayed.body == known
    assert missed.status == 404
    assert error_code(missed) == "FixtureNotFound"
    assert sources == [f"fixture:{CASSETTE}#0", "fixture-miss"]
    assert upstream.requests == [], "record mode once must not call the upstream again"
    assert cassette_text(tmp_path) == before


def test_new_episodes_replays_known_and_records_new(upstream: MockServer, tmp_path: Path) -> None:
    known = _cassette_with_known(upstream, tmp_path)
    upstream.reset()
    with recorder(upstream, tmp_path, mode="new_episodes") as again:
        replayed = post(again, KNOWN)
        new = post(again, NEW)
        sources = [entry.source for entry in journal(again, 2)]
    assert replayed.body == known
    assert new.status == 200
    assert sources == [f"fixture:{CASSETTE}#0", "upstream"]
    assert [entry.body for entry in journal(upstream, 1)] == [NEW]
    recorded = interactions(tmp_path)
    assert [i.request.body for i in recorded] == [KNOWN, NEW]
    assert recorded_bytes(recorded[1].response) == new.body


def test_all_records_even_known_requests(upstream: MockServer, tmp_path: Path) -> None:
    known = _cassette_with_known(upstream, tmp_path)
    upstream.reset()
    with recorder(upstream, tmp_path, mode="all") as again:
        answer = post(again, KNOWN)
        sources = [entry.source for entry in journal(again, 1)]
    assert sources == ["upstream"]
    assert [entry.body for entry in journal(upstream, 1)] == [KNOWN]
    assert answer.body == known  # the same upstream answer, recorded a second time
    assert [i.request.body for i in interactions(tmp_path)] == [KNOWN, KNOWN]


# --- replay timing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("milliseconds", "timing", "seconds"),
    [
        (120.0, "none", 0.0),
        (120.0, "original", 0.12),
        (120.0, "2.0", 0.24),
        (120.0, "0.5", 0.06),
        (0.0, "original", 0.0),
        (-5.0, "original", 0.0),
    ],
)
def test_pause_between_frames(milliseconds: float, timing: str, seconds: float) -> None:
    assert _pause(milliseconds, timing) == pytest.approx(seconds)


TIMED: dict[str, Any] = {"messages": user("Stream for the timing test."), "stream": True}


@pytest.fixture(scope="module")
def timed_stream(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A recorded stream, and the bytes the client received while it was recorded."""
    directory = tmp_path_factory.mktemp("timed")
    with (
        MockServer(seed=UPSTREAM_SEED, deterministic_ids=True) as upstream,
        recorder(upstream, directory) as recording,
    ):
        received = sdk_call(recording, DEPLOYMENT, TIMED)
    return directory, received.body


@pytest.mark.parametrize("timing", ["none", "original", "0.5"])
def test_every_replay_timing_sends_every_frame_in_order(
    timing: str, timed_stream: tuple[Path, bytes]
) -> None:
    directory, received = timed_stream
    [interaction] = interactions(directory)
    frames = interaction.response.frames
    assert frames is not None
    offsets = [frame.offset_ms for frame in frames]
    assert offsets == sorted(offsets), "offsets must grow along the stream"
    with replayer(directory, replay_timing=timing) as replaying, azure_client(replaying) as client:
        chunks = list(client.chat.completions.create(model=DEPLOYMENT, **TIMED))
    with replayer(directory, replay_timing=timing) as replaying:
        raw = post(replaying, {"model": DEPLOYMENT, **TIMED})
    assert raw.body == received
    assert raw_events(raw.body) == [frame.data for frame in frames]
    assert [chunk.id for chunk in chunks] == [
        payload["id"] for payload in frame_payloads(interaction.response)
    ]


def test_recording_needs_an_upstream_and_a_place(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs both upstream and fixtures_dir"):
        MockServer(fixtures_dir=tmp_path, record_mode="all")
