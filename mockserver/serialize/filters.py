"""Azure's content-filter annotations: the prompt's and each choice's verdicts.

Key order as Azure sends them since 2026-03: categories alphabetical, and
`{"detected": ..., "filtered": ...}` for the detection categories.
"""

from __future__ import annotations

from typing import Any

SEVERITY_SAFE = {"filtered": False, "severity": "safe"}
NOT_DETECTED = {"detected": False, "filtered": False}


def prompt_filter_results() -> list[dict[str, Any]]:
    return [
        {
            "prompt_index": 0,
            "content_filter_results": {
                "hate": SEVERITY_SAFE,
                "jailbreak": NOT_DETECTED,
                "self_harm": SEVERITY_SAFE,
                "sexual": SEVERITY_SAFE,
                "violence": SEVERITY_SAFE,
            },
        }
    ]


def completion_filter_results(
    has_text: bool, flagged: dict[str, str] | None = None
) -> dict[str, Any]:
    """A choice's verdicts; a choice that carries only tool calls has `{}` on Azure.

    `flagged` names the categories the output filter stopped, with their severity.
    """
    if flagged:
        results = completion_filter_results(True)
        for category, severity in flagged.items():
            results[category] = {"filtered": True, "severity": severity}
        return results
    if not has_text:
        return {}
    return {
        "hate": SEVERITY_SAFE,
        "protected_material_code": NOT_DETECTED,
        "protected_material_text": NOT_DETECTED,
        "self_harm": SEVERITY_SAFE,
        "sexual": SEVERITY_SAFE,
        "violence": SEVERITY_SAFE,
    }
