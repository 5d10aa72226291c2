"""`from mockserver import MockServer`: started here (sync and async) or attached to a server
in another process, every typed call a round trip through the real admin API, the `openai`
SDK's clients made ready for it, the admin token sent and never shown, errors typed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import openai
import pytest

from mockserver import AdminClient, AdminError, MockServer, VerificationFailedError
from mockserver.engines.matching import RequestMatch, TextMatch
from mockserver.engines.stubs import Stub
from mockserver.stores.journal import VerificationError
from mockserver.stores.journal_entry import JournalEntry
from mockserver.testing.answers import DeploymentQuota, Health
from mockserver.testing.openai_clients import OpenAIMissingError
from tests.support import rawhttp
from tests.support.chat import user
from tests.support.waiting import WAIT_SECONDS, Lines

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"^mockserver listening on (http://127\.0\.0\.1:\d+)$")
TOKEN = "front-door-t0ken"
HELLO = {"match": {"last_user_message": {"contains": "hi"}}, "answer": {"content": "hello"}}


def ask(client: openai.AzureOpenAI | openai.OpenAI, text: str = "hi there") -> str | None:
    reply = client.chat.completions.create(model="o3-mini", messages=user(text))
    return reply.choices[0].message.content


@contextmanager
def served(*flags: str) -> Iterator[str]:
    """`mockserver serve --port 0` in its own process; its URL."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}
    command = [sys.executable, "-m", "mockserver", "serve", "--port", "0", *flags]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    stdout, stderr = Lines(process.stdout), Lines(process.stderr)
    try:
        yield stdout.wait_for(READY).group(1)
    finally:
        process.terminate()
        process.wait(WAIT_SECONDS)
        stdout.rest(), stderr.rest()
        process.stdout.close(), process.stderr.close()


# --- starting and attaching ----------------------------------------------------------------


def test_the_sync_context_manager_serves_on_loopback_and_stops() -> None:
    with MockServer(seed=3) as server:
        assert server.url.startswith("http://127.0.0.1:") and server.port > 0
        assert server.health().status == "ok"
        assert server.current_settings()["seed"] == 3
        assert not server.attached
        with server.azure_openai_client() as client:
            ask(client)
    with pytest.raises(OSError):  # stopped: nothing answers there any more
        server.health()
    assert [entry.status for entry in server.requests] == [200]  # the journal as it stopped


async def test_the_async_context_manager_serves_async_clients() -> None:
    async with MockServer() as server:
        server.stub(HELLO)
        async with server.async_azure_openai_client() as client:
            reply = await client.chat.completions.create(model="o3-mini", messages=user("hi"))
        assert reply.choices[0].message.content == "hello"
        assert [entry.status for entry in server.requests] == [200]


def test_attach_drives_a_server_in_another_process() -> None:
    with served("--admin-token", TOKEN) as url:
        with MockServer.attach(url, admin_token=TOKEN) as server:
            assert server.attached and server.url == url
            server.stub(HELLO)
            with server.azure_openai_client() as client:
                assert ask(client) == "hello"
            assert len(server.verify(last_user_message={"contains": "hi"}, count=1)) == 1
            assert server.take_failures() == []  # another process's exceptions stay there
        assert server.health().status == "ok"  # leaving `with` left it running


def test_attach_to_a_second_in_process_server() -> None:
    with MockServer() as first:
        second = MockServer.attach(first.url)
        second.stub(HELLO)
        assert [stub.answer.content for stub in first.stubs()] == ["hello"]


def test_attach_to_nothing_fails_at_once() -> None:
    with MockServer() as server:
        url = server.url
    with pytest.raises(ConnectionError, match=f"no mock server answers at {url}"):
        MockServer.attach(url, timeout=5)


def test_settings_and_keywords_are_one_or_the_other() -> None:
    with pytest.raises(TypeError):
        MockServer(MockServer(seed=1).settings, seed=2)


def test_a_server_not_started_says_so() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        MockServer().stubs()


# --- every typed call, through the real server ----------------------------------------------


