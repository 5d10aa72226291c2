"""Per-app state: one object under one AppKey, never globals; `reset()` is an API."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from mockserver.config import Deployment, Settings
from mockserver.engines.chain import EngineChain
from mockserver.engines.generator import Generator
from mockserver.engines.rules import StubRules
from mockserver.engines.stubs import StubStore
from mockserver.faults.kinds import Fault, FaultCounter, parse_fault
from mockserver.recordings.cassette import Cassette
from mockserver.recordings.fixtures import cassette_files, find_fixtures
from mockserver.recordings.tape import DEFAULT_TRANSFORMS, ReplayRules, Tape
from mockserver.redaction.rules import fixture_policy
from mockserver.serialize.ids import IdSource
from mockserver.stores.journal import Journal
from mockserver.stores.quota import QuotaLedger
from mockserver.stores.responses import ResponseStore
from mockserver.support.memo import Memo


def _model_session() -> str:
    # Shaped like the 2026 recordings: d<yyyymmddHHMMSS>-<8 hex>.
    return time.strftime("d%Y%m%d%H%M%S", time.gmtime()) + "-" + secrets.token_hex(4)


RESETTABLE = frozenset({"stubs", "scenarios", "journal", "quota"})
_TAPE_SETTINGS = frozenset(
    {
        "fixtures_dir",
        "record_mode",
        "upstream",
        "cassette",
        "allow_repeats",
        "replay_ignore_body_fields",
        "replay_transforms",
    }
)


@dataclass
class AppState:
    settings: Settings
    engines: EngineChain
    ids: IdSource
    quota: QuotaLedger = field(default_factory=QuotaLedger)
    fault_counter: FaultCounter = field(default_factory=FaultCounter)
    stubs: StubStore = field(default_factory=StubStore)
    journal: Journal = field(default_factory=Journal)
    # Exceptions of ours answered as a 500, for the pytest plugin to re-raise in the test.
    failures: list[BaseException] = field(default_factory=list)
    fault_dice: dict[str, random.Random] = field(default_factory=dict)
    tape: Tape | None = None  # recorded interactions, when fixtures are configured
    cassette_existed: bool = False  # for record mode "once"
    _session: aiohttp.ClientSession | None = None
    _cassette: Cassette | None = None
    model_session: str = field(default_factory=_model_session)
    responses: ResponseStore = field(default_factory=ResponseStore)  # the Responses API's
    # Digest and prompt tokens by canonical content (see pipeline.content_facts).
    content_facts: Memo[bytes, tuple[bytes, int]] = field(
        default_factory=lambda: Memo(max_entries=4096, max_size=32 * 2**20)
    )
    # The start-up warm-up loading the tokenizer and word lists on a thread (see app.py).
    warm_up: asyncio.Future[None] | None = None

    @property
    def warm(self) -> bool:
        return self.warm_up is not None and self.warm_up.done()

    @classmethod
    def from_settings(cls, settings: Settings) -> AppState:
        ids = IdSource(settings.deterministic_ids, settings.deterministic_created)
        stubs = StubStore()
        styles = {name: d.reply_styles for name, d in settings.deployments.items()}
        generator = Generator(settings.seed, ids, styles)
        return cls(
            settings=settings,
            engines=EngineChain([StubRules(stubs, generator), generator]),
            ids=ids,
            stubs=stubs,
            journal=Journal(
                capacity=settings.journal_capacity, max_bytes=settings.journal_max_bytes
            ),
            quota=QuotaLedger(request_window_seconds=settings.quota_request_window_seconds),
            tape=_load_tape(settings),
            cassette_existed=_cassette_exists(settings),
        )

    def may_record(self) -> bool:
        """vcrpy's record modes: once records only into a cassette that did not exist."""
        mode = self.settings.record_mode
        return mode in ("new_episodes", "all") or (mode == "once" and not self.cassette_existed)

    def cassette(self) -> Cassette:
        """Where new recordings go; one per settings, so it counts its files only once."""
        directory = _cassette_path(self.settings)
        if self._cassette is None or self._cassette.directory != directory:
            self._cassette = Cassette(directory)
        return self._cassette

    def http_session(self) -> aiohttp.ClientSession:
        """The client that talks to the upstream when recording; made on first use."""
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
            # Timeouts come with each request (settings can change); bodies stay as sent.
            self._session = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def roll_fault(self, name: str, deployment: Deployment) -> Fault | None:
        """A fault drawn at the deployment's configured rates, from a seeded sequence."""
        if not deployment.fault_rates:
            return None
        dice = self.fault_dice.setdefault(name, random.Random(f"{self.settings.seed}:{name}"))
        draw, cumulative = dice.random(), 0.0
        for fault, rate in deployment.fault_rates.items():
            cumulative += rate
            if draw < cumulative:
                return parse_fault(fault)
        return None

    def update_settings(self, changes: dict[str, Any]) -> None:
        """Change settings while running: checked as a whole, then applied to the parts."""
        settings = Settings.model_validate({**self.settings.model_dump(), **changes})
        self.settings = settings
        if changes.keys() & _TAPE_SETTINGS:
            self.tape = _load_tape(settings)
            self.cassette_existed = _cassette_exists(settings)
        self.ids.deterministic = settings.deterministic_ids
        for engine in self.engines.engines:
            if isinstance(engine, Generator):
                engine.seed = settings.seed

    def reset(self, parts: frozenset[str] = RESETTABLE) -> None:
        """Forget what a run accumulated (all of it by default); configuration stays."""
        if "stubs" in parts:
            self.stubs.clear()
        if "scenarios" in parts:
            self.stubs.reset_scenarios()
        if "journal" in parts:
            self.journal.clear()
            self.responses.clear()  # stored Responses API answers go with the journal
        if "quota" in parts:
            self.quota.reset()
            self.fault_counter.reset()
            self.fault_dice.clear()


def _cassette_path(settings: Settings) -> Path:
    """The cassette directory; `<cassette>.json` beside it is one recorded before."""
    return (settings.fixtures_dir or Path(".")) / settings.cassette


def _cassette_exists(settings: Settings) -> bool:
    directory = _cassette_path(settings)
    return directory.with_name(f"{directory.name}.json").exists() or bool(cassette_files(directory))


def _load_tape(settings: Settings) -> Tape | None:
    if settings.fixtures_dir is None:
        return None
    rules = ReplayRules(
        ignore_body_fields=tuple(settings.replay_ignore_body_fields),
        transforms=(*DEFAULT_TRANSFORMS, *settings.replay_transforms),
        allow_repeats=settings.allow_repeats,
        redaction=fixture_policy(settings),
    )
    return Tape.from_fixtures(find_fixtures(settings.fixtures_dir), rules)
