"""Bounded work for any single request, through the real server process.

A JSON Schema can ask for more than any output holds (`minLength: 100000000`,
`minItems: 10000000`), a pattern can ask for a million characters, a stub regex can
backtrack for ever. The server runs here as a child process under an address-space
ceiling, so a request that would exhaust memory or freeze the event loop fails its test
instead of the machine: each reply must come back within a bounded wait, be what real
o3-mini sends when the output limit is hit (`finish_reason: "length"`, the text cut at
the budget), and the server must answer `/__admin/health` while a heavy request is in
flight.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest

from mockserver.tokens import counting as tokens
from tests.support import rawhttp
from tests.support.chat import API_VERSION
from tests.support.waiting import WAIT_SECONDS, Lines

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"^mockserver listening on http://127\.0\.0\.1:(\d+)$")
# The child's address space. The server reserves about 250 MiB at rest and under 800 MiB
# answering any bomb here within its budget; building a bomb's whole value took 2.6 GB.
ADDRESS_SPACE_BYTES = 3 * 2**29  # 1.5 GiB
REPLY_WAIT_SECONDS = 60.0  # a bound against hangs, not a performance threshold
HEALTH_WAIT_SECONDS = 10.0
MAX_OUTPUT_TOKENS = 100_000  # o3-mini's output limit, the default budget


def _ceiling() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))


@dataclass
class Child:
    process: subprocess.Popen[str]
    url: str
    stderr: Lines

    def chat(self, body: dict[str, Any], timeout: float = REPLY_WAIT_SECONDS) -> Any:
        url = f"{self.url}/openai/deployments/o3-mini/chat/completions?api-version={API_VERSION}"
        reply = rawhttp.request(url, body=body, headers={"api-key": "k"}, timeout=timeout)
        assert reply.status == 200, reply.body[:2000]
        return reply.json()

    def healthy(self) -> bool:
        url = f"{self.url}/__admin/health"
        return rawhttp.request(url, "GET", timeout=HEALTH_WAIT_SECONDS).status == 200


def start(*args: str) -> tuple[subprocess.Popen[str], Lines, Lines]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", *args],
        cwd=ROOT,
        env={**env, "MALLOC_ARENA_MAX": "2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ceiling,
    )
    assert process.stdout is not None and process.stderr is not None
    return process, Lines(process.stdout), Lines(process.stderr)


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()  # a frozen server (the old regex engine) ignores SIGTERM
    process.wait(WAIT_SECONDS)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def launch() -> Child:
    process, stdout, stderr = start()
    try:
        port = int(stdout.wait_for(READY).group(1))
    except AssertionError:
        stop(process)
        raise
    return Child(process, f"http://127.0.0.1:{port}", stderr)


class Keeper:
    """One child for the module, replaced when a test left it dead or frozen."""

    def __init__(self) -> None:
        self.child: Child | None = None

    def live(self) -> Child:
        if self.child is None or self.child.process.poll() is not None:
            self.close()
            self.child = launch()
        return self.child

    def close(self) -> None:
        if self.child is not None:
            stop(self.child.process)
            self.child = None


def answers_health(child: Child) -> bool:
    try:
        return child.process.poll() is None and child.healthy()
    except OSError:  # refused, reset or timed out: dead or frozen
        return False


@pytest.fixture(scope="module")
def keeper() -> Iterator[Keeper]:
    keeper = Keeper()
    yield keeper
    keeper.close()


@pytest.fixture
def server(keeper: Keeper) -> Iterator[Child]:
    """A live child with no stubs; after each test it must still be alive and healthy."""
    child = keeper.live()
    rawhttp.request(f"{child.url}/__admin/reset", body={}, timeout=HEALTH_WAIT_SECONDS)
    yield child
    healthy = answers_health(child)
    if not healthy:
        keeper.close()  # the next test gets a fresh one
    assert healthy, child.stderr.seen[-20:]


def structured(schema: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": "Fill in the form."}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "form", "schema": schema},
        },
        **fields,
    }


def form(field: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"field": field},
        "required": ["field"],
        "additionalProperties": False,
    }


def assert_cut_at_the_budget(reply: dict[str, Any], text: str, budget: int | None) -> None:
    """The reply real o3-mini gives at its output limit: "length", the budget spent."""
    usage = reply["usage"]
    spent = usage["completion_tokens"]
    assert reply["choices"][0]["finish_reason"] == "length"
    assert spent == (budget or MAX_OUTPUT_TOKENS)
    visible = spent - usage["completion_tokens_details"]["reasoning_tokens"]
    # Cut at `visible` tokens; encoding the cut text again may merge a few differently.
    assert 0.99 * visible <= tokens.count(text) <= visible
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)  # cut mid-value


# --- schema bombs ----------------------------------------------------------------------

BOMBS = {
    "minLength 100,000,000": form({"type": "string", "minLength": 100_000_000}),
    "minItems 1,000,000": form({"type": "array", "items": {"type": "string"}, "minItems": 10**6}),
    "minItems 10,000,000": form({"type": "array", "items": {"type": "integer"}, "minItems": 10**7}),
    "minProperties 100,000": form(
        {"type": "object", "minProperties": 100_000, "additionalProperties": {"type": "string"}}
    ),
    "a million pattern strings": form(
        {
            "type": "array",
            "minItems": 10**6,
            "items": {"type": "string", "pattern": "^[a-z]{1000}$"},
        }
    ),
    "nested arrays": form(
        {
            "type": "array",
            "minItems": 1000,
            "items": {
                "type": "array",
                "minItems": 1000,
                "items": {"type": "array", "minItems": 1000, "items": {"type": "boolean"}},
            },
        }
    ),
}


@pytest.mark.parametrize("schema", BOMBS.values(), ids=BOMBS.keys())
def test_a_structured_output_too_big_for_the_budget_is_cut_with_finish_reason_length(
    server: Child, schema: dict[str, Any]
) -> None:
    reply = server.chat(structured(schema, max_completion_tokens=20_000))
    content = reply["choices"][0]["message"]["content"]
    assert content.startswith('{"field":')
    assert_cut_at_the_budget(reply, content, 20_000)


def test_the_default_budget_is_the_models_100000_output_tokens(server: Child) -> None:
    reply = server.chat(structured(BOMBS["minLength 100,000,000"]))
    content = reply["choices"][0]["message"]["content"]
    assert content.startswith('{"field":"')
    assert_cut_at_the_budget(reply, content, None)


def test_tool_arguments_too_big_for_the_budget_are_cut_with_finish_reason_length(
    server: Child,
) -> None:
    parameters = form({"type": "array", "items": {"type": "string"}, "minItems": 10**6})
    with openai.AzureOpenAI(
        azure_endpoint=server.url, api_key="k", api_version=API_VERSION, max_retries=0
    ) as client:
        completion = client.chat.completions.create(
            model="o3-mini",
            messages=[{"role": "user", "content": "Record the items."}],
            tools=[{"type": "function", "function": {"name": "record", "parameters": parameters}}],
            tool_choice={"type": "function", "function": {"name": "record"}},
            max_completion_tokens=5000,
            timeout=REPLY_WAIT_SECONDS,
        )
    choice = completion.choices[0]
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    arguments = call.function.arguments
    assert arguments.startswith('{"field":["')
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 5000
    assert choice.finish_reason == "length"
    with pytest.raises(json.JSONDecodeError):
        json.loads(arguments)


def test_a_big_schema_that_fits_gets_a_whole_valid_value(server: Child) -> None:
    # Bigger than what was generated before (more names than Faker has words, a pattern
    # repeated 1000 times), yet well inside the budget: whole, valid, "stop".
    codes = {"type": "array", "items": {"type": "string", "pattern": "^x{1000}$"}, "minItems": 20}
    names = {"type": "object", "minProperties": 1500, "additionalProperties": {"type": "integer"}}
    schema = {
        "type": "object",
        "properties": {"codes": codes, "names": names},
        "required": ["codes", "names"],
        "additionalProperties": False,
    }
    reply = server.chat(structured(schema))
    choice = reply["choices"][0]
    assert choice["finish_reason"] == "stop"
    value = json.loads(choice["message"]["content"])
    assert len(value["codes"]) >= 20 and set(value["codes"]) == {"x" * 1000}
    assert len(value["names"]) >= 1500
    assert all(isinstance(item, int) for item in value["names"].values())


# --- the event loop stays free -----------------------------------------------------------


def test_health_answers_while_a_schema_bomb_is_being_generated(server: Child) -> None:
    # Four choices of a minItems bomb: seconds of generation, all of it off the loop.
    body = structured(BOMBS["minItems 1,000,000"], n=4)
    with ThreadPoolExecutor(max_workers=1) as pool:
        bomb: Future[Any] = pool.submit(server.chat, body)
        answered_meanwhile = 0
        while not bomb.done():
            assert server.healthy()  # a blocked loop would time out here
            answered_meanwhile += 0 if bomb.done() else 1
        reply = bomb.result()
    assert answered_meanwhile > 0
    assert [c["finish_reason"] for c in reply["choices"]] == ["length"] * 4


def test_a_streamed_bomb_ends_with_length_and_health_answers_meanwhile(server: Child) -> None:
    def stream() -> tuple[str, list[str | None]]:
        with openai.AzureOpenAI(
            azure_endpoint=server.url, api_key="k", api_version=API_VERSION, max_retries=0
        ) as client:
            chunks = client.chat.completions.create(
                model="o3-mini",
                messages=[{"role": "user", "content": "Fill in the form."}],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "form", "schema": BOMBS["minItems 1,000,000"]},
                },
                max_completion_tokens=30_000,
                stream=True,
                timeout=REPLY_WAIT_SECONDS,
            )
            firsts = [chunk.choices[0] for chunk in chunks if chunk.choices]  # Azure's filter
            parts = [(choice.delta.content, choice.finish_reason) for choice in firsts]
        return "".join(text or "" for text, _ in parts), [reason for _, reason in parts]

    with ThreadPoolExecutor(max_workers=1) as pool:
        streamed: Future[tuple[str, list[str | None]]] = pool.submit(stream)
        answered_meanwhile = 0
        while not streamed.done():
            assert server.healthy()
            answered_meanwhile += 0 if streamed.done() else 1
        content, reasons = streamed.result()
    assert answered_meanwhile > 0
    assert content.startswith('{"field":["')
    assert [r for r in reasons if r is not None] == ["length"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)


# --- regexes ---------------------------------------------------------------------------


def add_stub(server: Child, stub: dict[str, Any]) -> rawhttp.RawResponse:
    return rawhttp.request(f"{server.url}/__admin/stubs", body=stub, timeout=HEALTH_WAIT_SECONDS)


def test_a_nested_quantifier_stub_regex_answers_in_linear_time(server: Child) -> None:
    stub = {
        "match": {"last_user_message": {"regex": "(a+)+$"}},
        "answer": {"content": "matched"},
    }
    assert add_stub(server, stub).status == 201
    almost = "a" * 50_000 + "!"  # exponential backtracking for a backtracking engine
    reply = server.chat({"messages": [{"role": "user", "content": almost}]})
    assert reply["choices"][0]["message"]["content"] != "matched"
    reply = server.chat({"messages": [{"role": "user", "content": "a" * 50_000}]})
    assert reply["choices"][0]["message"]["content"] == "matched"


def test_a_catastrophic_pattern_in_a_response_format_does_not_freeze_the_server(
    server: Child,
) -> None:
    # A backtracking validator searched a 100,000-character string for it for half a
    # minute, holding the GIL. RE2 refuses it (a repetition of 100,000, over its 1000), so
    # the schema is not used and the reply is an empty object.
    schema = form({"type": "string", "pattern": "((a{100}){100}){10}"})
    reply = server.chat(structured(schema))
    assert reply["choices"][0]["finish_reason"] == "stop"
    assert reply["choices"][0]["message"]["content"] == "{}"


UNSUPPORTED = {
    "backreference": r"(\w+) \1",
    "lookahead": r"^(?=.*weather).*$",
    "negative lookbehind": r"(?<!not )sunny",
    "repetition over 1000": r"a{1001}",
}


@pytest.mark.parametrize("pattern", UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_a_stub_regex_rejected_by_re2_is_refused_with_a_400_that_says_why(
    server: Child, pattern: str
) -> None:
    reply = add_stub(server, {"match": {"any_message": {"regex": pattern}}})
    assert reply.status == 400
    message = reply.json()["error"]["message"]
    assert pattern in message
    assert "RE2" in message and "linear time" in message


def test_a_stub_file_with_a_backreference_stops_the_server_at_start_saying_why(
    tmp_path: Path,
) -> None:
    stub = {"match": {"last_user_message": {"regex": r"(\w+) \1"}}, "answer": {"content": "x"}}
    (tmp_path / "echo.json").write_text(json.dumps(stub), encoding="utf-8")
    process, stdout, stderr = start("--stubs", str(tmp_path))
    try:
        code = process.wait(WAIT_SECONDS)
        text = stderr.text()
    finally:
        stop(process)
    assert code == 2, stdout.text()
    assert "echo.json" in text and "RE2" in text and "backreferences" in text
