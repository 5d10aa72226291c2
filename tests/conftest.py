"""Shared fixtures: one real server per session on 127.0.0.1, and real `openai` clients.

The plugin's own fixtures (`azure_mock`, `azure_openai_client`, ...) serve tests that want a
clean server per test; `server` is the long-lived one that tests sharing state across a
module (or reading what other tests left) use. Its clients come from the server's factories.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
import pytest

from mockserver.testing.server import MockServer
from tests.support.chat import API_KEY
from tests.support.clients import async_azure_client, azure_client, close_clients_made, v1_client


@pytest.fixture(scope="session")
def server() -> Iterator[MockServer]:
    """The embedded default configuration: deployment o3-mini, any non-empty key."""
    with MockServer() as running:
        yield running


@pytest.fixture(scope="session")
def keyed_server() -> Iterator[MockServer]:
    """A server that accepts only `test-key` (as api-key or bearer) and Entra token `entra-ok`."""
    with MockServer(api_keys=[API_KEY], entra_tokens=["entra-ok"]) as running:
        yield running


@pytest.fixture
def client(server: MockServer) -> Iterator[openai.AzureOpenAI]:
    with azure_client(server) as azure:
        yield azure


@pytest.fixture
async def async_client(server: MockServer) -> AsyncIterator[openai.AsyncAzureOpenAI]:
    async with async_azure_client(server) as azure:  # closed on the loop it ran on
        yield azure


@pytest.fixture(autouse=True)
def _clients_closed() -> Iterator[None]:
    """The sync clients a test made with tests.support.clients, closed when it ends."""
    yield
    close_clients_made()


@pytest.fixture(name="v1_client")
def v1_client_fixture(server: MockServer) -> Iterator[openai.OpenAI]:
    with v1_client(server) as v1:
        yield v1
