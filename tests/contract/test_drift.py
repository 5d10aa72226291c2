"""`contract verify` catches drift, and only drift, between an "endpoint" and the mock.

The endpoint here is a second real MockServer on 127.0.0.1 made to differ: another region,
a stub answering a probe with a changed error message, a stub whose error body lacks a
field, a stub changing a status, streams without the obfuscation pad. The real-endpoint
mode is never exercised: every URL is 127.0.0.1.

Decision (docs/contract-testing.md): headers are compared by presence only, so a
deployment in another region (`x-ms-region: West Europe` against `East US 2`) is not drift.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.cli.drift import Answer, Target, battery, compare, render_json, render_text, verify
from mockserver.cli.drift.compare import AZURE_HEADERS, normalize_message, shape
from mockserver.cli.drift.probes import marker
from mockserver.cli.drift.report import DriftReport
from mockserver.cli.main import main
from mockserver.testing.server import MockServer

DEPLOYMENT = "o3-mini"
SECRET = "secret-endpoint-key-31337"
PLAIN_ERROR: dict[str, Any] = {
    "error": {
        "message": "The model produced invalid content.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "invalid_content",
    }
}


def target(server: MockServer) -> Target:
    return Target(server.url, "drift-test-key", DEPLOYMENT)


def probes(*names: str) -> list[Any]:
    """Some probes of the battery, in battery order."""
    chosen = [probe for probe in battery() if probe.name in names]
    assert sorted(p.name for p in chosen) == sorted(names)
    return chosen


def stub_error(server: MockServer, probe: str, status: int, body: dict[str, Any]) -> None:
    server.stub(
        match={"last_user_message": {"contains": marker(probe)}},
        answer={"error": {"status": status, "body": body}},
    )


def differences(report: DriftReport, probe: str) -> list[tuple[str, str, str, str]]:
    result = next(r for r in report.results if r.probe.name == probe)
    return [(d.aspect, d.where, d.endpoint, d.mock) for d in result.differences]


def verify_command(
    capsys: pytest.CaptureFixture[str], upstream: MockServer, mock: MockServer
) -> tuple[int, str]:
    """`mockserver contract verify` run in this process against two servers: (exit, stdout)."""
    code = main(
        ["contract", "verify", "--endpoint", upstream.url, "--api-key", SECRET,
         "--deployment", DEPLOYMENT, "--mock-url", mock.url]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert SECRET not in out
    return code, out


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mockserver", "contract", "verify", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    """The mock side, as `--mock-url` would name it."""
    with MockServer() as running:
        yield running


@pytest.fixture
def upstream() -> Iterator[MockServer]:
    """The "endpoint": a fresh MockServer per test, made to differ by the test."""
    with MockServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _clean_mock(mock: MockServer) -> None:
    mock.reset()


# --- no drift ----------------------------------------------------------------------------------


def test_identical_mock_shows_no_drift(upstream: MockServer, mock: MockServer) -> None:
    report = verify(target(upstream), target(mock))
    assert [r.probe.name for r in report.results if r.differences] == []
    assert not report.drifted
    assert len(report.results) == len(battery()) == 21
    assert render_text(report).rstrip().endswith("21 probes, no drift.")


def test_another_region_is_not_drift(capsys: pytest.CaptureFixture[str]) -> None:
    """Only the presence of x-ms-region is compared; its value names the resource's region."""
    with MockServer(region="West Europe") as west, MockServer() as east:
        report = verify(target(west), target(east), probes("plain", "unsupported-temperature"))
        assert verify_command(capsys, west, east)[0] == 0
    assert not report.drifted
    for result in report.results:
        assert result.endpoint.headers["x-ms-region"] == "West Europe"
        assert result.mock.headers["x-ms-region"] == "East US 2"


# --- drift ---------------------------------------------------------------------------------------


