"""A million blanks in a prompt over raw HTTP: tiktoken's regex engine panics on such a run
(a BaseException the server's handlers would miss, leaving the request unanswered), so the
count cuts it out (tests/unit/test_tokens_blank_runs.py). The request gets its answer, with
the exact count: 7,813 tokens are far inside o3-mini's 200,000-token context window. The
client's socket timeout bounds the wait: a request left unanswered fails the test."""

from __future__ import annotations

from mockserver.contract.model_card import load_model_card
from mockserver.testing.server import MockServer
from mockserver.tokens import counting
from tests.responses.helpers import post as post_response
from tests.support.chat import chat_body
from tests.support.rawhttp import post_chat

SPACES = " " * 1_000_000
# The whole text is one piece of `\s+(?!\S)`, byte-pair encoded: 128 spaces a token.
SPACES_TOKENS = 7_813
MARKERS, OPENING = 3, 2  # per message; the reply's `<start>assistant`


def _one_piece(text: str) -> int:
    return len(counting.encoding()._core_bpe.encode_single_piece(text.encode()))


def test_the_counts_below_are_one_piece_of_spaces() -> None:
    assert _one_piece(SPACES) == SPACES_TOKENS
    assert load_model_card("o3-mini").context_window > SPACES_TOKENS


def test_a_million_spaces_in_a_chat_message_are_answered_with_their_count(
    server: MockServer,
) -> None:
    response = post_chat(server, chat_body(SPACES))
    assert response.status == 200, response.body[:300]
    user = len(counting.encoding().encode_ordinary("user"))
    assert response.json()["usage"]["prompt_tokens"] == MARKERS + user + SPACES_TOKENS + OPENING


def test_a_million_tabs_in_a_chat_message_are_answered(server: MockServer) -> None:
    tabs = "\t" * 1_000_000
    response = post_chat(server, chat_body("Indent:" + tabs))
    assert response.status == 200, response.body[:300]
    short = post_chat(server, chat_body("Indent:"))
    grown = response.json()["usage"]["prompt_tokens"] - short.json()["usage"]["prompt_tokens"]
    assert grown == _one_piece(tabs)  # "Indent:" and the tabs are pieces of their own


def test_a_million_spaces_in_a_responses_input_are_answered_with_their_count(
    server: MockServer,
) -> None:
    response = post_response(server, {"model": "o3-mini", "input": SPACES})
    assert response.status == 200, response.body[:300]
    one = post_response(server, {"model": "o3-mini", "input": "a"})  # one token
    grown = response.json()["usage"]["input_tokens"] - one.json()["usage"]["input_tokens"]
    assert grown == SPACES_TOKENS - 1
