"""The Responses tests run on the plugin's `azure_mock`: a session of their own per test
(stubs, journal and stored responses), the settings a test changes restored after it."""

from __future__ import annotations

import openai
import pytest

from mockserver.testing.server import MockServer


@pytest.fixture
def mock(azure_mock: MockServer) -> MockServer:
    return azure_mock


@pytest.fixture
def azure(azure_openai_client: openai.AzureOpenAI) -> openai.AzureOpenAI:
    """An `AzureOpenAI` on `mock`, in its session."""
    return azure_openai_client


@pytest.fixture
def v1(openai_v1_client: openai.OpenAI) -> openai.OpenAI:
    """An `OpenAI` on `mock`'s v1 route, in its session."""
    return openai_v1_client
