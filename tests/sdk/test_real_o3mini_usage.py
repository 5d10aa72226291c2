"""Every real o3-mini request in the vendored recordings, replayed against the mock.

The recordings (tests/data/real-traffic/{openai,azure}) hold what api.openai.com's
o3-mini-2025-01-31 answered; no public recording of an Azure o3-mini deployment exists,
and the model behind both is the same. Each recorded request body is posted unchanged to
the mock's v1 route (the body's `model`, "o3-mini", names the default deployment) and the
mock's usage is compared with the real one: prompt tokens exactly, reasoning tokens within
a factor of 2, the same `finish_reason`, and visible content wherever the real answer had it.
Completion tokens are reasoning + visible + hidden tokens (the answer's framing); the mock's
answer is not the real one, so what is compared exactly is the hidden part:
completion_tokens - reasoning_tokens - the o200k tokens of the visible answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mockserver.cli.vcr_import import CassetteError, import_cassette
from mockserver.testing.server import MockServer
from mockserver.tokens import counting as tokens
from tests.support import rawhttp
from tests.support.chat import API_KEY
from tests.support.testdata import AZURE_TRAFFIC, OPENAI_TRAFFIC

REAL_MODEL = "o3-mini"
# The two recorded answers whose hidden tokens are not the 13 of every other text answer;
# the mock bills 13 for them (contracts/models/o3-mini.json, `completion_framing`).
HIDDEN_OUTLIERS = {
    # Recorded 2025-02 (fp_8bcaa0ca21); every recording from 2025-06 on bills 13.
    "crewai__test_o3_mini_reasoning_effort_high.yaml[0]": 10,
    # The only answer after a tool result (2026-01): one data point, not a rule.
    "crewai__test_agent_powered_by_new_o_model_family_that_uses_tool.yaml[1]": 14,
}
TEXT_FRAMING = 13


@dataclass(frozen=True)
class RealExchange:
    """One recorded o3-mini request and what the real service answered."""

    label: str
    request: dict[str, Any]
    response: dict[str, Any]

    @property
    def usage(self) -> dict[str, Any]:
        usage: dict[str, Any] = self.response["usage"]
        return usage

    @property
    def choice(self) -> dict[str, Any]:
        choice: dict[str, Any] = self.response["choices"][0]
        return choice


def _exchanges(path: Path) -> list[RealExchange]:
    try:
        cassette = import_cassette(path)
    except CassetteError:
        # Only aiohttp's Python-tagged cassettes are refused; none of them is o3-mini.
        assert REAL_MODEL not in path.read_text(encoding="utf-8")
        return []
    found = []
    for index, interaction in enumerate(cassette.interactions):
        text = interaction.response.body
        if interaction.response.status != 200 or not text or not text.lstrip().startswith("{"):
            continue
        response = json.loads(text)
        if str(response.get("model", "")).startswith(REAL_MODEL):
            found.append(RealExchange(f"{path.name}[{index}]", interaction.request.body, response))
    return found


def real_o3mini_exchanges() -> list[RealExchange]:
    paths = sorted([*OPENAI_TRAFFIC.glob("*.yaml"), *AZURE_TRAFFIC.glob("*.yaml")])
    return [exchange for path in paths for exchange in _exchanges(path)]


EXCHANGES = real_o3mini_exchanges()


def test_the_recordings_hold_the_seven_known_o3mini_requests() -> None:
    """Guards the replay below against a loader that silently finds nothing."""
    assert len(EXCHANGES) == 7
    assert {e.label.rsplit("[", 1)[0] for e in EXCHANGES} == {
        "crewai__test_agent_powered_by_new_o_model_family_that_uses_tool.yaml",
        "crewai__test_o3_mini_reasoning_effort_high.yaml",
        "envoy-ai-gateway__chat-reasoning@fc25400a.yaml",
        "pydantic-ai__test_max_completion_tokens[o3-mini].yaml",
        "pydantic-ai__test_reasoning_model_with_temperature.yaml",
        "pydantic-ai__test_stop_settings[openai].yaml",
    }


def _replay(server: MockServer, exchange: RealExchange) -> dict[str, Any]:
    response = rawhttp.request(
        f"{server.v1_base_url}chat/completions",
        body=exchange.request,
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert response.status == 200, response.body
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.parametrize("exchange", EXCHANGES, ids=[e.label for e in EXCHANGES])
def test_the_mock_counts_prompt_tokens_as_real_o3mini(
    server: MockServer, exchange: RealExchange
) -> None:
    answer = _replay(server, exchange)
    assert answer["usage"]["prompt_tokens"] == exchange.usage["prompt_tokens"]


@pytest.mark.parametrize("exchange", EXCHANGES, ids=[e.label for e in EXCHANGES])
def test_the_mock_reasons_about_as_much_as_real_o3mini(
    server: MockServer, exchange: RealExchange
) -> None:
    real = exchange.usage["completion_tokens_details"]["reasoning_tokens"]
    mock = _replay(server, exchange)["usage"]["completion_tokens_details"]["reasoning_tokens"]
    assert real / 2 <= mock <= real * 2, (mock, real)
    assert mock % 64 == 0


@pytest.mark.parametrize("exchange", EXCHANGES, ids=[e.label for e in EXCHANGES])
def test_the_mock_finishes_as_real_o3mini(server: MockServer, exchange: RealExchange) -> None:
    choice = _replay(server, exchange)["choices"][0]
    assert choice["finish_reason"] == exchange.choice["finish_reason"]
    if exchange.choice["message"].get("content"):
        assert choice["message"]["content"]
    if exchange.choice["message"].get("tool_calls"):
        assert choice["message"]["tool_calls"]


def _visible_tokens(message: dict[str, Any]) -> int:
    """The answer's o200k tokens: its text, or each tool call's name and arguments."""
    calls = [call["function"] for call in message.get("tool_calls") or []]
    named = sum(tokens.count(call["name"]) + tokens.count(call["arguments"]) for call in calls)
    return tokens.count(message.get("content") or "") + named


def _hidden_tokens(response: dict[str, Any]) -> int:
    usage, message = response["usage"], response["choices"][0]["message"]
    reasoning: int = usage["completion_tokens_details"]["reasoning_tokens"]
    completion: int = usage["completion_tokens"]
    return completion - reasoning - _visible_tokens(message)


@pytest.mark.parametrize("exchange", EXCHANGES, ids=[e.label for e in EXCHANGES])
def test_the_mock_bills_the_hidden_tokens_real_o3mini_bills(
    server: MockServer, exchange: RealExchange
) -> None:
    """13 with a text answer, 21 with a tool call (13 + 8 for the call)."""
    answer = _replay(server, exchange)
    mock, real = _hidden_tokens(answer), _hidden_tokens(exchange.response)
    if exchange.label in HIDDEN_OUTLIERS:
        assert (real, mock) == (HIDDEN_OUTLIERS[exchange.label], TEXT_FRAMING)
    else:
        assert mock == real
    usage = answer["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_the_limited_greeting_is_billed_within_its_limit(server: MockServer) -> None:
    """pydantic-ai's `max_completion_tokens: 100` on "hello": real o3-mini bills 87 =
    64 + 13 + 10 and stops; the mock reasons as much and bills its own sentence the same way."""
    (exchange,) = [e for e in EXCHANGES if e.request.get("max_completion_tokens") == 100]
    answer = _replay(server, exchange)
    usage, content = answer["usage"], answer["choices"][0]["message"]["content"]
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 64
    assert usage["completion_tokens"] == 64 + TEXT_FRAMING + tokens.count(content) <= 100


def test_the_same_recorded_request_gets_the_same_usage(server: MockServer) -> None:
    for exchange in EXCHANGES:
        assert _replay(server, exchange)["usage"] == _replay(server, exchange)["usage"]
