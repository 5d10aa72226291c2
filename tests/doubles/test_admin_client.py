"""The typed admin client drives a server as a separate process would, with the same calls
and names as `MockServer`; its old names (add_stub, set_scenario, settings) still answer."""

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
    with server.azure_openai_client() as client:
        return client.chat.completions.create(
            model="o3-mini", messages=[{"role": "user", "content": text}]
        )


def test_stub_answer_and_verify_over_http(running: MockServer) -> None:
    admin = AdminClient(running.url)
    assert admin.health().status == "ok"
    stub = admin.stub(match={"last_user_message": {"contains": "hi"}}, answer={"content": "hello"})
    assert [s.id for s in admin.stubs()] == [stub.id]
    assert ask(running, "hi there").choices[0].message.content == "hello"
    assert admin.count({"last_user_message": {"contains": "hi"}}) == 1
    [entry] = admin.verify({"last_user_message": {"contains": "hi"}}, count=1)
    assert entry.stub_id == stub.id
    assert admin.journal(source=f"stub:{stub.id}")[0].status == 200


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
    admin.set_scenario_state("flow", "Later")
    assert admin.scenarios() == {"flow": "Later"}
    assert admin.configure(seed=9)["seed"] == 9
    assert admin.current_settings()["seed"] == 9
    ask(running, "count me")
    assert admin.quota()["o3-mini"].requests_last_minute == 1
    admin.reset()
    assert admin.requests == []
    assert admin.quota()["o3-mini"].requests_last_minute == 0


def test_the_old_names_are_the_new_calls(running: MockServer) -> None:
    admin = AdminClient(running.url)
    stub = admin.add_stub({"answer": {"content": "old name"}})
    assert running.stub_by_id(stub.id).answer.content == "old name"
    admin.set_scenario("flow", "Later")
    assert running.scenario_state("flow") == "Later"
    assert admin.settings() == running.current_settings()


def test_the_token_comes_from_the_servers_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCKSERVER_ADMIN_TOKEN", "from-the-environment")
    with MockServer(admin_token="from-the-environment") as protected:
        admin = AdminClient(protected.url)
        assert admin.stubs() == []
        assert "from-the-environment" not in repr(admin)
