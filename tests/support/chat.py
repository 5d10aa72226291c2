"""A chat completions request as the tests send it: key, api-version, deployment, route."""

from __future__ import annotations

import re
from typing import Any

from openai.types.chat import ChatCompletionMessageParam

from mockserver.testing.server import MockServer

API_KEY = "test-key"
API_VERSION = "2025-04-01-preview"
DEPLOYMENT = "o3-mini"
MODEL_ID = "o3-mini-2025-01-31"

CHAT_ID = re.compile(r"^chatcmpl-[A-Za-z0-9]{29}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def user(text: str) -> list[ChatCompletionMessageParam]:
    """One user message: the smallest conversation."""
    return [{"role": "user", "content": text}]


def chat_route(deployment: str = DEPLOYMENT) -> str:
    """The dated chat route of `deployment`, without its query (as the journal keeps it)."""
    return f"/openai/deployments/{deployment}/chat/completions"


def chat_path(deployment: str = DEPLOYMENT, api_version: str | None = API_VERSION) -> str:
    """The route with its `api-version` query (none when `api_version` is None)."""
    query = f"?api-version={api_version}" if api_version is not None else ""
    return chat_route(deployment) + query


def chat_url(
    server: MockServer, deployment: str = DEPLOYMENT, api_version: str | None = API_VERSION
) -> str:
    return server.url + chat_path(deployment, api_version)


def chat_body(text: str, **params: Any) -> dict[str, Any]:
    """A raw chat body: one user message and any other parameters."""
    return {"messages": user(text), **params}
