"""The replay engine: a recorded interaction answers, byte for byte, frame by frame.

It runs after the stub rules (a matching stub wins) and before the pipeline's checks:
a recording says what real Azure answered, a refusal included. On a miss it lets the
record engine ask the upstream (when the record mode allows), or the generator answer
(`replay_miss = "generate"`), or answers the miss with the nearest interaction named.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import orjson

from mockserver.contract.errors import AzureError
from mockserver.engines.base import Asked
from mockserver.engines.reply import Reply
from mockserver.recordings.fixtures import RecordedResponse
from mockserver.recordings.library import RecordingLibrary
from mockserver.recordings.recorder import kept_headers
from mockserver.stores.journal import ReplayMiss


class FixtureMissError(AzureError):
    """No recording matches, and nothing else may answer: the nearest one is named."""

    def __init__(self, status: int, message: str, nearest: ReplayMiss | None) -> None:
        body = orjson.dumps({"error": {"code": "FixtureNotFound", "message": message}})
        super().__init__(status, body, name="FixtureNotFound")
        self.nearest = nearest


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
            hit = tape.take(asked.recorded)
            library.observer.replayed(hit is not None)
            if hit is not None:
                answer = ReplayedAnswer(await hit.answer(), settings.recording.replay_timing)
                why = f"recorded interaction {hit.source} matched"
                return Reply("replay", f"fixture:{hit.source}", why, raw=answer)
        if library.may_record() or settings.recording.replay_miss == "generate":
            return None
        explained = tape.explain_miss(asked.recorded)
        message = f"No recorded interaction matches this request. {explained}"
        status = settings.recording.replay_miss_status
        raise FixtureMissError(status, message, tape.nearest(asked.recorded))


class ReplayedAnswer:
    """A recorded answer sent again: its body whole, or its frames at their pace."""

    keeps_reading_alone = False  # nothing is lost when the client leaves a replay

    def __init__(self, recorded: RecordedResponse, timing: str) -> None:
        self.recorded = recorded
        self.timing = timing
        self.status = recorded.status
        self.headers = kept_headers(recorded.headers)
        self.streamed = recorded.frames is not None
        self.body = None if self.streamed else recorded.body_bytes()
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
