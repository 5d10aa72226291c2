"""pytest plugin: one mock server per session (per xdist worker), reset before each test.

Fixtures: `azure_mock` (the `MockServer`: .url, .stub(), .requests, .verify(), .reset()),
`azure_openai_client`, `azure_openai_async_client`, `openai_v1_client` (ready-made
clients with max_retries=0). Marker: `@pytest.mark.azure_mock(stubs=[...], seed=7)`.
A bug inside the server during a test fails that test with the server's traceback.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.testing.server import MockServer

DEFAULT_API_VERSION = "2025-04-01-preview"
DEFAULT_API_KEY = "mockserver-key"
RECORD_MODES = ("none", "once", "new_episodes", "all")
MARKER = "azure_mock"
_PER_TEST = ("seed", "fixtures_dir", "record_mode")  # what a marker may change for one test


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
        "--mockserver-admin-token",
        default=None,
        help="protect the server's admin API with this token (azure_mock.admin_client() sends it)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(stubs=None, seed=None, record_mode=None, fixtures=None): configure the "
        "Azure OpenAI mock server for this test",
    )


@pytest.fixture(scope="session")
def _azure_mock_session(pytestconfig: pytest.Config) -> Iterator[MockServer]:
    options = _session_options(pytestconfig)
    with MockServer(**options) as server:
        yield server


@pytest.fixture
def azure_mock(
    _azure_mock_session: MockServer, request: pytest.FixtureRequest
) -> Iterator[MockServer]:
    """The session's server, reset for this test and set up by its marker."""
    server = _azure_mock_session
    session_settings = {key: getattr(server.state.settings, key) for key in _PER_TEST}
    server.reset()
    server.take_failures()
    _apply_marker(server, request.node.get_closest_marker(MARKER))
    yield server
    server.configure(**session_settings)
    failures = server.take_failures()
    if failures:
        text = "".join(traceback.format_exception(failures[0]))
        pytest.fail(f"the mock server failed while answering this test:\n{text}")


@pytest.fixture
def azure_openai_client(azure_mock: MockServer) -> Iterator[Any]:
    import openai

    with openai.AzureOpenAI(
        azure_endpoint=azure_mock.url,
        api_key=DEFAULT_API_KEY,
        api_version=DEFAULT_API_VERSION,
        max_retries=0,
    ) as client:
        yield client


@pytest.fixture
def azure_openai_async_client(azure_mock: MockServer) -> Any:
    import openai

    return openai.AsyncAzureOpenAI(
        azure_endpoint=azure_mock.url,
        api_key=DEFAULT_API_KEY,
        api_version=DEFAULT_API_VERSION,
        max_retries=0,
    )


@pytest.fixture
def openai_v1_client(azure_mock: MockServer) -> Iterator[Any]:
    import openai

    with openai.OpenAI(
        base_url=azure_mock.v1_base_url, api_key=DEFAULT_API_KEY, max_retries=0
    ) as client:
        yield client


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


def _apply_marker(server: MockServer, marker: pytest.Mark | None) -> None:
    if marker is None:
        return
    options = dict(marker.kwargs)
    unknown = set(options) - {"stubs", "seed", "record_mode", "fixtures"}
    if marker.args:
        raise pytest.UsageError(
            f"{MARKER} marker: keyword arguments only (stubs=, seed=, fixtures=, record_mode=);\n"
            f"positional arguments given: {marker.args!r}"
        )
    if unknown:
        raise pytest.UsageError(f"{MARKER} marker: unknown arguments {sorted(unknown)}")
    changes = {
        "seed": options.get("seed"),
        "fixtures_dir": options.get("fixtures"),
        "record_mode": options.get("record_mode"),
    }
    try:
        server.configure(**{key: value for key, value in changes.items() if value is not None})
    except ValueError as error:
        raise pytest.UsageError(f"{MARKER} marker: {error}") from None
    for stub in options.get("stubs") or []:
        server.stub(stub)
