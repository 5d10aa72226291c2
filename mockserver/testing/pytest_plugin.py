"""pytest plugin: one `MockServer` per pytest run (per xdist worker, or one shared by URL),
and a session of its own (`x-mock-session`) for each test.

Fixtures: `azure_mock` (the `MockServer`: .url, .stub(), .requests, .verify(), .reset()…,
every call through the admin API), `azure_openai_client`, `azure_openai_async_client`,
`openai_v1_client` (the server's ready-made clients, max_retries=0). Marker:
`@pytest.mark.azure_mock(stubs=[...], seed=7)`; one with `fixtures=` or `record_mode=`
gets a server of its own for that test. A bug inside the server during a test fails that
test with the server's traceback.

Each test sees only its own session's stubs, scenarios, journal, quota and stored
responses (the client fixtures send its header; `azure_mock.session_headers` for requests
of your own), so many workers can share one server: `--mockserver-url URL` (or the
MOCKSERVER_URL variable) attaches to it instead of starting one. Settings (`configure`, a
marker's seed) are the server's, shared by every session.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the server is imported when a test asks for it, not with the plugin
    from openai import AsyncAzureOpenAI, AzureOpenAI, OpenAI

    from mockserver.testing.server import MockServer

RECORD_MODES = ("none", "once", "new_episodes", "all")
MARKER = "azure_mock"
MARKER_ARGUMENTS = frozenset({"stubs", "seed", "record_mode", "fixtures"})
# Marker arguments the admin API cannot change on a running server: a server of their own.
OWN_SERVER_ARGUMENTS = {"fixtures": "fixtures_dir", "record_mode": "record_mode"}
URL_VARIABLE = "MOCKSERVER_URL"
RUN = secrets.token_hex(8)  # this pytest process (an xdist worker, a CI job)
_NOT_IN_A_SESSION_ID = re.compile(r"[^A-Za-z0-9_.:\-]+")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver", "Azure OpenAI mock server")
    group.addoption(
        "--mockserver-record-mode",
        choices=RECORD_MODES,
        default="none",
        help="record mode of the mock server (default none: replay only)",
    )
    group.addoption("--mockserver-upstream", default=None, help="the real endpoint to record")
    group.addoption(
        "--mockserver-fixtures", default=None, help="recorded interactions to replay (a directory)"
    )
    group.addoption("--mockserver-seed", type=int, default=0, help="seed of the generator")
    group.addoption(
        "--mockserver-url",
        default=os.environ.get(URL_VARIABLE),
        help=f"use the mock server running there (also {URL_VARIABLE}) instead of starting one",
    )
    group.addoption(
        "--mockserver-admin-token",
        default=None,
        help="protect the server's admin API with this token (azure_mock's calls send it)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(stubs=None, seed=None, record_mode=None, fixtures=None): configure the "
        "Azure OpenAI mock server for this test",
    )


@pytest.fixture(scope="session")
def _azure_mock_session(pytestconfig: pytest.Config) -> Iterator[MockServer]:
    from mockserver.testing.server import MockServer

    url = pytestconfig.getoption("--mockserver-url")
    if url:
        token = pytestconfig.getoption("--mockserver-admin-token")
        yield MockServer.attach(url, admin_token=token)
        return
    with MockServer(**_session_options(pytestconfig)) as server:
        yield server


@pytest.fixture
def azure_mock(
    _azure_mock_session: MockServer, request: pytest.FixtureRequest
) -> Iterator[MockServer]:
    """The session's server, reset for this test and set up by its marker."""
    options = _marker_options(request.node.get_closest_marker(MARKER))
    own = {OWN_SERVER_ARGUMENTS[k]: v for k, v in options.items() if k in OWN_SERVER_ARGUMENTS}
    session = session_for(request.node.nodeid)
    if not own:
        with _for_one_test(_azure_mock_session.session(session), options) as server:
            yield server
        return
    with (
        _own_server(request.config, own) as started,
        _for_one_test(started.session(session), options) as server,
    ):
        yield server


