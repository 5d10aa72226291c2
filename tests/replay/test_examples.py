"""fixtures/examples.json, the README's replay example, replays through the SDK as recorded:
the plain reply, the stream, the tool loop turn by turn, and the temperature error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from mockserver.cli.main import main
from mockserver.recordings.fixtures import Interaction, read_fixture_file
from mockserver.testing.server import MockServer
from tests.replay.helpers import frame_payloads, journal, recorded_bytes, replayer
from tests.support.chat import DEPLOYMENT
from tests.support.clients import azure_client
from tests.support.sse import raw_events

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
EXAMPLES = "examples.json"


@pytest.fixture(scope="module")
def recorded() -> list[Interaction]:
    return read_fixture_file(FIXTURES / EXAMPLES).interactions


@pytest.fixture
def client() -> Iterator[tuple[MockServer, openai.AzureOpenAI]]:
    """A server replaying fixtures/ (read only: record mode none), and a client on it."""
    with (
        replayer(FIXTURES) as replaying,
        azure_client(replaying, api_key="ci-key") as sdk,
    ):
        yield replaying, sdk


def sent(interaction: Interaction) -> dict[str, Any]:
    """The recorded request's fields, as SDK arguments."""
    body = dict(interaction.request.body)
    body.pop("model")
    return body


def test_the_examples_are_the_five_documented_interactions(recorded: list[Interaction]) -> None:
    assert [i.response.status for i in recorded] == [200, 200, 200, 200, 400]
    assert [i.response.frames is not None for i in recorded] == [False, True, False, False, False]
    assert {i.request.path for i in recorded} == {
        f"/openai/deployments/{DEPLOYMENT}/chat/completions"
    }
    assert all(i.request.headers.get("api-key") == "REDACTED" for i in recorded)


def test_the_plain_reply(
    client: tuple[MockServer, openai.AzureOpenAI], recorded: list[Interaction]
) -> None:
    server, sdk = client
    raw = sdk.chat.completions.with_raw_response.create(model=DEPLOYMENT, **sent(recorded[0]))
    assert raw.status_code == 200
    assert raw.http_response.content == recorded_bytes(recorded[0].response)
    completion = raw.parse()
    answer = json.loads(recorded[0].response.body or "")
    assert completion.id == answer["id"]
    assert completion.choices[0].message.content == answer["choices"][0]["message"]["content"]
    assert completion.usage is not None
    assert completion.usage.total_tokens == answer["usage"]["total_tokens"]
    assert [e.source for e in journal(server, 1)] == [f"fixture:{EXAMPLES}#0"]


def test_the_stream(
    client: tuple[MockServer, openai.AzureOpenAI], recorded: list[Interaction]
) -> None:
    server, sdk = client
    with sdk.chat.completions.with_streaming_response.create(
        model=DEPLOYMENT, **sent(recorded[1])
    ) as streamed:
        data = b"".join(streamed.iter_bytes())
    frames = recorded[1].response.frames
    assert frames is not None
    assert data == recorded_bytes(recorded[1].response)
    assert raw_events(data) == [frame.data for frame in frames]
    assert frames[-1].data == "data: [DONE]\n\n"
    assert frame_payloads(recorded[1].response)[-1]["usage"]["total_tokens"] > 0
    assert [e.source for e in journal(server, 1)] == [f"fixture:{EXAMPLES}#1"]


def test_the_stream_as_sdk_chunks(
    client: tuple[MockServer, openai.AzureOpenAI], recorded: list[Interaction]
) -> None:
    _, sdk = client
    chunks = list(sdk.chat.completions.create(model=DEPLOYMENT, **sent(recorded[1])))
    payloads = frame_payloads(recorded[1].response)
    assert [chunk.id for chunk in chunks] == [payload["id"] for payload in payloads]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    expected = "".join(
        p["choices"][0]["delta"].get("content") or "" for p in payloads if p["choices"]
    )
    assert text == expected
    assert text
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == payloads[-1]["usage"]["total_tokens"]


def test_the_tool_loop_turn_by_turn(
    client: tuple[MockServer, openai.AzureOpenAI], recorded: list[Interaction]
) -> None:
    server, sdk = client
    first_turn = sent(recorded[2])
    first = sdk.chat.completions.with_raw_response.create(model=DEPLOYMENT, **first_turn)
    assert first.http_response.content == recorded_bytes(recorded[2].response)
    message = first.parse().choices[0].message
    assert message.tool_calls
    call = message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"

    # The second turn is built from the replayed first one, as the application would.
    tool_result = recorded[3].request.body["messages"][-1]
    assert tool_result["role"] == "tool"
    messages = [
        *first_turn["messages"],
        message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": tool_result["content"]},
    ]
    second = sdk.chat.completions.with_raw_response.create(
        model=DEPLOYMENT, messages=messages, tools=first_turn["tools"]
    )
    assert second.http_response.content == recorded_bytes(recorded[3].response)
    final = second.parse().choices[0]
    assert final.finish_reason == "stop"
    assert final.message.content
    assert [e.source for e in journal(server, 2)] == [
        f"fixture:{EXAMPLES}#2",
        f"fixture:{EXAMPLES}#3",
    ]


def test_the_temperature_error(
    client: tuple[MockServer, openai.AzureOpenAI], recorded: list[Interaction]
) -> None:
    server, sdk = client
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.chat.completions.create(model=DEPLOYMENT, **sent(recorded[4]))
    error = raised.value
    assert error.status_code == 400
    assert error.response.content == recorded_bytes(recorded[4].response)
    assert error.code == "unsupported_parameter"
    assert error.param == "temperature"
    assert "Unsupported parameter: 'temperature' is not supported" in error.message
    assert [e.source for e in journal(server, 1)] == [f"fixture:{EXAMPLES}#4"]


def test_the_examples_pass_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fixtures", "check", str(FIXTURES)]) == 0
    assert capsys.readouterr().out.splitlines() == ["5 interaction(s) checked, 0 problem(s)"]
