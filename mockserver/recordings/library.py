"""The recordings a server replays and writes: the tape read from the fixtures, the
cassette new recordings go to, and the client that asks the upstream.

One per server; `reload` follows a settings change (the tape is read again only when a
setting it depends on changed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import aiohttp

from mockserver.config import Settings
from mockserver.recordings.cassette import Cassette
from mockserver.recordings.fixtures import cassette_files, find_fixtures
from mockserver.recordings.tape import DEFAULT_TRANSFORMS, ReplayRules, Tape
from mockserver.redaction.rules import fixture_policy

_TAPE_SETTINGS = (
    "fixtures_dir",
    "record_mode",
    "upstream",
    "cassette",
    "allow_repeats",
    "replay_ignore_body_fields",
    "replay_transforms",
)


class RecordingObserver(Protocol):
    """Told of each fixture lookup and each recording written (the metrics count them)."""

    def replayed(self, hit: bool) -> None: ...

    def recorded(self) -> None: ...


class _Unobserved:
    def replayed(self, hit: bool) -> None:
        pass

    def recorded(self) -> None:
        pass


class RecordingLibrary:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tape = _load_tape(settings)
        self.cassette_existed = _cassette_exists(settings)  # for record mode "once"
        self.observer: RecordingObserver = _Unobserved()
        self._cassette: Cassette | None = None
        self._session: aiohttp.ClientSession | None = None

    def reload(self, settings: Settings) -> None:
        """Follow changed settings; the fixtures are read again if the tape depends on them."""
        changed = any(
            settings.flat()[name] != self.settings.flat()[name] for name in _TAPE_SETTINGS
        )
        self.settings = settings
        if changed:
            self.tape = _load_tape(settings)
            self.cassette_existed = _cassette_exists(settings)

    def may_record(self) -> bool:
        """vcrpy's record modes: once records only into a cassette that did not exist."""
        mode = self.settings.recording.record_mode
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


def _cassette_path(settings: Settings) -> Path:
    """The cassette directory; `<cassette>.json` beside it is one recorded before."""
    return (settings.recording.fixtures_dir or Path(".")) / settings.recording.cassette


def _cassette_exists(settings: Settings) -> bool:
    directory = _cassette_path(settings)
    return directory.with_name(f"{directory.name}.json").exists() or bool(cassette_files(directory))


def _load_tape(settings: Settings) -> Tape | None:
    if settings.recording.fixtures_dir is None:
        return None
    rules = ReplayRules(
        ignore_body_fields=tuple(settings.recording.replay_ignore_body_fields),
        transforms=(*DEFAULT_TRANSFORMS, *settings.recording.replay_transforms),
        allow_repeats=settings.recording.allow_repeats,
        redaction=fixture_policy(settings),
    )
    found = find_fixtures(settings.recording.fixtures_dir, for_replay=True)
    return Tape.from_fixtures(found, rules)
