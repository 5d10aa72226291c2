"""Latency: the arithmetic of `pacer_for`/`reply_seconds`, the x-mock-latency header, and which
setting wins (header > deployment > server).

No timing thresholds: the arithmetic is checked on the functions, and precedence by ORDERING
only, a request meant to wait LONG_MS against one meant not to wait at all. The comparison
asks the quick one to take under half the slow one's time: were the precedence wrong, both
would wait LONG_MS and the test would fail every time, not by the luck of the scheduler.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from mockserver.config import Deployment, Settings
from mockserver.engines.reply import Usage
from mockserver.faults.latency import (
    LATENCY_HEADER,
    MAX_REPLY_SECONDS,
    NO_DELAY,
    Latency,
    LatencyHeaderError,
    latency_from_header,
    pacer_for,
    reply_seconds,
)
from mockserver.testing.server import MockServer
from tests.support import rawhttp
from tests.support.chat import API_KEY, DEPLOYMENT, chat_url
from tests.support.clients import azure_client
from tests.support.rawhttp import post_chat
from tests.support.waiting import journal_entries

USAGE = Usage(prompt_tokens=10, completion_tokens=160, reasoning_tokens=100)
SEED = b"a request digest"
PACED = Latency(ttft_ms=300, tokens_per_second=50, reasoning_tokens_per_second=500)
SEEDS = [f"seed-{n}".encode() for n in range(300)]
BODY: dict[str, Any] = {"messages": [{"role": "user", "content": "hi"}]}
LONG_MS = 600  # the slow side of the ordering comparisons


# --- defaults -----------------------------------------------------------------------------------


def test_latency_is_zero_by_default() -> None:
    settings = Settings()
    assert settings.latency == Latency()
    assert settings.latency.is_zero
    assert Deployment().latency is None  # a deployment inherits the server's
    assert pacer_for(settings.latency, USAGE, SEED) is NO_DELAY
    assert reply_seconds(settings.latency, USAGE, SEED) == 0.0


def test_the_running_default_server_has_no_latency(server: MockServer) -> None:
    response = rawhttp.request(f"{server.url}/__admin/settings", "GET")
    assert response.status == 200
    assert response.json()["latency"] == {
        "ttft_ms": 0.0,
        "tokens_per_second": 0.0,
        "reasoning_tokens_per_second": 0.0,
        "jitter": 0.0,
    }
    deployments = server.current_settings()["deployments"]
    assert all(d["latency"] is None for d in deployments.values())


def test_jitter_alone_is_still_no_delay() -> None:
    assert pacer_for(Latency(jitter=0.5), USAGE, SEED) is NO_DELAY


# --- arithmetic ---------------------------------------------------------------------------------


def test_first_frame_is_ttft_plus_reasoning_time() -> None:
    pacer = pacer_for(PACED, USAGE, SEED)
    assert pacer.first_frame_seconds == pytest.approx(0.3 + 100 / 500)
    assert pacer.between_frames_seconds == pytest.approx(1 / 50)


def test_reply_is_first_frame_plus_every_visible_token() -> None:
    visible = USAGE.completion_tokens - USAGE.reasoning_tokens  # 60
    assert reply_seconds(PACED, USAGE, SEED) == pytest.approx(0.3 + 100 / 500 + visible / 50)


def test_buffered_frames_take_their_tokens_time() -> None:
    pacer = pacer_for(PACED, USAGE, SEED, tokens_per_frame=32)
    assert pacer.between_frames_seconds == pytest.approx(32 / 50)
    assert pacer.first_frame_seconds == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("latency", "first", "between"),
    [
        (Latency(ttft_ms=250), 0.25, 0.0),  # no token rate: tokens take no time
        (Latency(tokens_per_second=20), 0.0, 0.05),  # no ttft, instant reasoning
        (Latency(reasoning_tokens_per_second=200), 0.5, 0.0),  # 100 reasoning tokens
        (Latency(ttft_ms=100, reasoning_tokens_per_second=1000), 0.2, 0.0),
    ],
)
def test_each_part_on_its_own(latency: Latency, first: float, between: float) -> None:
    pacer = pacer_for(latency, USAGE, SEED)
    assert pacer.first_frame_seconds == pytest.approx(first)
    assert pacer.between_frames_seconds == pytest.approx(between)
    visible = USAGE.completion_tokens - USAGE.reasoning_tokens
    assert reply_seconds(latency, USAGE, SEED) == pytest.approx(first + between * visible)


@pytest.mark.parametrize(
    "latency",
    [
        Latency(tokens_per_second=1e-300),  # a header may say so: a reply of 1e302 seconds
        Latency(ttft_ms=600_000, tokens_per_second=0.001),
        Latency(reasoning_tokens_per_second=1e-300, tokens_per_second=1e-300),
    ],
)
@pytest.mark.parametrize("tokens_per_frame", [1, 32])
def test_a_reply_too_slow_to_end_in_ten_minutes_is_paced_to_end_then(
    latency: Latency, tokens_per_frame: int
) -> None:
    """Every wait a stream makes (the first frame's, then one before each later frame,
    those that carry no token included) is cut to what is left of the ten minutes."""
    pacer = pacer_for(latency, USAGE, SEED, tokens_per_frame)
    visible = USAGE.completion_tokens - USAGE.reasoning_tokens
    frames = -(-visible // tokens_per_frame) + 4  # the role, finish, usage, [DONE] frames
    waits = [pacer.take(pacer.first_frame_seconds)]
    waits += [pacer.take(pacer.between_frames_seconds) for _ in range(frames)]
    assert sum(waits) == pytest.approx(MAX_REPLY_SECONDS)
    assert reply_seconds(latency, USAGE, SEED) == pytest.approx(MAX_REPLY_SECONDS)


def test_a_stream_of_frames_without_tokens_is_capped_too() -> None:
    """All of the budget reasoned away: no visible token, yet a stream still has frames."""
    reasoned = Usage(prompt_tokens=10, completion_tokens=5, reasoning_tokens=5)
    pacer = pacer_for(Latency(tokens_per_second=1e-300), reasoned, SEED)
    waits = [pacer.take(pacer.first_frame_seconds)]
    waits += [pacer.take(pacer.between_frames_seconds) for _ in range(4)]
    assert sum(waits) == pytest.approx(MAX_REPLY_SECONDS)


def test_a_slow_rate_within_ten_minutes_is_kept() -> None:
    slow = Latency(tokens_per_second=0.2)  # 60 visible tokens: 300 s
    assert reply_seconds(slow, USAGE, SEED) == pytest.approx(300)


def test_a_reply_of_reasoning_only_waits_for_the_first_frame() -> None:
    only_reasoning = Usage(prompt_tokens=10, completion_tokens=100, reasoning_tokens=100)
    assert reply_seconds(PACED, only_reasoning, SEED) == pytest.approx(0.5)


@pytest.mark.parametrize("jitter", [0.1, 0.2, 0.5, 1.0])
def test_jitter_stays_within_its_fraction(jitter: float) -> None:
    jittered = PACED.model_copy(update={"jitter": jitter})
    base = pacer_for(PACED, USAGE, SEED)
    factors: list[float] = []
    for seed in SEEDS:
        pacer = pacer_for(jittered, USAGE, seed)
        factor = pacer.first_frame_seconds / base.first_frame_seconds
        # One factor per reply: the first frame and the frames after vary together.
        assert pacer.between_frames_seconds / base.between_frames_seconds == pytest.approx(factor)
        assert 1 - jitter <= factor <= 1 + jitter
        factors.append(factor)
    # And it does vary, both ways, over most of its range.
    assert min(factors) < 1 - jitter / 2
    assert max(factors) > 1 + jitter / 2


def test_same_seed_same_jitter() -> None:
    jittered = PACED.model_copy(update={"jitter": 0.3})
    first = pacer_for(jittered, USAGE, SEED)
    assert pacer_for(jittered, USAGE, SEED) == first
    assert reply_seconds(jittered, USAGE, SEED) == reply_seconds(jittered, USAGE, SEED)
    others = {pacer_for(jittered, USAGE, seed).first_frame_seconds for seed in SEEDS[:20]}
    assert len(others) == 20  # other seeds, other draws


def test_no_jitter_is_exact_for_every_seed() -> None:
    pacers = [pacer_for(PACED, USAGE, seed) for seed in SEEDS[:50]]
    assert all(pacer == pacer_for(PACED, USAGE, b"") for pacer in pacers)


HARD_QUESTION = (
    "Explain how tides work, but not with equations, only with one analogy, and never "
    "mention the Sun. " + "Background: tides " * 300
)


def test_higher_reasoning_effort_delays_the_first_frame_more(server: MockServer) -> None:
    """The same request at each effort: more reasoning tokens, a later first frame."""
    client = azure_client(server)
    latency = Latency(ttft_ms=100, tokens_per_second=50, reasoning_tokens_per_second=500)
    reasoning: list[int] = []
    first_frames: list[float] = []
    for effort in ("low", "medium", "high"):
        reply = client.chat.completions.create(
            model=DEPLOYMENT,
            # A hard ask: real o3-mini spends the same 64 on a trivial one at every effort.
            messages=[{"role": "user", "content": HARD_QUESTION}],
            reasoning_effort=effort,
        )
        assert reply.usage is not None and reply.usage.completion_tokens_details is not None
        tokens = reply.usage.completion_tokens_details.reasoning_tokens or 0
        usage = Usage(reply.usage.prompt_tokens, reply.usage.completion_tokens, tokens)
        reasoning.append(tokens)
        first_frames.append(pacer_for(latency, usage, SEED).first_frame_seconds)
    assert reasoning[0] < reasoning[1] < reasoning[2]
    assert first_frames[0] < first_frames[1] < first_frames[2]
    assert first_frames == pytest.approx([0.1 + tokens / 500 for tokens in reasoning])


# --- the header ---------------------------------------------------------------------------------


def test_no_header_is_no_override() -> None:
    assert latency_from_header({}) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "ttft_ms=300,tokens_per_second=50,reasoning_tokens_per_second=500,jitter=0.2",
            Latency(ttft_ms=300, tokens_per_second=50, reasoning_tokens_per_second=500, jitter=0.2),
        ),
        ("ttft_ms=300, jitter=0.2", Latency(ttft_ms=300, jitter=0.2)),
        (" tokens_per_second = 12.5 ", Latency(tokens_per_second=12.5)),
        ("ttft_ms=0", Latency()),
        ("ttft_ms=1,", Latency(ttft_ms=1)),
        ("", Latency()),
    ],
)
def test_valid_headers(raw: str, expected: Latency) -> None:
    assert latency_from_header({LATENCY_HEADER: raw}) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "ttft_ms=abc",
        "ttft_ms",
        "ttft=300",
        "ttft_ms=-1",
        "ttft_ms=600001",
        "ttft_ms=nan",
        "jitter=1.5",
        "tokens_per_second=-5",
        "ttft_ms=5;jitter=0.1",
    ],
)
def test_invalid_headers_raise(raw: str) -> None:
    with pytest.raises(LatencyHeaderError) as caught:
        latency_from_header({LATENCY_HEADER: raw})
    message = str(caught.value)
    assert message.startswith(f"{LATENCY_HEADER}: {raw!r} is not of the form ")
    assert "ttft_ms=N,tokens_per_second=N,reasoning_tokens_per_second=N,jitter=F" in message


def test_a_valid_header_is_served(server: MockServer) -> None:
    response = post_chat(server, BODY, headers={LATENCY_HEADER: "ttft_ms=1,tokens_per_second=0"})
    assert response.status == 200
    assert response.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("raw", "names"),
    [("ttft_ms=soon", "soon"), ("warp=9", "warp"), ("jitter=2", "jitter")],
)
@pytest.mark.parametrize("stream", [False, True])
def test_an_invalid_header_is_a_400_invalid_mock_header(
    server: MockServer, raw: str, names: str, stream: bool
) -> None:
    body = {**BODY, "stream": True} if stream else BODY
    response = post_chat(server, body, headers={LATENCY_HEADER: raw})
    assert response.status == 400
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert list(error) == ["code", "message"]
    assert error["code"] == "InvalidMockHeader"
    message = error["message"]
    assert message.startswith(f"x-mock-latency: {raw!r} is not of the form ttft_ms=N,")
    assert names in message  # what was wrong is named


def test_an_invalid_header_through_the_sdk(server: MockServer) -> None:
    client = azure_client(server, max_retries=2)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=DEPLOYMENT, messages=BODY["messages"], extra_headers={LATENCY_HEADER: "fast"}
        )
    assert caught.value.code == "InvalidMockHeader"
    assert "x-mock-latency: 'fast'" in caught.value.message


# --- precedence: header > deployment > server ---------------------------------------------------


@pytest.fixture(scope="module")
def layered() -> Iterator[MockServer]:
    slow = {"ttft_ms": LONG_MS}
    with MockServer(
        latency=slow,
        deployments={
            "inherits": {"model": "o3-mini"},  # the server's LONG_MS
            "quick": {"model": "o3-mini", "latency": {}},  # its own: none at all
            "own": {"model": "o3-mini", "latency": slow},
        },
    ) as running:
        yield running


def server_ms(server: MockServer, deployment: str, headers: dict[str, str], **body: Any) -> float:
    """How long the server took over one request, from its journal."""
    tag = uuid.uuid4().hex
    response = rawhttp.request(
        chat_url(server, deployment=deployment),
        body={**BODY, **body},
        headers={"api-key": API_KEY, "x-ms-client-request-id": tag, **headers},
    )
    assert response.status == 200, response.body
    # A stream's entry is written once its handler returns, a moment after the last byte.
    entries = journal_entries(server, 1, lambda e: e.headers.get("x-ms-client-request-id") == tag)
    assert len(entries) == 1
    assert entries[0].deployment == deployment
    return entries[0].duration_ms


def test_header_beats_deployment_beats_server(layered: MockServer) -> None:
    no_wait = {LATENCY_HEADER: "ttft_ms=0"}
    wait = {LATENCY_HEADER: f"ttft_ms={LONG_MS}"}
    slow = {
        "server's, inherited": server_ms(layered, "inherits", {}),
        "header's, over a zero deployment": server_ms(layered, "quick", wait),
    }
    fast = {
        "deployment's zero, over the server": server_ms(layered, "quick", {}),
        "header's zero, over the server": server_ms(layered, "inherits", no_wait),
        "header's zero, over the deployment": server_ms(layered, "own", no_wait),
    }
    assert 2 * max(fast.values()) < min(slow.values()), (fast, slow)


def test_the_header_paces_streams_too(layered: MockServer) -> None:
    no_wait = {LATENCY_HEADER: "ttft_ms=0"}
    wait = {LATENCY_HEADER: f"ttft_ms={LONG_MS}"}
    slow = server_ms(layered, "quick", wait, stream=True)
    fast = server_ms(layered, "own", no_wait, stream=True)
    assert 2 * fast < slow, (fast, slow)
