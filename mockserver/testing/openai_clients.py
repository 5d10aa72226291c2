"""Ready-configured `openai` SDK clients for a mock server.

The `openai` package is optional (the server does not need it), so it is imported only when
a client is asked for, and its absence is said plainly.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openai import AsyncAzureOpenAI, AsyncOpenAI, AzureOpenAI, OpenAI

DEFAULT_API_VERSION = "2025-04-01-preview"
DEFAULT_API_KEY = "mockserver-key"  # the default server accepts any non-empty key
# A test wants to see a 429 or a 500, not the SDK's silent retries of it.
DEFAULT_OPTIONS: dict[str, Any] = {"api_key": DEFAULT_API_KEY, "max_retries": 0}


class OpenAIMissingError(ImportError):
    """A client was asked for and the `openai` package is not installed."""


def import_openai() -> ModuleType:
    try:
        return importlib.import_module("openai")
    except ImportError as error:
        raise OpenAIMissingError(
            "mockserver's client factories need the `openai` package, which is optional: "
            "`pip install openai` (or `pip install 'mockserver[dev]'`)"
        ) from error


def openai_client(v1_base_url: str, **options: Any) -> OpenAI:
    client: OpenAI = _made("OpenAI", base_url=v1_base_url, **options)
    return client


def async_openai_client(v1_base_url: str, **options: Any) -> AsyncOpenAI:
    client: AsyncOpenAI = _made("AsyncOpenAI", base_url=v1_base_url, **options)
    return client


def azure_openai_client(endpoint: str, api_version: str, **options: Any) -> AzureOpenAI:
    client: AzureOpenAI = _made(
        "AzureOpenAI", azure_endpoint=endpoint, api_version=api_version, **options
    )
    return client


def async_azure_openai_client(endpoint: str, api_version: str, **options: Any) -> AsyncAzureOpenAI:
    client: AsyncAzureOpenAI = _made(
        "AsyncAzureOpenAI", azure_endpoint=endpoint, api_version=api_version, **options
    )
    return client


def _made(client_class: str, **options: Any) -> Any:
    """One of the SDK's client classes, with the defaults under the caller's options."""
    return getattr(import_openai(), client_class)(**{**DEFAULT_OPTIONS, **options})