def session_for(test_id: str) -> str:
    """A session id for a test: readable, and unique to this pytest process by a hash of
    the whole test id and the run (two CI jobs running the same test share no session)."""
    digest = hashlib.sha256(f"{RUN}:{test_id}".encode()).hexdigest()[:12]
    readable = _NOT_IN_A_SESSION_ID.sub("_", test_id)[-100:].strip("_")
    return f"{readable}-{digest}"


@pytest.fixture
def azure_openai_client(azure_mock: MockServer) -> Iterator[AzureOpenAI]:
    with azure_mock.azure_openai_client() as client:
        yield client


@pytest.fixture
def azure_openai_async_client(azure_mock: MockServer) -> AsyncAzureOpenAI:
    return azure_mock.async_azure_openai_client()


@pytest.fixture
def openai_v1_client(azure_mock: MockServer) -> Iterator[OpenAI]:
    with azure_mock.openai_client() as client:
        yield client


@contextmanager
def _for_one_test(server: MockServer, options: dict[str, Any]) -> Iterator[MockServer]:
    """The server emptied and set up for a test; afterwards its settings as they were, and
    the test failed if the server raised while answering it."""
    before = server.current_settings()
    server.reset()
    server.take_failures()
    _apply(server, options)
    yield server
    _restore(server, before)
    server.reset()  # the test's session is forgotten: a long run holds nothing of it
    failures = server.take_failures()
    if failures:
        text = "".join(traceback.format_exception(failures[0]))
        pytest.fail(f"the mock server failed while answering this test:\n{text}")


@contextmanager
def _own_server(config: pytest.Config, changes: dict[str, Any]) -> Iterator[MockServer]:
    from mockserver.testing.server import MockServer

    try:
        server = MockServer(**{**_session_options(config), **changes})
    except ValueError as error:  # pydantic's ValidationError included
        raise pytest.UsageError(f"{MARKER} marker: {error}") from None
    with server:
        yield server


def _session_options(config: pytest.Config) -> dict[str, Any]:
    options: dict[str, Any] = {
        "seed": config.getoption("--mockserver-seed"),
        "record_mode": config.getoption("--mockserver-record-mode"),
        "upstream": config.getoption("--mockserver-upstream"),
        "fixtures_dir": config.getoption("--mockserver-fixtures"),
        "admin_token": config.getoption("--mockserver-admin-token"),
    }
    if options["record_mode"] != "none" and not (options["upstream"] and options["fixtures_dir"]):
        raise pytest.UsageError(
            "--mockserver-record-mode needs --mockserver-upstream and --mockserver-fixtures"
        )
    return {key: value for key, value in options.items() if value is not None}


def _marker_options(marker: pytest.Mark | None) -> dict[str, Any]:
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError(
            f"{MARKER} marker: keyword arguments only (stubs=, seed=, fixtures=, record_mode=);\n"
            f"positional arguments given: {marker.args!r}"
        )
    unknown = set(marker.kwargs) - MARKER_ARGUMENTS
    if unknown:
        raise pytest.UsageError(f"{MARKER} marker: unknown arguments {sorted(unknown)}")
    return {key: value for key, value in marker.kwargs.items() if value is not None}


def _apply(server: MockServer, options: dict[str, Any]) -> None:
    from mockserver.testing.errors import AdminError

    try:
        if "seed" in options:
            server.configure(seed=options["seed"])
        for stub in options.get("stubs") or []:
            server.stub(stub)
    except (AdminError, ValueError) as error:
        raise pytest.UsageError(f"{MARKER} marker: {error}") from None


def _restore(server: MockServer, before: dict[str, Any]) -> None:
    """Settings the test changed (`configure`, the marker's seed) back as they were."""
    now = server.current_settings()
    changed = {key: value for key, value in before.items() if now.get(key) != value}
    if changed:
        server.configure(**changed)
