"""Sessions (`x-mock-session`): many tests on one server, none seeing another's state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from mockserver import MockServer
from mockserver.config import Settings
from mockserver.stores.sessions import DEFAULT_SESSION, MemoryBackend
from mockserver.testing.errors import AdminError

pytest_plugins = ["pytester"]

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]
API_VERSION = "2025-04-01-preview"


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer() as started:
        yield started


def chat(server: MockServer, headers: dict[str, str], content: str = "hello") -> httpx.Response:
    return httpx.post(
        f"{server.url}/openai/deployments/o3-mini/chat/completions",
        params={"api-version": API_VERSION},
        headers={"api-key": "k", **headers},
        json={"messages": [{"role": "user", "content": content}]},
        timeout=30,
    )


def test_stubs_and_the_journal_stay_in_their_session(server: MockServer) -> None:
    alice, bob = server.session("alice"), server.session("bob")
    alice.stub(answer={"content": "for alice"})
    with alice.azure_openai_client(api_key="k") as client:
        reply = client.chat.completions.create(model="o3-mini", messages=HELLO)
    assert reply.choices[0].message.content == "for alice"
    with bob.azure_openai_client(api_key="k") as client:
        other = client.chat.completions.create(model="o3-mini", messages=HELLO)
    assert other.choices[0].message.content != "for alice"
    assert [e.source for e in alice.requests] == [f"stub:{alice.stubs()[0].id}"]
    assert [e.source for e in bob.requests] == ["generator"]
    assert bob.stubs() == [] and server.stubs() == []
    alice.reset()
    bob.reset()


def test_a_request_without_the_header_is_in_the_default_session(server: MockServer) -> None:
    server.reset()
    assert chat(server, {}).status_code == 200
    assert chat(server, {"x-mock-session": "carol"}).status_code == 200
    assert len(server.requests) == 1 and len(server.session("carol").requests) == 1
    assert server.session(DEFAULT_SESSION).requests == server.requests
    server.session("carol").reset()


def test_reset_forgets_one_session_and_leaves_the_others(server: MockServer) -> None:
    keep, drop = server.session("keep"), server.session("drop")
    keep.stub(answer={"content": "kept"})
    drop.stub(answer={"content": "dropped"})
    drop.reset()
    assert drop.stubs() == [] and [s.answer.content for s in keep.stubs()] == ["kept"]
    keep.reset()


def test_quota_is_counted_per_session() -> None:
    # 6 requests a minute: 1 in each 10-second window, as Azure counts them.
    deployments: dict[str, Any] = {"o3-mini": {"requests_per_minute": 6, "enforce_quota": True}}
    with MockServer(deployments=deployments) as limited:
        assert chat(limited, {"x-mock-session": "one"}).status_code == 200
        assert chat(limited, {"x-mock-session": "one"}).status_code == 429
        assert chat(limited, {"x-mock-session": "two"}).status_code == 200


def test_a_stored_response_is_found_only_in_its_session(server: MockServer) -> None:
    with server.session("writer").openai_client(api_key="k") as client:
        first = client.responses.create(model="o3-mini", input="hello")
    with server.session("writer").openai_client(api_key="k") as client:
        client.responses.retrieve(first.id)
    with (
        server.session("reader").openai_client(api_key="k") as client,
        pytest.raises(openai.NotFoundError),
    ):
        client.responses.retrieve(first.id)
    server.session("writer").reset()


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "semi;colon", "a/b"])
def test_a_bad_session_id_is_refused_in_azures_shape(server: MockServer, bad: str) -> None:
    answer = chat(server, {"x-mock-session": bad})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "InvalidMockHeader"
    admin = httpx.get(f"{server.url}/__admin/stubs", headers={"x-mock-session": bad}, timeout=30)
    assert admin.status_code == 400
    with pytest.raises(AdminError):
        server.session(bad).stubs()


def test_the_admin_api_takes_the_session_as_a_query_parameter_too(server: MockServer) -> None:
    server.session("by-query").stub(answer={"content": "q"})
    listed = httpx.get(f"{server.url}/__admin/stubs", params={"session": "by-query"}, timeout=30)
    assert [s["answer"]["content"] for s in listed.json()["stubs"]] == ["q"]
    server.session("by-query").reset()


def test_memory_sessions_are_bounded_and_the_default_is_never_dropped() -> None:
    backend = MemoryBackend(Settings(), max_sessions=3)
    default = backend.stores(DEFAULT_SESSION)
    for name in ("a", "b", "c", "d"):
        backend.stores(name)
    assert list(backend.sessions) == [DEFAULT_SESSION, "c", "d"]  # a and b, least recent
    assert backend.stores(DEFAULT_SESSION) is default


PER_TEST = """
def test_one(azure_mock, azure_openai_client):
    azure_mock.stub(answer={"content": "one"})
    reply = azure_openai_client.chat.completions.create(
        model="o3-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.choices[0].message.content == "one"
    assert len(azure_mock.requests) == 1


def test_two(azure_mock, azure_openai_client):
    reply = azure_openai_client.chat.completions.create(
        model="o3-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.choices[0].message.content != "one"
    assert len(azure_mock.requests) == 1
    assert azure_mock.session_name and "test_two" in azure_mock.session_name
"""


def test_the_plugin_gives_each_test_its_own_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=PER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_many_pytest_runs_share_one_server_by_url(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=PER_TEST)
    with MockServer() as shared:
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_inner.py"],
                cwd=pytester.path,
                env={**_environ(), "MOCKSERVER_URL": shared.url},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(3)
        ]
        outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
        assert [run.returncode for run in runs] == [0, 0, 0], "\n".join(outputs)
        assert shared.requests == [] and shared.stubs() == []  # all in the tests' sessions
        backend = shared.state.backend
        assert isinstance(backend, MemoryBackend)
        assert backend.sessions.keys() == {DEFAULT_SESSION}  # each test's session forgotten


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}


REPLAYED = """
import httpx

def ask(azure_mock):
    return httpx.post(
        azure_mock.url + "/openai/deployments/o3-mini/chat/completions",
        params={"api-version": "2025-04-01-preview"},
        headers={"api-key": "k", **azure_mock.session_headers},
        json={"messages": [{"role": "user", "content": "hello"}]},
    )

def test_one(azure_mock):
    assert ask(azure_mock).json() == {"replayed": True}

def test_two(azure_mock):
    assert ask(azure_mock).json() == {"replayed": True}
"""


def test_each_test_of_the_plugin_starts_the_tape_again(pytester: pytest.Pytester) -> None:
    interaction = {
        "request": {
            "method": "POST",
            "path": "/openai/deployments/o3-mini/chat/completions",
            "query": {"api-version": API_VERSION},
            "body": {"messages": HELLO},
        },
        "response": {"status": 200, "headers": {}, "body": '{"replayed": true}'},
    }
    fixtures = pytester.mkdir("fixtures")
    (fixtures / "one.json").write_text(json.dumps({"version": 1, "interactions": [interaction]}))
    pytester.makepyfile(test_inner=REPLAYED)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--mockserver-fixtures", str(fixtures)
    )
    result.assert_outcomes(passed=2)


def test_the_journal_says_which_engine_answered_why_and_how_long_it_took(
    server: MockServer,
) -> None:
    why = server.session("why")
    stub = why.stub(answer={"content": "stubbed"}, times=1)
    with why.azure_openai_client(api_key="k") as client:
        for _ in range(2):
            client.chat.completions.create(model="o3-mini", messages=HELLO)
    first, second = why.requests
    assert (first.source, first.why) == (f"stub:{stub.id}", f"stub {stub.id} matched")
    assert (second.source, second.why) == ("generator", "no stub or recording answered")
    assert all(entry.engine_ms is not None and entry.engine_ms >= 0 for entry in why.requests)
    why.reset()
