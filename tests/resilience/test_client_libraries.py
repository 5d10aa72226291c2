"""LangChain's `AzureChatOpenAI` and LiteLLM meet the injected faults as their own errors.

Both are used unmodified; the faults come from `x-mock-fault` headers (LangChain sends them
as `default_headers`, LiteLLM as `extra_headers`). With their retries on, a single 429
is absorbed and the journal shows the 429 and the 200 that followed.
"""

from __future__ import annotations

import asyncio
import os
import warnings

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # never fetch the cost map

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import litellm
import openai
import pytest
from langchain_openai import AzureChatOpenAI
from litellm import exceptions as litellm_errors

from mockserver.testing.server import MockServer
from tests.resilience.helpers import fault, statuses
from tests.support.chat import API_VERSION, DEPLOYMENT
from tests.support.langchain import azure_chat_model
from tests.support.litellm_clients import close_litellm_clients

litellm.suppress_debug_info = True

# LiteLLM's lazily imported types make pydantic warn about `ReadOnly` TypedDict items on the
# first call; that is LiteLLM's business, not a fault the mock should be blamed for.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*using the `ReadOnly` qualifier. Pydantic will not protect:UserWarning"
)

MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "hi"}]
TOKEN_429 = "have exceeded token rate limit of your current AIServices S0 pricing tier"
SERVER_ERROR = "The server had an error while processing your request."
UNAVAILABLE = "The service is temporarily unable to process your request."

MakeLlm = Callable[..., AzureChatOpenAI]


@pytest.fixture(autouse=True)
def _no_server_failures(server: MockServer) -> Iterator[None]:
    server.take_failures()
    yield
    failures = server.take_failures()
    assert not failures, f"the mock server failed while answering: {failures!r}"


@pytest.fixture(scope="module", autouse=True)
def _litellm_loop_closed() -> Iterator[None]:
    """LiteLLM's sync calls ask asyncio for the current event loop, which makes one for the
    main thread and leaves it open: closed here, not found by the garbage collector in some
    later test (where its unclosed socket pair becomes that test's ResourceWarning)."""
    yield
    close_litellm_clients()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:  # none is current (set to None before): nothing was left open
            return
    if not loop.is_running():
        loop.close()
        asyncio.set_event_loop(None)


# --- LangChain ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http_client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture
def azure_chat(server: MockServer, http_client: httpx.Client) -> MakeLlm:
    """`AzureChatOpenAI` on the mock with its own HTTP client (LangChain's cached default
    clients would outlive the test), sending `headers` on every request."""

    def make(headers: dict[str, str], max_retries: int = 0) -> AzureChatOpenAI:
        return azure_chat_model(
            server, max_retries=max_retries, default_headers=headers, http_client=http_client
        )

    return make


def test_langchain_429_is_openai_rate_limit_error(azure_chat: MakeLlm, server: MockServer) -> None:
    headers, fault_id = fault("429")
    with pytest.raises(openai.RateLimitError) as caught:
        azure_chat(headers).invoke("hi")
    assert caught.value.status_code == 429
    assert caught.value.code == "429"
    assert TOKEN_429 in caught.value.message
    assert statuses(server, fault_id, 1) == [429]


def test_langchain_500_is_openai_internal_server_error(
    azure_chat: MakeLlm, server: MockServer
) -> None:
    headers, fault_id = fault("500")
    with pytest.raises(openai.InternalServerError) as caught:
        azure_chat(headers).invoke("hi")
    assert caught.value.status_code == 500
    assert caught.value.type == "server_error"
    assert SERVER_ERROR in caught.value.message
    assert statuses(server, fault_id, 1) == [500]


def test_langchain_reset_is_openai_connection_error(
    azure_chat: MakeLlm, server: MockServer
) -> None:
    headers, fault_id = fault("reset")
    with pytest.raises(openai.APIConnectionError) as caught:
        azure_chat(headers).invoke("hi")
    assert not isinstance(caught.value, openai.APITimeoutError)
    assert len(statuses(server, fault_id, 1)) == 1


