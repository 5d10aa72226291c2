"""Shared fixtures: one real server per session on 127.0.0.1, and real `openai` clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from mockserver.testing.server import MockServer
from tests import rawhttp

API_VERSION = "2025-04-01-preview"
DEPLOYMENT = "o3-mini"
API_KEY = "test-key"


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
    with openai.AzureOpenAI(
        azure_endpoint=server.url, api_key=API_KEY, api_version=API_VERSION, max_retries=0
    ) as azure:
        yield azure


@pytest.fixture
def async_client(server: MockServer) -> openai.AsyncAzureOpenAI:
    return openai.AsyncAzureOpenAI(
        azure_endpoint=server.url, api_key=API_KEY, api_version=API_VERSION, max_retries=0
    )


@pytest.fixture
def v1_client(server: MockServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.v1_base_url, api_key=API_KEY, max_retries=0) as v1:
        yield v1


def chat_url(
    server: MockServer, deployment: str = DEPLOYMENT, api_version: str | None = API_VERSION
) -> str:
    query = f"?api-version={api_version}" if api_version is not None else ""
    return f"{server.url}/openai/deployments/{deployment}/chat/completions{query}"


def post_chat(server: MockServer, body: Any, **kwargs: Any) -> rawhttp.RawResponse:
    """POST a chat body (dict or raw bytes) to the dated route with a key."""
    headers = {"api-key": API_KEY, **kwargs.pop("headers", {})}
    return rawhttp.request(chat_url(server, **kwargs), body=body, headers=headers)
