"""The tape remembers a request's matching form: the same request found again is not
normalised again, and what it finds is the same."""

from __future__ import annotations

from mockserver.recordings.fixtures import Interaction, RecordedRequest, RecordedResponse
from mockserver.recordings.tape import (
    DEFAULT_TRANSFORMS,
    MEMO_BODY_BYTES,
    MEMO_FORMS,
    Recorded,
    ReplayRules,
    Tape,
)
from tests.replay.helpers import Sent

PATH = "/openai/deployments/o3-mini/chat/completions"


def sent(body: object, spelled: bytes | None = None) -> Sent:
    return Sent(RecordedRequest(method="POST", path=PATH, body=body), spelled)


def request(text: str) -> Sent:
    return sent({"messages": [{"role": "user", "content": text}]})


def tape() -> Tape:
    recorded = Interaction(
        request=request("status of order-1234").recorded,
        response=RecordedResponse(status=200, body="{}"),
    )
    built = Tape(ReplayRules(transforms=(*DEFAULT_TRANSFORMS, (r"order-\d+", "<order>"))))
    built.add(Recorded(recorded, "f.json#0"))
    return built


def test_a_request_found_again_gives_the_same_candidates() -> None:
    masked = tape()
    first, again = (masked.find(request("status of order-9876")) for _ in range(2))
    assert first is not None and first == again
    assert masked.find(request("status of order-9876 please")) is None
    assert masked.find(request("status of order-9876 please")) is None


def test_big_bodies_and_other_bodies_are_told_apart() -> None:
    masked = tape()
    assert masked.find(request("status of order-1" + " " * MEMO_BODY_BYTES)) is None
    assert masked.find(sent({"text": "status of order-1234"})) is None
    assert masked.find(request("status of order-1")) is not None


def test_the_remembered_forms_stay_bounded() -> None:
    masked = tape()
    for number in range(MEMO_FORMS + 5):
        assert masked.find(request(f"question {number}")) is None
    assert masked.find(request("status of order-55")) is not None
    assert len(masked._forms) <= MEMO_FORMS


def test_the_same_request_spelled_otherwise_finds_the_same() -> None:
    masked = tape()
    body = {"messages": [{"role": "user", "content": "status of order-7"}]}
    spaced = b'{ "messages" : [ {"content": "status of order-7", "role": "user"} ] }'
    found = masked.find(sent(body))
    assert found is not None
    assert masked.find(sent(body, spaced)) == found
    assert len(masked._forms) == 2  # known by the bytes each came as