def test_health(mock: MockServer) -> None:
    health = mock.health()
    assert isinstance(health, Health)
    assert (health.status, health.version) == ("ok", __import__("mockserver").__version__)


def test_stubs_are_added_listed_read_replaced_and_deleted(mock: MockServer) -> None:
    added = mock.stub(Stub.model_validate(HELLO))
    by_keywords = mock.stub(answer={"content": "second"}, priority=9)
    assert [stub.id for stub in mock.stubs()] == [added.id, by_keywords.id]
    assert mock.stub_by_id(added.id).answer.content == "hello"
    replaced = mock.replace_stub(added.id, {"answer": {"content": "replaced"}, "times": 1})
    assert (replaced.id, replaced.times) == (added.id, 1)
    with mock.azure_openai_client() as client:
        assert ask(client) == "replaced"
    assert mock.stub_by_id(added.id).exhausted()  # answered, counted by the server
    mock.delete_stub(added.id)
    assert [stub.id for stub in mock.stubs()] == [by_keywords.id]


def test_the_journal_is_read_filtered_found_counted_and_verified(mock: MockServer) -> None:
    stub = mock.stub(HELLO)
    with mock.azure_openai_client() as client:
        ask(client, "hi")
        ask(client, "goodbye")
    entries = mock.requests
    assert all(isinstance(entry, JournalEntry) for entry in entries)
    assert [entry.source for entry in entries] == [f"stub:{stub.id}", "generator"]
    assert entries[0].body["messages"][0]["content"] == "hi"
    assert [e.id for e in mock.journal(source="generator")] == [entries[1].id]
    assert [e.id for e in mock.journal(limit=1)] == [entries[1].id]
    assert [e.id for e in mock.journal(since=entries[0].id)] == [entries[1].id]
    assert mock.journal(status=500) == []
    assert [e.id for e in mock.find(RequestMatch(last_user_message=TextMatch(equals="hi")))] == [
        entries[0].id
    ]
    assert mock.count({"last_user_message": {"contains": "bye"}}) == 1
    assert mock.count() == 2
    [verified] = mock.verify(last_user_message={"equals": "hi"}, count=1)
    assert verified.stub_id == stub.id


def test_scenarios_are_read_set_and_reset(mock: MockServer) -> None:
    mock.stub(scenario="flow", required_state="Started", new_state="later", answer={"content": "1"})
    assert (mock.scenario_state("flow"), mock.scenario_state("other")) == ("Started", None)
    mock.set_scenario_state("flow", "later")
    assert mock.scenarios() == {"flow": "later"}
    mock.reset_scenarios()
    assert mock.scenario_state("flow") == "Started"
    assert len(mock.stubs()) == 1


def test_reset_forgets_all_or_only_the_parts_named(mock: MockServer) -> None:
    mock.stub(HELLO)
    with mock.azure_openai_client() as client:
        ask(client)
    mock.reset(["journal"])
    assert (mock.requests, len(mock.stubs())) == ([], 1)
    mock.reset()
    assert mock.stubs() == []


def test_configure_and_current_settings(mock: MockServer) -> None:
    changed = mock.configure(seed=41, deterministic_ids=True)
    assert (changed["seed"], changed["deterministic_ids"]) == (41, True)
    assert mock.current_settings()["seed"] == 41
    mock.configure(deterministic_ids=False)


def test_restore_settings_undoes_every_change(mock: MockServer) -> None:
    started = mock.current_settings()
    mock.configure(seed=started["seed"] + 1, region="westus", stream_obfuscation=False)
    assert mock.restore_settings() == started
    raw = rawhttp.request(mock.url + "/__admin/settings", "DELETE")
    assert (raw.status, raw.json()) == (200, started)


def test_quota_counts_what_was_used(mock: MockServer) -> None:
    with mock.azure_openai_client() as client:
        ask(client)
    quota = mock.quota()["o3-mini"]
    assert isinstance(quota, DeploymentQuota)
    assert quota.requests_last_minute == 1 and quota.tokens_this_minute > 0


# --- the openai SDK's clients --------------------------------------------------------------


