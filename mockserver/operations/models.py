"""The models list on both surfaces: the model cards of the configured deployments."""

from __future__ import annotations

from mockserver.contract.api_versions import resolve_dated, resolve_v1
from mockserver.contract.model_card import load_model_card
from mockserver.operations.base import Call, Resource, Route
from mockserver.serialize.models import models_list_body
from mockserver.state import AppState


async def models_list(state: AppState, call: Call) -> bytes:
    models = sorted({d.model for d in state.settings.deployments.values()})
    return models_list_body([load_model_card(name) for name in models])


MODELS = (
    Resource(Route("GET", "/openai/models", "dated", resolve_dated), models_list),
    Resource(Route("GET", "/openai/v1/models", "v1", resolve_v1), models_list),
)
