"""Chat completions, on both surfaces: the body is already in chat form; the reply is a
`chat.completion` object or its chunks."""

from __future__ import annotations

from typing import Any

from mockserver.contract.api_versions import resolve_dated, resolve_v1
from mockserver.contract.errors import AzureError
from mockserver.operations.base import Answer, Call, Parsed, Rendered, Route
from mockserver.serialize.json import chat_completion_body
from mockserver.serialize.sse import ChunkStream, StreamOptions
from mockserver.state import AppState


class ChatCompletions:
    name = "chat.completions"
    parses_the_body_alone = True  # the body is already in chat form
    routes = (
        Route("POST", "/openai/deployments/{deployment}/chat/completions", "dated", resolve_dated),
        Route("POST", "/openai/v1/chat/completions", "v1", resolve_v1),
    )

    def deployment_in_path(self, call: Call) -> str | None:
        return call.path_params.get("deployment")

    async def parse(self, state: AppState, call: Call, body: dict[str, Any]) -> Parsed:
        return Parsed(body)

    def in_own_words(self, error: AzureError, parsed: Parsed) -> AzureError:
        return error

    async def render(self, state: AppState, call: Call, parsed: Parsed, answer: Answer) -> Rendered:
        request, completion = answer.request, answer.completion
        if not request.stream:
            body = chat_completion_body(completion, answer.identity, request.service_tier)
            return Rendered(body=body, written_by_orjson=True)
        settings = state.settings
        options = StreamOptions(
            include_usage=request.include_usage,
            chunking=settings.streaming.chunking,
            buffer_tokens=settings.streaming.buffer_tokens,
            obfuscation=settings.streaming.obfuscation and not request.obfuscation_refused,
            # Pads drawn from the id only when ids are derived (a reproducible stream); a
            # random id's stream is not reproducible anyway, so its pads come in bulk.
            reproducible_pads=state.ids.deterministic,
            service_tier=request.service_tier,
        )
        frames = ChunkStream(completion, answer.identity, options)
        return Rendered(frames=frames, headers=stream_headers(completion.model))


def stream_headers(served_model: str) -> dict[str, str]:
    """Added to a streamed chat answer (the 2026-06 stream recording; no non-streamed one
    has them, nor do the Responses API's events)."""
    return {"azureai-fe-is-streaming": "True", "x-ms-served-model": served_model}
