"""Per-app state: one object under one AppKey, never globals; `reset()` is an API."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from mockserver.config import Settings
from mockserver.engine.chain import EngineChain
from mockserver.engine.generator import Generator
from mockserver.faults import FaultCounter
from mockserver.ids import IdSource
from mockserver.quota import QuotaLedger


def _model_session() -> str:
    # Shaped like the 2026 recordings: d<yyyymmddHHMMSS>-<8 hex>.
    return time.strftime("d%Y%m%d%H%M%S", time.gmtime()) + "-" + secrets.token_hex(4)


@dataclass
class AppState:
    settings: Settings
    engines: EngineChain
    ids: IdSource
    quota: QuotaLedger = field(default_factory=QuotaLedger)
    fault_counter: FaultCounter = field(default_factory=FaultCounter)
    model_session: str = field(default_factory=_model_session)

    @classmethod
    def from_settings(cls, settings: Settings) -> AppState:
        ids = IdSource(settings.deterministic_ids, settings.deterministic_created)
        return cls(settings=settings, engines=EngineChain([Generator(settings.seed, ids)]), ids=ids)

    def reset(self) -> None:
        """Forget everything a run accumulated; configuration stays."""
        self.quota.reset()
        self.fault_counter.reset()
