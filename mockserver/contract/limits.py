"""o3-mini's token limits: the context window, the output limit, and their sum."""

from __future__ import annotations

from mockserver.contract.errors import catalogue_error, invalid_request
from mockserver.contract.model_card import ModelCard
from mockserver.contract.request import ChatRequest


def check_token_limits(request: ChatRequest, prompt_tokens: int, card: ModelCard) -> None:
    requested = request.max_completion_tokens
    if requested is not None:
        _check_completion_budget(requested, card)
    if prompt_tokens > card.context_window:
        raise catalogue_error(
            "context_length_exceeded",
            context_window=card.context_window,
            prompt_tokens=prompt_tokens,
        )
    if requested is not None and prompt_tokens + requested > card.context_window:
        raise catalogue_error(
            "context_length_exceeded_with_completion",
            context_window=card.context_window,
            total_tokens=prompt_tokens + requested,
            prompt_tokens=prompt_tokens,
            completion_tokens=requested,
        )


def _check_completion_budget(requested: int, card: ModelCard) -> None:
    if requested < 1:
        raise invalid_request(
            "Invalid 'max_completion_tokens': integer below minimum value. Expected a value "
            f">= 1, but got {requested} instead.",
            "max_completion_tokens",
            "integer_below_min_value",
        )
    if requested > card.max_output_tokens:
        raise catalogue_error(
            "max_completion_tokens_too_large",
            requested=requested,
            max_output_tokens=card.max_output_tokens,
        )
