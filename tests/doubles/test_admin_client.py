"""The typed admin client drives a server as a separate process would."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from mockserver.stores.journal import VerificationError
from mockserver.testing.admin_client import AdminClient, AdminError
from mockserver.testing.server import MockServer


@pytest.fixture
def running() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


def ask(server: MockServer, text: str) -> openai.types.chat.ChatCompletion:
    with openai.AzureOpenAI(
        azure_endpoint=server.url, api_key="k", api_version="2025-04-01-preview", max_retries=0
    ) as client:
        return client.chat.completions.create(
            model="o3-mini", messages=[{"role": "user", "content": text}]
        )


def test_stub_answer_and_verify_over_http(running: MockServer) -> None:
    admin = AdminClient(running.url)
    assert admin.health()["status"] == "ok"
    stub = admin.add_stub(
        {"match": {"last_user_message": {"contains": "hi"}}, "answer": {"content": "hello"}}
    )
    assert [s.id for s in admin.stubs()] == [stub.id]
    assert ask(running, "hi there").choices[0].message.content == "hello"
    assert admin.count({"last_user_message": {"contains": "hi"}}) == 1
    assert admin.verify({"last_user_message": {"contains": "hi"}}, count=1) == 1
    assert admin.requests(source=f"stub:{stub.id}")[0]["status"] == 200


def test_a_failed_verification_raises_with_the_nearest_request(running: MockServer) -> None:
    admin = AdminClient(running.url)
    ask(running, "hi")
    with pytest.raises(VerificationError, match="the last user message is 'hi'"):
        admin.verify({"last_user_message": {"equals": "bye"}})


def test_bad_input_and_unknown_ids_raise_admin_errors(running: MockServer) -> None:
    admin = AdminClient(running.url)
    with pytest.raises(AdminError) as bad:
        admin.configure(stream_chunking="sometimes")
    assert bad.value.status == 400
    assert bad.value.body["error"]["code"] == "InvalidRequest"
    with pytest.raises(AdminError) as missing:
        admin.delete_stub("no-such-id")
    assert missing.value.status == 404


def test_scenarios_settings_quota_and_reset(running: MockServer) -> None:
    admin = AdminClient(running.url)
    admin.set_scenario("flow", "Later")
    assert admin.scenarios() == {"flow": "Later"}
    assert admin.configure(seed=9)["seed"] == 9
    assert admin.settings()["seed"] == 9
    ask(running, "count me")
    assert admin.quota()["deployments"]["o3-mini"]["requests_last_minute"] == 1
    admin.reset()
    assert admin.requests() == []
    assert admin.quota()["deployments"]["o3-mini"]["requests_last_minute"] == 0
