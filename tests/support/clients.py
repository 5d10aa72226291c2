"""The `openai` clients of the tests: the server's own factories with this suite's defaults."""

from __future__ import annotations

from typing import Any

import openai

from mockserver.testing.server import MockServer
from tests.support.chat import API_KEY, API_VERSION


def azure_client(server: MockServer, **options: Any) -> openai.AzureOpenAI:
    """An `AzureOpenAI` on `server`; `options` override the key and api-version. Given an
    `azure_ad_token`, the client sends that alone (no key)."""
    return server.azure_openai_client(**_azure_defaults(options), **options)


def async_azure_client(server: MockServer, **options: Any) -> openai.AsyncAzureOpenAI:
    return server.async_azure_openai_client(**_azure_defaults(options), **options)


def v1_client(server: MockServer, **options: Any) -> openai.OpenAI:
    """An `OpenAI` on the v1 route of `server`."""
    return server.openai_client(**{"api_key": API_KEY, **options})


def _azure_defaults(options: dict[str, Any]) -> dict[str, Any]:
    key = None if "azure_ad_token" in options else API_KEY
    defaults = {"api_key": key, "api_version": API_VERSION}
    return {name: value for name, value in defaults.items() if name not in options}


def async_v1_client(server: MockServer, **options: Any) -> openai.AsyncOpenAI:
    return server.async_openai_client(**{"api_key": API_KEY, **options})
