"""The `openai` clients of the tests: the server's own factories with this suite's defaults."""

from __future__ import annotations

from typing import Any, TypeVar

import openai

from mockserver.testing.server import MockServer
from tests.support.chat import API_KEY, API_VERSION

# The sync clients made during the running test, closed when it ends (tests/conftest.py):
# a client left to the garbage collector leaves its sockets open until then, and the
# ResourceWarning lands on whichever later test the collection happens in.
_MADE: list[openai.AzureOpenAI | openai.OpenAI] = []


def close_clients_made() -> None:
    """Close every sync client made since the last call (closing twice is harmless)."""
    while _MADE:
        _MADE.pop().close()


def azure_client(server: MockServer, **options: Any) -> openai.AzureOpenAI:
    """An `AzureOpenAI` on `server`; `options` override the key and api-version. Given an
    `azure_ad_token`, the client sends that alone (no key). Closed when the test ends
    (see `_kept`)."""
    return _kept(server.azure_openai_client(**_azure_defaults(options), **options), options)


def async_azure_client(server: MockServer, **options: Any) -> openai.AsyncAzureOpenAI:
    return server.async_azure_openai_client(**_azure_defaults(options), **options)


def v1_client(server: MockServer, **options: Any) -> openai.OpenAI:
    """An `OpenAI` on the v1 route of `server`, closed when the test ends."""
    return _kept(server.openai_client(**{"api_key": API_KEY, **options}), options)


Client = TypeVar("Client", openai.AzureOpenAI, openai.OpenAI)


def _kept(client: Client, options: dict[str, Any]) -> Client:
    """`client`, to be closed when the test ends, unless it was given an `http_client`:
    closing the SDK client closes that too, and its owner may share it further."""
    if "http_client" not in options:
        _MADE.append(client)
    return client


def _azure_defaults(options: dict[str, Any]) -> dict[str, Any]:
    key = None if "azure_ad_token" in options else API_KEY
    defaults = {"api_key": key, "api_version": API_VERSION}
    return {name: value for name, value in defaults.items() if name not in options}


def async_v1_client(server: MockServer, **options: Any) -> openai.AsyncOpenAI:
    return server.async_openai_client(**{"api_key": API_KEY, **options})
