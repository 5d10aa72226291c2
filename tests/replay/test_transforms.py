"""Configured replay transforms mask volatile text of the user's own before matching."""

from __future__ import annotations

from mockserver.recordings.fixtures import Interaction, RecordedRequest, RecordedResponse
from mockserver.recordings.tape import DEFAULT_TRANSFORMS, Recorded, ReplayRules, Tape
from tests.replay.helpers import Sent

PATH = "/openai/deployments/o3-mini/chat/completions"


def request(text: str) -> RecordedRequest:
    return RecordedRequest(
        method="POST", path=PATH, body={"messages": [{"role": "user", "content": text}]}
    )


def tape(transforms: tuple[tuple[str, str], ...]) -> Tape:
    recorded = Interaction(
        request=request("status of order-1234"), response=RecordedResponse(status=200, body="{}")
    )
    built = Tape(ReplayRules(transforms=transforms))
    built.add(Recorded(recorded, "f.json#0"))
    return built


def test_a_configured_transform_makes_volatile_text_match() -> None:
    masked = tape((*DEFAULT_TRANSFORMS, (r"order-\d+", "<order>")))
    assert masked.find(Sent(request("status of order-9876"))) is not None


def test_without_the_transform_the_same_request_misses() -> None:
    plain = tape(DEFAULT_TRANSFORMS)
    assert plain.find(Sent(request("status of order-9876"))) is None
    assert "body.messages[0].content" in plain.explain_miss(request("status of order-9876"))
