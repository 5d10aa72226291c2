"""A body sent again is answered from what the checks found the first times
(`operations/repeats.py`): the same answer as a fresh server's, under the settings of now,
and a refusal is refused again every time."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from mockserver import pipeline
from mockserver.config import Settings
from mockserver.contract.errors import AzureError
from mockserver.operations.repeats import RepeatedChecks
from mockserver.state import AppState
from tests.unit.test_pipeline import call, hello, run

SENDS = 4  # a body is kept the second time it is seen: the later sends are answered from it


def fresh() -> AppState:
    return AppState.from_settings(Settings(deterministic_ids=True))


def answered(outcome: pipeline.Outcome) -> dict[str, Any]:
    assert outcome.rendered is not None and outcome.rendered.body is not None
    body: dict[str, Any] = orjson.loads(outcome.rendered.body)
    body.pop("created")
    return body


@pytest.mark.parametrize(
    "body",
    [
        hello(),
        {**hello("Reply in JSON with a name."), "response_format": {"type": "json_object"}},
        {**hello("Count to three."), "max_completion_tokens": 900, "reasoning_effort": "low"},
    ],
)
async def test_a_body_sent_again_gets_a_fresh_servers_answer(body: dict[str, Any]) -> None:
    state = fresh()
    for _ in range(SENDS):
        outcome, trace = await run(state, call(body))
    first, first_trace = await run(fresh(), call(body))
    assert answered(outcome) == answered(first)
    assert trace.usage == first_trace.usage and trace.json_body == first_trace.json_body
    assert trace.deployment == first_trace.deployment == "o3-mini"


async def test_settings_changed_apply_to_a_body_sent_before() -> None:
    state = fresh()
    for _ in range(SENDS):
        await run(state, call(hello()))
    state.install(Settings(deterministic_ids=True, deployments={"other": {"model": "o3-mini"}}))
    with pytest.raises(AzureError) as refused:
        await run(state, call(hello()))
    assert refused.value.name == "DeploymentNotFound"


async def test_a_refused_body_is_refused_every_time() -> None:
    state = fresh()
    for _ in range(SENDS):
        with pytest.raises(AzureError) as refused:
            await run(state, call({**hello(), "temperature": 0.5}))
        assert refused.value.status == 400
        assert refused.value.headers["x-ms-deployment-name"] == "o3-mini"


async def test_the_request_headers_are_read_on_every_send() -> None:
    state = fresh()
    for _ in range(SENDS):
        await run(state, call(hello()))
    with pytest.raises(AzureError) as refused:
        await run(state, call(hello(), headers={"x-mock-latency": "not a latency"}))
    assert refused.value.status == 400


def test_what_was_found_under_other_settings_is_not_given() -> None:
    memo: RepeatedChecks[str] = RepeatedChecks()
    before, after, key = Settings(), Settings(), ("dated", None, None, b"{}")
    memo.put(before, key, "found")
    memo.put(before, key, "found")  # kept the second time
    assert memo.get(before, key) == "found"
    assert memo.get(after, key) is None
    memo.put(after, ("dated", None, None, b"[]"), "other")
    assert memo.get(before, key) is None  # emptied when the settings changed
