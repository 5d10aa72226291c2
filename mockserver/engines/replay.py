"""The replay engine: a recorded interaction answers, byte for byte, frame by frame.

It runs after the stub rules (a matching stub wins) and before the pipeline's checks:
a recording says what real Azure answered, a refusal included. On a miss it lets the
record engine ask the upstream (when the record mode allows), or the generator answer
(`replay_miss = "generate"`), or answers the miss with the nearest interaction named.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator

import orjson

from mockserver.contract.errors import AzureError
from mockserver.engines.base import Asked
from mockserver.engines.reply import Reply
from mockserver.recordings.fixtures import RecordedResponse
from mockserver.recordings.library import RecordingLibrary
from mockserver.recordings.recorder import kept_headers
from mockserver.recordings.tape import Candidates, Recorded


def fixture_miss(status: int, message: str) -> AzureError:
    """No recording matches, and nothing else may answer (the message names the nearest)."""
    body = orjson.dumps({"error": {"code": "FixtureNotFound", "message": message}})
    return AzureError(status, body, name="FixtureNotFound")


class Replay:
    name = "replay"

    def __init__(self, library: RecordingLibrary) -> None:
        self.library = library

    async def answer(self, asked: Asked) -> Reply | None:
        library = self.library
        tape, settings = library.tape, library.settings
        if tape is None:
            return None
        if settings.recording.record_mode != "all":
            hit = await _take(tape.find(asked.recorded), asked, settings.recording.allow_repeats)
            library.observer.replayed(hit is not None)
            if hit is not None:
                answer = ReplayedAnswer(await hit.answer(), settings.recording.replay_timing)
                why = f"recorded interaction {hit.source} matched"
                return Reply("replay", f"fixture:{hit.source}", why, raw=answer, as_model=False)
        if library.may_record() or settings.recording.replay_miss == "generate":
            return None
        explained = tape.explain_miss(asked.recorded)
        message = f"No recorded interaction matches this request. {explained}"
        status = settings.recording.replay_miss_status
        error = fixture_miss(status, message)
        nearest = tape.nearest(asked.recorded)
        why = "no recorded interaction matched; record mode and replay_miss let none answer"
        miss = Reply("replay", "fixture-miss", why, error=error, as_model=False)
        return dataclasses.replace(miss, replay_miss=nearest)


async def _take(found: Candidates | None, asked: Asked, repeat_last: bool) -> Recorded | None:
    """The next of the request's recordings this session has not used (the ledger counts)."""
    if found is None:
        return None
    index = await asked.stores.replays.take(found.key, len(found.recorded), repeat_last)
    return None if index is None else found.recorded[index]


class ReplayedAnswer:
    """A recorded answer sent again: its body whole, or its frames at their pace."""

    keeps_reading_alone = False  # nothing is lost when the client leaves a replay

    def __init__(self, recorded: RecordedResponse, timing: str) -> None:
        self.recorded = recorded
        self.timing = timing
        self.status = recorded.status
        self.headers = kept_headers(recorded.headers)
        self.body = None if recorded.frames is not None else recorded.body_bytes()
        self.size = None if self.body is None else len(self.body)

    @property
    def cut(self) -> bool:
        return self.recorded.cut

    async def pieces(self) -> AsyncGenerator[bytes, None]:
        if self.body is not None:
            yield self.body
            return
        previous = 0.0
        for frame in self.recorded.frames or []:
            await asyncio.sleep(pause(frame.offset_ms - previous, self.timing))
            previous = frame.offset_ms
            yield self.recorded.frame_bytes(frame)

    async def close(self) -> None:
        pass


def pause(milliseconds: float, timing: str) -> float:
    """Seconds to wait before a frame: none, as recorded, or scaled by a factor."""
    if timing == "none" or milliseconds <= 0:
        return 0.0
    scale = 1.0 if timing == "original" else float(timing)
    return milliseconds * scale / 1000
