"""Per-app state: one object under one AppKey, never globals; its stores reset by API."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from mockserver.config import Settings
from mockserver.engines.base import Engine
from mockserver.engines.chain import EngineChain
from mockserver.engines.digest import ContentFacts
from mockserver.engines.generator import Generator
from mockserver.engines.record import Record
from mockserver.engines.replay import Replay
from mockserver.engines.rules import StubRules
from mockserver.operations.repeats import RepeatedChecks
from mockserver.recordings.library import RecordingLibrary
from mockserver.serialize.ids import IdSource
from mockserver.stores.sessions import DEFAULT_SESSION, MemoryBackend, StateBackend
from mockserver.stores.stores import Stores


def _model_session() -> str:
    # Shaped like the 2026 recordings: d<yyyymmddHHMMSS>-<8 hex>.
    return time.strftime("d%Y%m%d%H%M%S", time.gmtime()) + "-" + secrets.token_hex(4)


@dataclass
class AppState:
    settings: Settings
    engines: EngineChain
    ids: IdSource
    # Stubs, scenarios, journal, quota, stored responses, fault counts: what each session
    # accumulates, in memory or shared between processes.
    backend: StateBackend
    # Exceptions of ours answered as a 500, for the pytest plugin to re-raise in the test.
    failures: list[BaseException] = field(default_factory=list)
    # The fixtures replayed, the cassette recorded to, the upstream client (see app.py).
    recordings: RecordingLibrary = field(default_factory=lambda: RecordingLibrary(Settings()))
    model_session: str = field(default_factory=_model_session)
    # Each content's answer digest and prompt tokens, counted once (engines/digest.py).
    content_facts: ContentFacts = field(default_factory=ContentFacts)
    # What the pipeline's checks found for a body sent again (operations/repeats.py).
    repeated_checks: RepeatedChecks[Any] = field(default_factory=RepeatedChecks)
    # The start-up warm-up loading the tokenizer and word lists on a thread (see app.py).
    warm_up: asyncio.Future[None] | None = None
    # The settings the process started with (flags, file, environment), under any change
    # made through /__admin/settings.
    configured: Settings = field(init=False)

    def __post_init__(self) -> None:
        self.configured = self.settings

    @property
    def warm(self) -> bool:
        return self.warm_up is not None and self.warm_up.done()

    @classmethod
    def from_settings(cls, settings: Settings) -> AppState:
        ids = IdSource(settings.answers.deterministic_ids, settings.answers.deterministic_created)
        styles = {name: d.reply_styles for name, d in settings.deployments.items()}
        generator = Generator(settings.answers.seed, ids, styles)
        recordings = RecordingLibrary(settings)
        engines: list[Engine] = [
            StubRules(generator),
            Replay(recordings),
            Record(recordings),
            generator,
        ]
        return cls(
            settings=settings,
            engines=EngineChain(engines),
            recordings=recordings,
            ids=ids,
            backend=MemoryBackend(settings),
        )

    def stores(self, session: str = DEFAULT_SESSION) -> Stores:
        """The stores of a session (`x-mock-session`; the default one when not named)."""
        return self.backend.stores(session)

    async def close(self) -> None:
        await self.recordings.close()
        await self.backend.close()

    async def start_backend(self) -> None:
        """The store's background work: settings changed by processes sharing it applied
        here (at start, then as they come), idle sessions expired."""
        await self.backend.start(self.adopt_shared)

    async def change_settings(self, changes: dict[str, Any]) -> None:
        """PATCH /__admin/settings: checked here, then shared; once this returns, every
        process sharing the store answers with the change (ValidationError if refused)."""
        self.settings.with_changes(changes)  # refused before anything is shared
        if not await self.backend.share_settings(changes):
            self.update_settings(changes)  # nothing shared: this process is all there is

    async def restore_settings(self) -> None:
        """DELETE /__admin/settings: every process back to the settings it started with."""
        if not await self.backend.clear_settings():
            self.install(self.configured)

    def adopt_shared(self, changes: dict[str, Any]) -> None:
        """All the changes stored in the shared store, on top of the configured settings:
        whatever order the changes arrive in, every process ends on the same settings."""
        self.install(self.configured.with_changes(changes))

    def update_settings(self, changes: dict[str, Any]) -> None:
        """Change settings while running: checked as a whole, then applied to the parts."""
        self.install(self.settings.with_changes(changes))

    def install(self, settings: Settings) -> None:
        self.settings = settings
        self.recordings.reload(settings)
        self.ids.deterministic = settings.answers.deterministic_ids
        for engine in self.engines.engines:
            if isinstance(engine, Generator):
                engine.seed = settings.answers.seed
