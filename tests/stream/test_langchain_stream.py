"""LangChain's `AzureChatOpenAI` streams from the mock unmodified: chunks add up to `invoke`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_openai import AzureChatOpenAI

from mockserver.testing.server import MockServer
from tests.stream.helpers import GET_WEATHER, QUESTION, WEATHER_QUESTION
from tests.support.langchain import azure_chat_model

MakeLlm = Callable[..., AzureChatOpenAI]


@pytest.fixture
def azure_chat(server: MockServer) -> Iterator[MakeLlm]:
    """Builds `AzureChatOpenAI`s on the mock, each with its own HTTP client, closed afterwards
    (LangChain's cached default clients would outlive the test's event loop)."""
    clients: list[httpx.Client] = []

    def make(**options: Any) -> AzureChatOpenAI:
        if "http_async_client" not in options:
            clients.append(httpx.Client(timeout=60))
            options["http_client"] = clients[-1]
        return azure_chat_model(server, **options)

    yield make
    for client in clients:
        client.close()


def model_chunks(chunks: list[BaseMessage]) -> list[AIMessageChunk]:
    """The chunks, minus LangChain's own closing marker (`chunk_position="last"`, empty)."""
    found: list[AIMessageChunk] = []
    for chunk in chunks:
        assert isinstance(chunk, AIMessageChunk)
        if chunk.chunk_position == "last":
            assert chunk.content == ""
            assert chunk.usage_metadata is None
            continue
        found.append(chunk)
    return found


def total(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    combined = chunks[0]
    for chunk in chunks[1:]:
        combined = combined + chunk
    return combined


def test_stream_adds_up_to_invoke(azure_chat: MakeLlm) -> None:
    llm = azure_chat(stream_usage=False)
    expected = llm.invoke(QUESTION)
    chunks = model_chunks(list(llm.stream(QUESTION)))
    assert len(chunks) > 10
    text = "".join(str(chunk.content) for chunk in chunks)
    assert isinstance(expected.content, str) and expected.content
    assert text == expected.content
    assert all(chunk.usage_metadata is None for chunk in chunks)
    assert total(chunks).response_metadata["finish_reason"] == "stop"


def test_stream_usage_on_the_last_model_chunk(azure_chat: MakeLlm) -> None:
    llm = azure_chat(stream_usage=True)
    expected = llm.invoke(QUESTION)
    assert expected.usage_metadata is not None
    chunks = model_chunks(list(llm.stream(QUESTION)))
    with_usage = [chunk for chunk in chunks if chunk.usage_metadata is not None]
    assert with_usage == [chunks[-1]]
    assert chunks[-1].usage_metadata == expected.usage_metadata
    usage = chunks[-1].usage_metadata
    assert usage is not None
    assert usage["output_token_details"].get("reasoning", 0) > 0
    assert "".join(str(chunk.content) for chunk in chunks) == expected.content


async def test_astream_adds_up_to_ainvoke(azure_chat: MakeLlm) -> None:
    async with httpx.AsyncClient(timeout=60) as http_async_client:
        llm = azure_chat(http_async_client=http_async_client, stream_usage=True)
        expected = await llm.ainvoke(QUESTION)
        chunks = model_chunks([chunk async for chunk in llm.astream(QUESTION)])
    assert chunks[-1].usage_metadata == expected.usage_metadata
    assert "".join(str(chunk.content) for chunk in chunks) == expected.content


@pytest.mark.parametrize("stream_usage", [False, True])
def test_streamed_tool_call_equals_invoke(azure_chat: MakeLlm, stream_usage: bool) -> None:
    llm = azure_chat(stream_usage=stream_usage).bind_tools([dict(GET_WEATHER)])
    expected = llm.invoke(WEATHER_QUESTION)
    combined = total(model_chunks(list(llm.stream(WEATHER_QUESTION))))
    assert len(expected.tool_calls) == 1
    assert [(c["name"], c["args"]) for c in combined.tool_calls] == [
        (c["name"], c["args"]) for c in expected.tool_calls
    ]
    assert combined.tool_calls[0]["name"] == "get_weather"
    assert combined.response_metadata["finish_reason"] == "tool_calls"
