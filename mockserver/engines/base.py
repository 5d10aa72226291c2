"""What every engine takes and returns; no aiohttp types cross this line.

An engine is asked with `Asked`: the request as it arrived (for stub rules and the
tape), `check`, the pipeline's checks (deployment, body, o3-mini rules, token limits),
and `admit`, what answering as the model costs (the seeded fault rates, then quota).
Each runs once, and only when an engine needs it: a recording replays what real Azure
said even to a request the mock would refuse, and neither charges quota nor draws a
fault; stubs and the generator answer only what Azure would let through, once admitted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import field
from functools import cached_property
from typing import Any, Protocol

import orjson

from mockserver.contract.model_card import ModelCard
from mockserver.contract.request import ChatRequest
from mockserver.engines.matching import RequestView
from mockserver.engines.reply import Reply
from mockserver.recordings.fixtures import RecordedRequest
from mockserver.stores.stores import Stores
from mockserver.support.values import value


@value
class Script:
    """A reply decided in advance (by a stub); the generator still does the accounting."""

    content: str | None = None
    tool_calls: tuple[tuple[str, str | None], ...] = ()  # (name, JSON arguments or None)
    refusal: str | None = None


@value
class EngineCall:
    """A checked request, ready to answer: the request, its model and its prompt size."""

    request: ChatRequest
    card: ModelCard
    deployment: str
    prompt_tokens: int
    # How stub rules see the request; an empty view when the generator is used directly.
    view: RequestView = field(default_factory=lambda: RequestView("dated", "", None, {}))
    script: Script | None = None
    # The request's answer identity (`generator.request_digest`), when the caller has it.
    digest: bytes | None = None

    def scripted(self, script: Script | None) -> EngineCall:
        """The call with its reply decided (`dataclasses.replace` cost five times this)."""
        return EngineCall(
            self.request, self.card, self.deployment, self.prompt_tokens, self.view, script,
            self.digest,
        )  # fmt: skip


class Asked:
    """A request offered to the engines, before or without the pipeline's checks.

    Its views are made on first use: a request no stub or recording could answer never
    has its body decoded here.
    """

    def __init__(
        self,
        request: Callable[[], RecordedRequest],
        path_qs: str,
        body: bytes,
        view_of: Callable[[dict[str, Any]], RequestView],
        check: Callable[[], Awaitable[EngineCall]],
        admit: Callable[[], Awaitable[None]],
        stores: Stores,
    ) -> None:
        self._request_of = request  # method, path, query and headers, made when needed
        self.path_qs = path_qs  # the path and query string as sent (the upstream gets the same)
        self.body = body  # the body as sent
        self._view_of = view_of  # the view of a decoded body (the deployment may be in it)
        self.check = check  # the pipeline's checks, run once; raises Azure's error
        self.admit = admit  # before answering as the model: fault rates, quota; may raise
        self.stores = stores  # the request's session's

    def error_values(self) -> dict[str, object]:
        """What this request fills in the error catalogue's placeholders beyond its checked
        body (its request id, api-version, the body limit, the retry delay): a stub that
        answers with a named error gets them, as the same error sent by the mock would."""
        return {}

    @cached_property
    def _request(self) -> RecordedRequest:
        """The request without its body: only a recording's engines read it (a pydantic
        model, so it is not made for the requests the generator answers)."""
        return self._request_of()

    @property
    def headers(self) -> Mapping[str, str]:
        return self._request.headers

    @property
    def sent_as(self) -> tuple[str, str, bytes]:
        """The method, path and body as sent: the tape knows a request again by them."""
        request = self._request
        return request.method, request.path, self.body

    @cached_property
    def decoded(self) -> Any:
        """The body as JSON, or its text when it is not JSON."""
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            return self.body.decode("utf-8", "replace")

    def decoded_already(self) -> Any:
        """The decoded body if some engine needed it already, else None (not decoded now)."""
        return self.__dict__.get("decoded")  # where functools.cached_property keeps it

    @cached_property
    def view(self) -> RequestView:
        """How stub rules see the request as sent."""
        return self._view_of(self.decoded if isinstance(self.decoded, dict) else {})

    @cached_property
    def recorded(self) -> RecordedRequest:
        """The request as a recording keeps it (what the tape matches)."""
        return self._request.model_copy(update={"body": self.decoded})


class Engine(Protocol):
    name: str

    async def answer(self, asked: Asked) -> Reply | None:
        """A reply, or None to let the next engine in the chain answer."""
        ...
