"""What an inference operation is: its routes, how its body becomes a chat request, how
a reply goes back in its own wire format. The pipeline does everything else.

Adding an operation: one module defining an `Operation` (and its `Resource`s, if it has
objects to read back), and one line in `operations.registry`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from mockserver.contract.errors import AzureError
from mockserver.contract.request import ChatRequest
from mockserver.engines.reply import Completion
from mockserver.serialize.ids import ResponseIdentity
from mockserver.serialize.sse import FrameSource
from mockserver.state import AppState
from mockserver.support.values import value

Surface = Literal["dated", "v1"]  # /openai/deployments/... or /openai/v1/...
VersionCheck = Callable[[str | None], object]  # raises the gateway's error for a bad version


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # an aiohttp route template
    surface: Surface
    check_version: VersionCheck  # run by the gateway before the key is checked


@value
class Call:
    """A request as the HTTP edge read it."""

    surface: Surface
    method: str
    path: str
    path_qs: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    path_params: Mapping[str, str]
    request_id: str
    session: str  # x-mock-session: whose stores the request reads and changes

    @property
    def api_version(self) -> str | None:
        return self.query.get("api-version")


@value
class Parsed:
    """An operation's body in chat-completions form, which the contract checks and the
    engines answer, and what the operation keeps to render the reply its own way."""

    chat: dict[str, Any]
    context: Any = None


@value
class Answer:
    """A checked request and its completion, ready for the operation's wire format."""

    request: ChatRequest
    completion: Completion
    identity: ResponseIdentity
    digest: bytes  # the request's identity: seeds the latency jitter


@value
class Rendered:
    """A reply in the wire format: a whole JSON body, or the frames of a stream."""

    body: bytes | None = None
    frames: FrameSource | None = None
    headers: Mapping[str, str] | None = None  # beside the model's headers
    # The body is orjson's own bytes of a JSON value (and perhaps one newline): the
    # journal keeps them as they are instead of parsing them and writing them again.
    written_by_orjson: bool = False


class Operation(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def routes(self) -> Sequence[Route]: ...

    @property
    def parses_the_body_alone(self) -> bool:
        """Whether `parse` reads the body and nothing else (no store, no state): what the
        checks find is then the same for the same body, and kept for a body sent again."""
        ...

    def deployment_in_path(self, call: Call) -> str | None:
        """The deployment named by the path; None when the body's `model` names it."""
        ...

    async def parse(self, state: AppState, call: Call, body: dict[str, Any]) -> Parsed:
        """The body in chat-completions form; raises the operation's own errors."""
        ...

    def in_own_words(self, error: AzureError, parsed: Parsed) -> AzureError:
        """An error of the chat checks or an engine, as this operation reports it."""
        ...

    async def render(
        self, state: AppState, call: Call, parsed: Parsed, answer: Answer
    ) -> Rendered: ...


@dataclass(frozen=True)
class Resource:
    """A route that reads or deletes what an operation made (no engine answers it)."""

    route: Route
    serve: Callable[[AppState, Call], Awaitable[bytes]]  # the JSON body
