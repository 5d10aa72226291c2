"""When frames leave: the hook the latency model drives; no delay by default."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True)
class Pacer:
    """Delays before the first frame (time to first token) and between frames."""

    first_frame_seconds: float = 0.0
    between_frames_seconds: float = 0.0

    async def before_first(self) -> None:
        if self.first_frame_seconds > 0:
            await asyncio.sleep(self.first_frame_seconds)

    async def between(self) -> None:
        if self.between_frames_seconds > 0:
            await asyncio.sleep(self.between_frames_seconds)


NO_DELAY = Pacer()
