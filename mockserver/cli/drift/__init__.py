"""Drift check: does the mock still answer as a real Azure OpenAI o3-mini deployment does?

`mockserver contract verify --endpoint URL --api-key KEY --deployment NAME` sends a fixed
battery of probe requests (`probes.py`) to the real endpoint and to the mock, compares the
two answers to each probe (`compare.py`: status, error code, param and message, the field
names and JSON types of the bodies, stream frame kinds and their fields, which Azure
headers are present) and prints what differs (`report.py`). It exits 1 on drift, 0 when
the answers agree, 2 on a usage error. See docs/contract-testing.md.
"""

from __future__ import annotations

from mockserver.cli.drift.compare import Answer, Difference, compare
from mockserver.cli.drift.probes import Probe, Target, battery
from mockserver.cli.drift.report import DriftReport, ProbeResult, render_json, render_text
from mockserver.cli.drift.runner import verify

__all__ = [
    "Answer",
    "Difference",
    "DriftReport",
    "Probe",
    "ProbeResult",
    "Target",
    "battery",
    "compare",
    "render_json",
    "render_text",
    "verify",
]