def test_langchain_stream_error_is_openai_api_error(
    azure_chat: MakeLlm, server: MockServer
) -> None:
    headers, fault_id = fault("stream-error")
    received: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in azure_chat(headers).stream("hi"):
            received.append(str(chunk.content))
    # The error frame of a stream that had started: no HTTP status to speak of.
    assert not isinstance(caught.value, openai.APIStatusError)
    assert SERVER_ERROR in caught.value.message
    assert "".join(received)  # some content came before the error
    assert statuses(server, fault_id, 1) == [200]


def test_langchain_retries_through_one_429(azure_chat: MakeLlm, server: MockServer) -> None:
    headers, fault_id = fault("429", count=1)
    reply = azure_chat(headers, max_retries=2).invoke("hi")
    assert isinstance(reply.content, str) and reply.content
    assert statuses(server, fault_id, 2) == [429, 200]


# --- LiteLLM ------------------------------------------------------------------------------------


def litellm_call(server: MockServer, headers: dict[str, str], **options: Any) -> Any:
    options.setdefault("num_retries", 0)
    return litellm.completion(
        model=f"azure/{DEPLOYMENT}",
        api_base=server.url,
        api_version=API_VERSION,
        api_key="k",
        messages=MESSAGES,
        extra_headers=headers,
        **options,
    )


def test_litellm_429_is_litellm_rate_limit_error(server: MockServer) -> None:
    headers, fault_id = fault("429")
    with pytest.raises(litellm_errors.RateLimitError) as caught:
        litellm_call(server, headers)
    assert caught.value.status_code == 429
    assert caught.value.llm_provider == "azure"
    assert TOKEN_429 in caught.value.message
    assert statuses(server, fault_id, 1) == [429]


def test_litellm_500_is_litellm_api_error(server: MockServer) -> None:
    headers, fault_id = fault("500")
    with pytest.raises(litellm_errors.APIError) as caught:
        litellm_call(server, headers)
    # LiteLLM maps Azure's 500 to its generic APIError, not to its InternalServerError.
    assert type(caught.value) is litellm_errors.APIError
    assert not isinstance(caught.value, litellm_errors.InternalServerError)
    assert caught.value.status_code == 500
    assert SERVER_ERROR in caught.value.message
    assert statuses(server, fault_id, 1) == [500]


def test_litellm_503_is_litellm_service_unavailable(server: MockServer) -> None:
    headers, fault_id = fault("503")
    with pytest.raises(litellm_errors.ServiceUnavailableError) as caught:
        litellm_call(server, headers)
    assert caught.value.status_code == 503
    assert UNAVAILABLE in caught.value.message
    assert statuses(server, fault_id, 1) == [503]


def test_litellm_reset_is_litellm_connection_error(server: MockServer) -> None:
    headers, fault_id = fault("reset")
    with pytest.raises(litellm_errors.APIConnectionError) as caught:
        litellm_call(server, headers)
    assert caught.value.llm_provider == "azure"
    assert len(statuses(server, fault_id, 1)) == 1


def test_litellm_stream_error_while_streaming(server: MockServer) -> None:
    headers, fault_id = fault("stream-error")
    received: list[str] = []
    with pytest.raises(litellm_errors.ServiceUnavailableError) as caught:
        for chunk in litellm_call(server, headers, stream=True):
            received.append(chunk.choices[0].delta.content or "")
    # LiteLLM raises its mid-stream error (a ServiceUnavailableError) with Azure's message.
    assert type(caught.value) is litellm_errors.MidStreamFallbackError
    assert SERVER_ERROR in caught.value.message
    assert "".join(received)  # the stream had started
    assert statuses(server, fault_id, 1) == [200]


def test_litellm_retries_through_one_429(server: MockServer) -> None:
    headers, fault_id = fault("429", count=1)
    reply = litellm_call(server, headers, num_retries=2)
    assert reply.choices[0].finish_reason == "stop"
    assert reply.choices[0].message.content
    assert statuses(server, fault_id, 2) == [429, 200]