def test_the_v1_client(mock: MockServer) -> None:
    mock.stub(HELLO)
    with mock.openai_client() as client:
        assert isinstance(client, openai.OpenAI) and ask(client) == "hello"
    assert mock.requests[-1].path == "/openai/v1/chat/completions"


async def test_the_async_v1_client(mock: MockServer) -> None:
    mock.stub(HELLO)
    async with mock.async_openai_client() as client:
        reply = await client.chat.completions.create(model="o3-mini", messages=user("hi"))
    assert reply.choices[0].message.content == "hello"


def test_the_azure_client_at_an_api_version(mock: MockServer) -> None:
    with mock.azure_openai_client(api_version="2024-12-01-preview") as client:
        assert isinstance(client, openai.AzureOpenAI) and ask(client)
    assert mock.requests[-1].query["api-version"] == "2024-12-01-preview"


def test_client_options_go_to_the_sdk() -> None:
    with MockServer(api_keys=["the-key"]) as server:
        with server.azure_openai_client(api_key="the-key", max_retries=2) as client:
            assert client.max_retries == 2 and ask(client)
        with server.azure_openai_client() as client, pytest.raises(openai.AuthenticationError):
            ask(client)  # the default key is not this server's


def test_without_the_openai_package_the_error_says_so(
    mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)  # as if not installed
    with pytest.raises(OpenAIMissingError, match="pip install openai"):
        mock.openai_client()


# --- the admin token and errors --------------------------------------------------------------


def test_the_admin_token_is_sent_and_never_shown() -> None:
    with MockServer(admin_token=TOKEN) as server:
        server.stub(HELLO)  # refused with 401 if the token were not sent
        admin = server.admin_client()
        assert [stub.id for stub in admin.stubs()] == [stub.id for stub in server.stubs()]
        attached = MockServer.attach(server.url, admin_token=TOKEN)
        for shown in (server, server.admin_http, admin, admin.admin_http, attached):
            assert TOKEN not in repr(shown) and TOKEN not in str(vars(shown))
        with pytest.raises(AdminError) as refused:
            MockServer.attach(server.url).stubs()  # health is open; the rest wants the token
    assert (refused.value.status, refused.value.code) == (401, "Unauthorized")


def test_refusals_are_typed_with_status_and_azure_body(mock: MockServer) -> None:
    with pytest.raises(AdminError) as bad:
        mock.configure(stream_chunking="sometimes")
    assert (bad.value.status, bad.value.code) == (400, "InvalidRequest")
    assert bad.value.body["error"]["message"] == bad.value.message
    with pytest.raises(AdminError) as missing:
        mock.stub_by_id("no-such-id")
    assert (missing.value.status, missing.value.code) == (404, "NotFound")


def test_a_failed_verification_is_an_assertion_and_a_409(mock: MockServer) -> None:
    with mock.azure_openai_client() as client:
        ask(client, "hi")
    with pytest.raises(VerificationFailedError) as failed:
        mock.verify(last_user_message={"equals": "bye"})
    assert isinstance(failed.value, AssertionError | VerificationError)
    assert failed.value.status == 409 and "the last user message is 'hi'" in str(failed.value)


def test_the_admin_client_is_the_same_api(mock: MockServer) -> None:
    admin = AdminClient(mock.url, session=mock.session_name)
    stub = admin.add_stub(HELLO)  # the old name README "Testing your app" gives
    assert admin.stub_by_id(stub.id) == mock.stub_by_id(stub.id)
    admin.set_scenario("old", "name")
    assert admin.scenarios() == mock.scenarios() == {"old": "name"}
    assert admin.settings() == mock.current_settings()


# --- the package's front door ----------------------------------------------------------------


def test_import_mockserver_and_its_pytest_plugin_stay_cheap() -> None:
    # Installing the package loads the plugin into every pytest run: the server (aiohttp
    # and all) comes in only when a test asks for a fixture.
    probe = (
        "import sys, mockserver, mockserver.testing.pytest_plugin; print('aiohttp' in sys.modules)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert shown.stdout.split()[0] == "False"
    with pytest.raises(AttributeError):
        __import__("mockserver").NoSuchThing  # noqa: B018
