"""The drift report: one line per probe, the differences under it; or the same as JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mockserver.cli.drift.compare import Answer, Difference
from mockserver.cli.drift.probes import Probe, Target

WIDTH = 34  # the probe-name column


@dataclass(frozen=True)
class ProbeResult:
    probe: Probe
    endpoint: Answer
    mock: Answer
    differences: list[Difference]

    @property
    def drifted(self) -> bool:
        return bool(self.differences)


@dataclass(frozen=True)
class DriftReport:
    endpoint: Target
    mock: Target
    results: list[ProbeResult]

    @property
    def drifted(self) -> bool:
        return any(result.drifted for result in self.results)

    @property
    def drifted_probes(self) -> list[str]:
        return [result.probe.name for result in self.results if result.drifted]


def render_text(report: DriftReport) -> str:
    """The human-readable report."""
    lines = [_heading(report), ""]
    for result in report.results:
        lines += _result_lines(result)
    lines += ["", _summary(report)]
    return "\n".join(lines) + "\n"


def _heading(report: DriftReport) -> str:
    endpoint = report.endpoint
    return (
        f"contract verify: {endpoint.base_url} (deployment {endpoint.deployment}, "
        f"api-version {endpoint.api_version}) against the mock {report.mock.base_url}"
    )


def _result_lines(result: ProbeResult) -> list[str]:
    verdict = "DRIFT" if result.drifted else "ok"
    statuses = f"{_status(result.endpoint)} vs {_status(result.mock)}"
    lines = [f"  {verdict:<6} {result.probe.name:<{WIDTH}} {statuses}"]
    for difference in result.differences:
        lines += _difference_lines(difference)
    return lines


def _status(answer: Answer) -> str:
    return "no answer" if answer.status is None else str(answer.status)


def _difference_lines(difference: Difference) -> list[str]:
    where = f" {difference.where}" if difference.where else ""
    indent = " " * 9
    return [
        f"{indent}{difference.aspect}{where}:",
        f"{indent}    endpoint: {difference.endpoint}",
        f"{indent}    mock:     {difference.mock}",
    ]


def _summary(report: DriftReport) -> str:
    total, drifted = len(report.results), len(report.drifted_probes)
    if not drifted:
        return f"{total} probes, no drift."
    return f"{total} probes, {drifted} drifted: {', '.join(report.drifted_probes)}."


def render_json(report: DriftReport) -> dict[str, Any]:
    """The report as JSON-ready data (`--json`)."""
    return {
        "drift": report.drifted,
        "endpoint": _target(report.endpoint),
        "mock": _target(report.mock),
        "probes": [_result_json(result) for result in report.results],
        "summary": {"probes": len(report.results), "drifted": report.drifted_probes},
    }


def _target(target: Target) -> dict[str, str]:
    return {
        "url": target.base_url,
        "deployment": target.deployment,
        "api_version": target.api_version,
    }


def _result_json(result: ProbeResult) -> dict[str, Any]:
    return {
        "name": result.probe.name,
        "description": result.probe.description,
        "drift": result.drifted,
        "endpoint_status": result.endpoint.status,
        "mock_status": result.mock.status,
        "differences": [difference.to_json() for difference in result.differences],
    }
