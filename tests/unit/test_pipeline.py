"""The one request path in-process: `pipeline.run` on a `Call`, no socket, no aiohttp.

An operation defined here (`Shout`) goes through the same path as chat completions: the
pipeline needs nothing of an operation but its five hooks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from multidict import CIMultiDict

from mockserver import pipeline
from mockserver.config import Settings
from mockserver.contract.api_versions import resolve_v1
from mockserver.contract.errors import AzureError
from mockserver.engines.stubs import Stub
from mockserver.operations.base import Answer, Call, Parsed, Rendered, Route
from mockserver.operations.chat import ChatCompletions
from mockserver.serialize.sse import frames_of
from mockserver.state import AppState

CHAT = ChatCompletions()
PATH = "/openai/deployments/o3-mini/chat/completions"
QUERY = {"api-version": "2025-04-01-preview"}


def call(
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    session: str = "default",
    deployment: str = "o3-mini",
) -> Call:
    return Call(
        surface="dated",
        method="POST",
        path=PATH,
        path_qs=PATH + "?api-version=2025-04-01-preview",
        query=QUERY,
        headers=CIMultiDict({"api-key": "k", **(headers or {})}),
        body=orjson.dumps(body),
        path_params={"deployment": deployment},
        request_id="req-1",
        session=session,
    )


def hello(content: str = "Name a colour.") -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}]}


async def run(state: AppState, request: Call) -> tuple[pipeline.Outcome, pipeline.Trace]:
    trace = pipeline.Trace()
    return await pipeline.run(state, CHAT, request, trace), trace


@pytest.fixture
def state() -> AppState:
    return AppState.from_settings(Settings(deterministic_ids=True))


async def test_a_chat_request_is_rendered_with_the_models_headers(state: AppState) -> None:
    outcome, trace = await run(state, call(hello()))
    assert outcome.rendered is not None and outcome.rendered.body is not None
    body = orjson.loads(outcome.rendered.body)
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["content"]
    assert outcome.headers["x-ms-deployment-name"] == "o3-mini"
    assert "x-ratelimit-remaining-tokens" in outcome.headers
    assert trace.source == "generator" and trace.deployment == "o3-mini"
    assert trace.usage is not None and trace.usage.prompt_tokens == body["usage"]["prompt_tokens"]
    assert trace.reply is not None and trace.reply.engine == "generator"


async def test_the_same_request_gives_the_same_reply(state: AppState) -> None:
    first, _ = await run(state, call(hello()))
    again, _ = await run(state, call(hello()))
    assert first.rendered is not None and again.rendered is not None
    assert first.rendered.body == again.rendered.body  # deterministic ids are on


async def test_a_stream_is_frames_paced_by_the_latency(state: AppState) -> None:
    outcome, _ = await run(state, call({**hello(), "stream": True}))
    assert outcome.rendered is not None and outcome.rendered.frames is not None
    assert outcome.pacer is not None and outcome.rendered.body is None
    frames = list(frames_of(outcome.rendered.frames.segments()))
    assert frames[-1] == b"data: [DONE]\n\n"
    assert outcome.rendered.headers and "azureai-fe-is-streaming" in outcome.rendered.headers


async def test_a_refused_body_carries_the_models_headers(state: AppState) -> None:
    with pytest.raises(AzureError) as raised:
        await run(state, call({"messages": "not a list"}))
    assert raised.value.status == 400
    assert raised.value.headers["x-ms-deployment-name"] == "o3-mini"


async def test_an_unknown_deployment_is_the_gateways_404_without_model_headers(
    state: AppState,
) -> None:
    with pytest.raises(AzureError) as raised:
        await run(state, call(hello(), deployment="gpt-nothing"))
    assert raised.value.status == 404 and raised.value.name == "DeploymentNotFound"
    assert "x-ms-deployment-name" not in raised.value.headers


async def test_a_header_fault_acts_before_any_engine(state: AppState) -> None:
    await state.stores().stubs.add(Stub.model_validate({"answer": {"content": "never"}}))
    with pytest.raises(AzureError) as raised:
        await run(state, call(hello(), {"x-mock-fault": "503"}))
    assert raised.value.status == 503
    outcome, trace = await run(state, call(hello(), {"x-mock-fault": "reset"}))
    assert outcome.plan.on_connection == "reset" and outcome.rendered is None
    assert trace.fault == "reset" and trace.source == "gateway"
    assert (await state.stores().stubs.all())[0].answered == 0


async def test_a_stubs_fault_is_carried_to_the_writer(state: AppState) -> None:
    stub = await state.stores().stubs.add(Stub.model_validate({"answer": {"fault": "truncate"}}))
    outcome, trace = await run(state, call(hello()))
    assert outcome.plan.on_body == "truncate"
    assert outcome.rendered is not None and outcome.rendered.body  # whole: the writer cuts it
    assert trace.source == f"stub:{stub.id}" and trace.fault == "truncate"


async def test_a_stub_answers_only_in_its_session(state: AppState) -> None:
    await state.stores("alice").stubs.add(Stub.model_validate({"answer": {"content": "hi alice"}}))
    mine, _ = await run(state, call(hello(), session="alice"))
    theirs, _ = await run(state, call(hello(), session="bob"))
    assert mine.rendered is not None and b"hi alice" in (mine.rendered.body or b"")
    assert theirs.rendered is not None and b"hi alice" not in (theirs.rendered.body or b"")


async def test_seeded_rates_fault_past_the_gateway() -> None:
    settings = Settings(deployments={"o3-mini": {"fault_rates": {"500": 1.0}}})
    state = AppState.from_settings(settings)
    with pytest.raises(AzureError) as raised:
        await run(state, call(hello()))
    assert raised.value.status == 500
    assert "x-ms-deployment-name" not in raised.value.headers  # a fault, not the model's answer


async def test_quota_refuses_past_the_limit_when_enforced() -> None:
    deployments = {"o3-mini": {"requests_per_minute": 6, "enforce_quota": True}}
    state = AppState.from_settings(Settings(deployments=deployments))
    await run(state, call(hello()))
    with pytest.raises(AzureError) as raised:
        await run(state, call(hello()))
    assert raised.value.status == 429
    assert raised.value.headers["x-ms-deployment-name"] == "o3-mini"


class Shout:
    """An operation of this test's own: `{"model": ..., "say": text}` on v1, answered in
    capitals. Nothing else is needed for the pipeline to serve it."""

    name = "shout"
    parses_the_body_alone = True
    routes = (Route("POST", "/openai/v1/shout", "v1", resolve_v1),)

    def deployment_in_path(self, call: Call) -> str | None:
        return None

    async def parse(self, state: AppState, call: Call, body: dict[str, Any]) -> Parsed:
        return Parsed({"messages": [{"role": "user", "content": body["say"]}]}, body["say"])

    def in_own_words(self, error: AzureError, parsed: Parsed) -> AzureError:
        return error

    async def render(self, state: AppState, call: Call, parsed: Parsed, answer: Answer) -> Rendered:
        text = answer.completion.choices[0].content or ""
        return Rendered(body=orjson.dumps({"heard": parsed.context, "shout": text.upper()}))


async def test_a_new_operation_goes_through_the_same_path(state: AppState) -> None:
    request = Call(
        surface="v1",
        method="POST",
        path="/openai/v1/shout",
        path_qs="/openai/v1/shout",
        query={},
        headers=CIMultiDict({"api-key": "k"}),
        body=orjson.dumps({"model": "o3-mini", "say": "hello there"}),
        path_params={},
        request_id="req-2",
        session="default",
    )
    trace = pipeline.Trace()
    outcome = await pipeline.run(state, Shout(), request, trace)
    assert outcome.rendered is not None and outcome.rendered.body is not None
    said = orjson.loads(outcome.rendered.body)
    assert said["heard"] == "hello there" and said["shout"] == said["shout"].upper()
    assert trace.usage is not None and trace.usage.prompt_tokens > 0
    assert outcome.headers["x-ms-deployment-name"] == "o3-mini"


def fixtures_dir(tmp_path: Path) -> Path:
    interaction = {
        "request": {"method": "POST", "path": PATH, "query": QUERY, "body": hello()},
        "response": {"status": 200, "headers": {}, "body": '{"replayed": true}'},
    }
    (tmp_path / "one.json").write_text(json.dumps({"version": 1, "interactions": [interaction]}))
    return tmp_path


async def test_a_replay_is_neither_charged_nor_faulted_when_stubs_exist(tmp_path: Path) -> None:
    deployments = {"o3-mini": {"fault_rates": {"500": 1.0}, "tokens_per_minute": 1000}}
    settings = Settings(fixtures_dir=fixtures_dir(tmp_path), deployments=deployments)
    state = AppState.from_settings(settings)
    never = {"match": {"last_user_message": {"contains": "never sent"}}, "answer": {"content": "x"}}
    await state.stores().stubs.add(Stub.model_validate(never))
    outcome, trace = await run(state, call(hello()))
    assert outcome.raw is not None and outcome.raw.body == b'{"replayed": true}'
    assert trace.source == "fixture:one.json#0" and trace.fault is None
    assert trace.deployment == ""  # a recording answered, not the model
    assert await state.stores().quota.usage() == {}


async def test_an_upstream_that_fails_is_journaled_as_the_upstream(tmp_path: Path) -> None:
    settings = Settings(fixtures_dir=tmp_path, record_mode="all", upstream="http://127.0.0.1:9")
    state = AppState.from_settings(settings)
    await state.stores().stubs.add(
        Stub.model_validate(
            {"match": {"last_user_message": {"contains": "zzz"}}, "answer": {"content": "x"}}
        )
    )
    trace = pipeline.Trace()
    try:
        with pytest.raises(AzureError) as raised:
            await pipeline.run(state, CHAT, call(hello()), trace)
    finally:
        await state.close()
    assert trace.source == "upstream" and trace.reply is not None
    assert raised.value.status == 502 and raised.value.name == "UpstreamUnavailable"
    assert "x-ms-deployment-name" not in raised.value.headers  # not the model's answer
