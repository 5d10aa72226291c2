"""Every operation the server answers. A new inference operation is one line here."""

from __future__ import annotations

from mockserver.operations import models
from mockserver.operations.base import Operation, Resource
from mockserver.operations.chat import ChatCompletions
from mockserver.operations.responses import operation as responses
from mockserver.operations.unsupported import UNSUPPORTED

OPERATIONS: tuple[Operation, ...] = (
    ChatCompletions(),
    responses.CreateResponse(),
)

RESOURCES: tuple[Resource, ...] = (
    *models.MODELS,
    *responses.RESOURCES,
    *UNSUPPORTED,
)
