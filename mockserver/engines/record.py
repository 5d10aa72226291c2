"""The record engine: when the record mode allows, the upstream answers and is recorded."""

from __future__ import annotations

from mockserver.contract.errors import AzureError
from mockserver.engines.base import Asked
from mockserver.engines.reply import Reply
from mockserver.recordings.library import RecordingLibrary
from mockserver.recordings.recorder import Recorder


class Record:
    name = "record"

    def __init__(self, library: RecordingLibrary) -> None:
        self.library = library
        self.recorder = Recorder(library)

    async def answer(self, asked: Asked) -> Reply | None:
        if self.library.tape is None or not self.library.may_record():
            return None
        mode = self.library.settings.recording.record_mode
        why = f"no recording matched; record mode {mode!r} asks the upstream"
        try:
            answer = await self.recorder.exchange(asked.recorded, asked.path_qs, asked.body)
        except AzureError as failed:  # the upstream could not answer: nothing recorded
            return Reply("record", "upstream", why, error=failed, as_model=False)
        return Reply("record", "upstream", why, raw=answer, as_model=False)
