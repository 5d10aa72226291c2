"""Each engine in-process: what it returns for an `Asked`, with no socket and no app."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from mockserver.config import Settings
from mockserver.contract.api_versions import resolve_dated
from mockserver.contract.errors import AzureError
from mockserver.contract.model_card import load_model_card
from mockserver.contract.request import check_chat_request
from mockserver.engines import replay
from mockserver.engines.base import Asked, EngineCall, Script
from mockserver.engines.chain import EngineChain, NoEngineAnsweredError
from mockserver.engines.generator import Generator
from mockserver.engines.matching import RequestView
from mockserver.engines.replay import Replay
from mockserver.engines.reply import Reply
from mockserver.recordings.fixtures import RecordedRequest
from mockserver.recordings.library import RecordingLibrary
from mockserver.serialize.ids import IdSource
from mockserver.stores.memory import memory_stores
from mockserver.stores.stores import Stores
from mockserver.tokens import counting

CARD = load_model_card("o3-mini")
PATH = "/openai/deployments/o3-mini/chat/completions"
QUERY = {"api-version": "2025-04-01-preview"}
BODY: dict[str, Any] = {"messages": [{"role": "user", "content": "Name a colour."}]}


def asked(body: dict[str, Any] = BODY, check: Any = None, stores: Stores | None = None) -> Asked:
    async def checked() -> EngineCall:
        if check is not None:
            raise check
        request = check_chat_request(body, resolve_dated(QUERY["api-version"]), CARD)
        prompt = counting.prompt_tokens(request.messages, request.tools, CARD.prompt_framing)
        return EngineCall(request, CARD, "o3-mini", prompt)

    def view_of(decoded: dict[str, Any]) -> RequestView:
        return RequestView("dated", "o3-mini", QUERY["api-version"], {}, decoded)

    request = RecordedRequest(method="POST", path=PATH, query=QUERY)
    raw = json.dumps(body).encode()
    path_qs = PATH + "?api-version=" + QUERY["api-version"]

    async def admitted() -> None:
        pass

    return Asked(
        lambda: request,
        path_qs,
        raw,
        view_of,
        checked,
        admitted,
        stores or memory_stores(Settings()),
    )


def fixtures(tmp_path: Path, body: dict[str, Any], answer: str) -> Path:
    interaction = {
        "request": {"method": "POST", "path": PATH, "query": QUERY, "body": body},
        "response": {
            "status": 200,
            "headers": {"Content-Type": "application/json"},
            "body": answer,
        },
    }
    (tmp_path / "one.json").write_text(json.dumps({"version": 1, "interactions": [interaction]}))
    return tmp_path


def library(tmp_path: Path, **settings: Any) -> RecordingLibrary:
    return RecordingLibrary(Settings(fixtures_dir=tmp_path, **settings))


async def test_the_generator_answers_a_checked_request_and_says_so() -> None:
    generator = Generator(0, IdSource(True, 0))
    reply = await generator.answer(asked())
    assert reply.engine == "generator" and reply.source == "generator" and reply.raw is None
    assert reply.completion is not None and reply.completion.choices[0].content
    assert reply.completion.usage.prompt_tokens == (await asked().check()).prompt_tokens


async def test_the_generator_answers_the_same_request_the_same_way() -> None:
    first = await Generator(7, IdSource(True, 0)).answer(asked())
    again = await Generator(7, IdSource(True, 0)).answer(asked())
    other = await Generator(8, IdSource(True, 0)).answer(asked())
    assert first.completion == again.completion != other.completion


async def test_the_generator_refuses_what_the_checks_refuse() -> None:
    refusal = AzureError(400, b"{}", name="test")
    with pytest.raises(AzureError) as raised:
        await Generator(0, IdSource(True, 0)).answer(asked(check=refusal))
    assert raised.value is refusal


async def test_replay_answers_a_recorded_request_byte_for_byte(tmp_path: Path) -> None:
    answer = '{"id": "chatcmpl-recorded", "choices": []}'
    reply = await Replay(library(fixtures(tmp_path, BODY, answer))).answer(asked())
    assert reply is not None and reply.engine == "replay" and reply.completion is None
    assert reply.source == "fixture:one.json#0" and "one.json#0" in reply.why
    assert reply.raw is not None and reply.raw.status == 200
    assert reply.raw.body == answer.encode()
    assert [piece async for piece in reply.raw.pieces()] == [answer.encode()]


async def test_replay_never_runs_the_checks(tmp_path: Path) -> None:
    # A recording says what Azure answered, even to a request the mock would refuse.
    body = {"messages": [], "temperature": 0.2}
    reply = await Replay(library(fixtures(tmp_path, body, "{}"))).answer(
        asked(body, check=AssertionError("checked"))
    )
    assert reply is not None and reply.raw is not None


async def test_a_replay_miss_names_the_nearest_recording(tmp_path: Path) -> None:
    other = {"messages": [{"role": "user", "content": "Name a fruit."}]}
    reply = await Replay(library(fixtures(tmp_path, other, "{}"))).answer(asked())
    assert reply is not None and reply.error is not None and not reply.as_model
    assert reply.error.status == 404 and reply.source == "fixture-miss"
    assert reply.replay_miss is not None and reply.replay_miss.nearest == "one.json#0"
    assert any("messages" in field for field in reply.replay_miss.differs)


async def test_a_recording_answers_once_per_session_unless_repeats_are_allowed(
    tmp_path: Path,
) -> None:
    engine = Replay(library(fixtures(tmp_path, BODY, "{}")))
    first, stores = asked(), memory_stores(Settings())
    assert (await engine.answer(asked(stores=stores))) is not None
    again = await engine.answer(asked(stores=stores))
    assert again is not None and again.error is not None  # used up in this session
    fresh = await engine.answer(first)  # another session starts the tape again
    assert fresh is not None and fresh.raw is not None
    await stores.replays.reset()
    rewound = await engine.answer(asked(stores=stores))
    assert rewound is not None and rewound.raw is not None


async def test_answers_kept_ready_to_send_stay_within_their_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = [{"messages": [{"role": "user", "content": f"question {n}"}]} for n in range(3)]
    answers = [json.dumps({"id": f"chatcmpl-{n}", "pad": "x" * 90}) for n in range(3)]
    interactions = [
        {
            "request": {"method": "POST", "path": PATH, "query": QUERY, "body": body},
            "response": {"status": 200, "headers": {"Connection": "x", "X-Kept": "y"}, "body": a},
        }
        for body, a in zip(bodies, answers, strict=True)
    ]
    (tmp_path / "three.json").write_text(json.dumps({"version": 1, "interactions": interactions}))
    monkeypatch.setattr(replay, "SENDABLE_BYTES", 2 * len(answers[0]))  # two answers fit
    engine = Replay(library(tmp_path, allow_repeats=True))
    for body, answer in [*zip(bodies, answers, strict=True)] * 2:
        reply = await engine.answer(asked(body))
        assert reply is not None and reply.raw is not None
        assert reply.raw.body == answer.encode() and reply.raw.headers == {"X-Kept": "y"}
        assert engine._sendable.size <= replay.SENDABLE_BYTES
        assert len(engine._sendable) <= 2


async def test_a_replay_miss_passes_when_the_generator_may_answer(tmp_path: Path) -> None:
    engine = Replay(library(fixtures(tmp_path, {"messages": []}, "{}"), replay_miss="generate"))
    assert await engine.answer(asked()) is None


async def test_without_fixtures_replay_passes() -> None:
    assert await Replay(RecordingLibrary(Settings())).answer(asked()) is None


class Passing:
    name = "passing"

    async def answer(self, asked: Asked) -> Reply | None:
        return None


async def test_the_chain_takes_the_first_reply_and_times_it() -> None:
    chain = EngineChain([Passing(), Generator(0, IdSource(True, 0))])
    reply = await chain.answer(asked())
    assert reply.engine == "generator" and reply.elapsed_ms > 0


async def test_a_chain_where_no_engine_answers_says_so() -> None:
    with pytest.raises(NoEngineAnsweredError):
        await EngineChain([Passing()]).answer(asked())


def test_a_scripted_call_is_the_call_with_only_its_script_replaced() -> None:
    view = RequestView("v1", "o3-mini", None, {}, BODY)
    request = check_chat_request(BODY, resolve_dated(QUERY["api-version"]), CARD)
    call = EngineCall(request, CARD, "o3-mini", 9, view, None, b"digest")
    script = Script(content="scripted")
    assert call.scripted(script) == dataclasses.replace(call, script=script)
    assert call.scripted(None) == call
