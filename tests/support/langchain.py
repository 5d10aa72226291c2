"""LangChain's `AzureChatOpenAI` on a mock server, as the tests build it (a module of its own:
importing LangChain takes a while, and most tests never need it)."""

from __future__ import annotations

from typing import Any

from langchain_openai import AzureChatOpenAI
from pydantic import SecretStr

from mockserver.testing.server import MockServer
from tests.support.chat import API_KEY, API_VERSION, DEPLOYMENT


def azure_chat_model(server: MockServer, **options: Any) -> AzureChatOpenAI:
    """The model on `server`'s o3-mini deployment, no retries, in the handle's session;
    `options` go to `AzureChatOpenAI` (headers are added to the session's)."""
    headers = {**server.session_headers, **(options.pop("default_headers", None) or {})}
    settings: dict[str, Any] = {
        "api_key": SecretStr(API_KEY),
        "api_version": API_VERSION,
        "azure_deployment": DEPLOYMENT,
        "max_retries": 0,
        **options,
    }
    return AzureChatOpenAI(azure_endpoint=server.url, default_headers=headers, **settings)