def test_changed_error_message_is_drift(
    upstream: MockServer, mock: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = {"error": {**PLAIN_ERROR["error"], "message": "Something else went wrong."}}
    stub_error(upstream, "plain", 400, changed)
    stub_error(mock, "plain", 400, PLAIN_ERROR)
    code, out = verify_command(capsys, upstream, mock)
    assert code == 1
    assert out.rstrip().endswith("21 probes, 1 drifted: plain.")
    assert 'endpoint: "Something else went wrong."' in out
    report = verify(target(upstream), target(mock), probes("plain", "unknown-deployment"))
    assert report.drifted
    assert differences(report, "plain") == [
        (
            "value",
            "error.message",
            '"Something else went wrong."',
            '"The model produced invalid content."',
        )
    ]
    assert differences(report, "unknown-deployment") == []
    text = render_text(report)
    assert "  DRIFT  plain " in text
    assert "value error.message:" in text
    assert 'endpoint: "Something else went wrong."' in text
    assert 'mock:     "The model produced invalid content."' in text
    assert text.rstrip().endswith("2 probes, 1 drifted: plain.")


def test_missing_field_is_drift(
    upstream: MockServer, mock: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """An error body without `param` (the mock sends `"param": null`)."""
    without_param = {"error": {k: v for k, v in PLAIN_ERROR["error"].items() if k != "param"}}
    stub_error(upstream, "plain", 400, without_param)
    stub_error(mock, "plain", 400, {"error": {**PLAIN_ERROR["error"], "param": None}})
    report = verify(target(upstream), target(mock), probes("plain"))
    assert differences(report, "plain") == [("field", "error.param", "missing", "null")]
    code, out = verify_command(capsys, upstream, mock)
    assert code == 1
    assert "         field error.param:\n             endpoint: missing\n" in out


def test_changed_status_is_drift(
    upstream: MockServer, mock: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    stub_error(upstream, "tool-call-named", 503, {"error": {"code": "503", "message": "Busy."}})
    code, out = verify_command(capsys, upstream, mock)
    assert (code, out.rstrip().splitlines()[-1]) == (1, "21 probes, 1 drifted: tool-call-named.")
    report = verify(target(upstream), target(mock), probes("plain", "tool-call-named"))
    found = differences(report, "tool-call-named")
    assert found[0] == ("status", "", "503", "200")
    # A subtree on one side only is reported once, at its root.
    assert ("field", "error", "object (and 2 fields under it)", "missing") in found
    assert ("field", "choices", "missing", "array (and 17 fields under it)") in found
    assert not [where for _, where, _, _ in found if where.startswith(("error.", "choices["))]
    assert differences(report, "plain") == []
    assert report.drifted_probes == ["tool-call-named"]


def test_stream_frame_fields_are_compared_per_kind(mock: MockServer) -> None:
    with MockServer(stream_obfuscation=False) as plain_frames:
        report = verify(target(plain_frames), target(mock), probes("stream-include-usage"))
    assert differences(report, "stream-include-usage") == [
        (
            "stream field",
            "obfuscation [role, content, finish, usage frames]",
            "missing",
            "string",
        )
    ]


def test_stream_kind_sequence_is_compared() -> None:
    role = {"choices": [{"delta": {"role": "assistant"}, "finish_reason": None, "index": 0}]}
    finish = {"choices": [{"delta": {}, "finish_reason": "stop", "index": 0}]}
    usage = {"choices": [], "usage": {"total_tokens": 3}}
    stream = {"content-type": "text/event-stream"}
    with_usage = Answer(200, stream, "", frames=(role, finish, usage, "[DONE]"))
    without = Answer(200, stream, "", frames=(role, finish, "[DONE]"))
    found = compare(without, with_usage)
    assert [(d.aspect, d.endpoint, d.mock) for d in found] == [
        ("stream kinds", "role > finish > done", "role > finish > usage > done")
    ]


def test_missing_header_is_drift() -> None:
    headers = {**dict.fromkeys(AZURE_HEADERS, "x"), "content-type": "application/json"}
    without = {k: v for k, v in headers.items() if k != "x-ms-rai-invoked"}
    found = compare(Answer(200, without, {}), Answer(200, headers, {}))
    assert [(d.aspect, d.where, d.endpoint, d.mock) for d in found] == [
        ("header", "x-ms-rai-invoked", "absent", "present")
    ]
    other_values = {**dict.fromkeys(AZURE_HEADERS, "y"), "content-type": "application/json"}
    assert compare(Answer(200, other_values, {}), Answer(200, headers, {})) == []


def test_content_type_media_type_is_compared() -> None:
    json_reply = Answer(200, {"content-type": "application/json"}, {})
    with_charset = Answer(200, {"content-type": "application/json; charset=utf-8"}, {})
    stream = Answer(200, {"content-type": "text/event-stream"}, {})
    assert compare(json_reply, with_charset) == []
    found = compare(stream, json_reply)
    assert [(d.where, d.endpoint, d.mock) for d in found] == [
        ("content-type", "text/event-stream", "application/json")
    ]


def test_transport_failure_is_reported() -> None:
    found = compare(Answer(None, transport_error="URLError: refused"), Answer(200))
    assert [(d.aspect, d.endpoint, d.mock) for d in found] == [
        ("transport", "URLError: refused", "HTTP 200")
    ]


# --- what is ignored ---------------------------------------------------------------------------


def test_values_that_legitimately_differ_are_ignored() -> None:
    left = {"id": "chatcmpl-a", "created": 1, "usage": {"total_tokens": 5}, "object": "x"}
    right = {"id": "chatcmpl-b", "created": 2, "usage": {"total_tokens": 9}, "object": "x"}
    assert compare(Answer(200, {}, left), Answer(200, {}, right)) == []
    assert shape(left) == shape(right)


def test_ids_inside_messages_are_masked() -> None:
    one = "(Please include the request ID 0f63a0ff-049a-4f46-88e1-5e5c2e4c87c0 in your message.)"
    two = "(Please include the request ID 8a3ae7c6-2eb5-45ea-947e-b4218c7ca1a5 in your message.)"
    assert normalize_message(one) == normalize_message(two)
    left = Answer(500, {}, {"error": {"message": one}})
    right = Answer(500, {}, {"error": {"message": two}})
    assert compare(left, right) == []
    counted = Answer(400, {}, {"error": {"message": "resulted in 200011 tokens"}})
    recounted = Answer(400, {}, {"error": {"message": "resulted in 200012 tokens"}})
    assert [d.where for d in compare(counted, recounted)] == ["error.message"]


# --- the command line --------------------------------------------------------------------------


def test_cli_exits_0_against_an_identical_mock(upstream: MockServer) -> None:
    """End to end: the in-process mock started by the command, the upstream as endpoint."""
    done = run_cli("--endpoint", upstream.url, "--api-key", SECRET, "--deployment", DEPLOYMENT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"contract verify: {upstream.url} (deployment o3-mini, ")
    assert done.stdout.rstrip().endswith("21 probes, no drift.")
    assert SECRET not in done.stdout + done.stderr


def test_cli_exits_1_on_drift_with_a_readable_report(
    upstream: MockServer, mock: MockServer
) -> None:
    stub_error(upstream, "plain", 500, {"error": {"code": "500", "message": "Down."}})
    done = run_cli(
        "--endpoint", upstream.url, "--api-key", "k", "--deployment", DEPLOYMENT,
        "--mock-url", mock.url,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("  DRIFT  plain ") and line.endswith("500 vs 200") for line in lines)
    assert "         status:" in lines
    assert done.stdout.rstrip().endswith("21 probes, 1 drifted: plain.")


def test_cli_json_report(upstream: MockServer, mock: MockServer) -> None:
    stub_error(upstream, "plain", 500, {"error": {"code": "500", "message": "Down."}})
    done = run_cli(
        "--endpoint", upstream.url, "--api-key", "k", "--deployment", DEPLOYMENT,
        "--mock-url", mock.url, "--json",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["drift"] is True
    assert report["summary"] == {"probes": 21, "drifted": ["plain"]}
    assert report["endpoint"] == {
        "url": upstream.url,
        "deployment": DEPLOYMENT,
        "api_version": "2025-04-01-preview",
    }
    plain = report["probes"][0]
    assert (plain["name"], plain["endpoint_status"], plain["mock_status"]) == ("plain", 500, 200)
    assert {"aspect": "status", "where": "", "endpoint": "500", "mock": "200"} in plain[
        "differences"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--endpoint", "not-a-url", "--api-key", "k", "--deployment", "d"], "http(s) URL"),
        (["--endpoint", "http://127.0.0.1:9", "--deployment", "d"], "--api-key"),
        (["--endpoint", "http://127.0.0.1:9", "--api-key", "k"], "--deployment"),
    ],
    ids=["bad-url", "no-key", "no-deployment"],
)
def test_cli_usage_errors_exit_2(args: list[str], message: str) -> None:
    command = [sys.executable, "-m", "mockserver", "contract", "verify", *args]
    environment = {k: v for k, v in os.environ.items() if k != "AZURE_OPENAI_API_KEY"}
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=60, check=False, env=environment
    )
    assert done.returncode == 2
    assert message in done.stderr


def test_report_json_matches_the_text(upstream: MockServer, mock: MockServer) -> None:
    stub_error(upstream, "plain", 400, {"error": {**PLAIN_ERROR["error"], "code": "other"}})
    stub_error(mock, "plain", 400, PLAIN_ERROR)
    report = verify(target(upstream), target(mock), probes("plain"))
    data = render_json(report)
    assert data["probes"][0]["differences"] == [
        {
            "aspect": "value",
            "where": "error.code",
            "endpoint": '"other"',
            "mock": '"invalid_content"',
        }
    ]
    assert "value error.code:" in render_text(report)
