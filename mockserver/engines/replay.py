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
from typing import NamedTuple

import orjson

from mockserver.contract.errors import AzureError
from mockserver.engines.base import Asked
from mockserver.engines.reply import Reply
from mockserver.recordings.fixtures import RecordedResponse
from mockserver.recordings.library import RecordingLibrary
from mockserver.recordings.recorder import kept_headers
from mockserver.recordings.tape import Candidates, Recorded
from mockserver.support.by_identity import ByIdentity


def fixture_miss(status: int, message: str) -> AzureError:
    """No recording matches, and nothing else may answer (the message names the nearest)."""
    body = orjson.dumps({"error": {"code": "FixtureNotFound", "message": message}})
    return AzureError(status, body, name="FixtureNotFound")


class Replay:
    name = "replay"

    def __init__(self, library: RecordingLibrary) -> None:
        self.library = library
        # What each recording in memory sends, made once, by the Recorded's identity.
        self._sendable: ByIdentity[Recorded, Sendable] = ByIdentity(SENDABLE_MEMO, SENDABLE_BYTES)

    async def answer(self, asked: Asked) -> Reply | None:
        library = self.library
        tape, settings = library.tape, library.settings
        if tape is None:
            return None
        if settings.recording.record_mode != "all":
            hit = await _take(tape.find(asked), asked, settings.recording.allow_repeats)
            library.observer.replayed(hit is not None)
            if hit is not None:
                sendable = await self._sendable_of(hit)
                answer = ReplayedAnswer(sendable, settings.recording.replay_timing)
                return Reply("replay", sendable.source, sendable.why, raw=answer, as_model=False)
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

    async def _sendable_of(self, hit: Recorded) -> Sendable:
        if hit.on_disk is not None:  # a big answer: read again each time, not kept
            return Sendable.of(await hit.answer(), hit.source)
        known = self._sendable.get(hit)
        if known is None:
            known = Sendable.of(await hit.answer(), hit.source)
            self._sendable.put(hit, known, size=len(known.body or b""))
        return known


# Recordings whose answer the engine keeps ready to send: at most this many, holding at
# most SENDABLE_BYTES of bodies (a second copy of answers the tape holds as text), then
# emptied and filled again.
SENDABLE_MEMO = 256
SENDABLE_BYTES = 32 * 2**20


async def _take(found: Candidates | None, asked: Asked, repeat_last: bool) -> Recorded | None:
    """The next of the request's recordings this session has not used (the ledger counts)."""
    if found is None:
        return None
    index = await asked.stores.replays.take(found.key, len(found.recorded), repeat_last)
    return None if index is None else found.recorded[index]


class Sendable(NamedTuple):
    """A recorded answer as it goes out again: the headers sent on, the body as bytes
    (None for a stream). Shared by every replay of it: nothing changes it."""

    recorded: RecordedResponse
    headers: dict[str, str]
    body: bytes | None
    source: str  # as the journal names the answer: "fixture:<where>"
    why: str

    @classmethod
    def of(cls, recorded: RecordedResponse, where: str) -> Sendable:
        """`where`: the recording's place, as the journal names it."""
        body = None if recorded.frames is not None else recorded.body_bytes()
        why = f"recorded interaction {where} matched"
        return cls(recorded, kept_headers(recorded.headers), body, f"fixture:{where}", why)


class ReplayedAnswer:
    """A recorded answer sent again: its body whole, or its frames at their pace."""

    keeps_reading_alone = False  # nothing is lost when the client leaves a replay

    def __init__(self, sendable: Sendable, timing: str) -> None:
        self.recorded = recorded = sendable.recorded
        self.timing = timing
        self.status = recorded.status
        self.headers = sendable.headers
        self.body = sendable.body
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
