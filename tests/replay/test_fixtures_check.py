"""`mockserver fixtures check` finds every credential the deny list would have taken out of
a fixture file, names the file, the interaction, the field and the kind, and exits 1;
it never prints the secret itself. Before, such files gave "0 problem(s)"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.cli import child_environment

REPO = Path(__file__).resolve().parents[2]
CHAT_PATH = "/openai/deployments/o3-mini/chat/completions"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ.Y2hlY2stc2lnbmF0dXJl"
SK_KEY = "sk-proj-Ch3ck4Me5Please6Now7"
COMPLETION = {
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi."}}],
    "created": 1738281600,
    "id": "chatcmpl-check",
    "model": "o3-mini-2025-01-31",
    "object": "chat.completion",
}
SECRETS = {
    "proxy-authorization": "Basic cHJveHk6Y2hlY2s=",
    "apikey": "kong-check-1111",
    "x-api_key": "gateway-check-2222",
    "x-auth": "x-auth-check-3333",
    "x-ms-client-principal": "eyJ1c2VyIjoiY2hlY2sifQ==",
    "code": "function-check-4444",
    "user": "end-user-check-5555",
    "metadata": "tenant-check-6666",
    "jwt": JWT,
    "sk": SK_KEY,
    "sig": "sas-check-7777",
    "set-cookie": "session=check-8888",
}


def interaction(request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    return {
        "request": {"method": "POST", "path": CHAT_PATH, **request},
        "response": {"status": 200, "body": json.dumps(COMPLETION), **response},
    }


def leaky_file(directory: Path) -> Path:
    interactions = [
        interaction(
            {
                "query": {"api-version": "2024-10-21", "code": SECRETS["code"]},
                "headers": {
                    "proxy-authorization": SECRETS["proxy-authorization"],
                    "apikey": SECRETS["apikey"],
                    "x-api_key": SECRETS["x-api_key"],
                    "x-auth": SECRETS["x-auth"],
                    "x-ms-client-principal": SECRETS["x-ms-client-principal"],
                    "api-key": "REDACTED",
                },
                "body": {
                    "messages": [{"role": "user", "content": f"Token {JWT}"}],
                    "user": SECRETS["user"],
                    "metadata": {"tenant": SECRETS["metadata"]},
                },
            },
            {"headers": {"set-cookie": SECRETS["set-cookie"]}},
        ),
        interaction(
            {
                "body": {
                    "messages": [
                        {
                            "role": "user",
                            "content": "see https://a.blob.core.windows.net/c/f.png"
                            f"?sv=2024-11-04&sig={SECRETS['sig']}",
                        }
                    ]
                }
            },
            {
                "body": None,
                "frames": [
                    {"offset_ms": 0, "data": f"data: {json.dumps({'key': SK_KEY})}\n\n"},
                    {"offset_ms": 1, "data": "data: [DONE]\n\n"},
                ],
            },
        ),
    ]
    path = directory / "leaky.json"
    path.write_text(json.dumps({"version": 1, "interactions": interactions}), encoding="utf-8")
    return path


def check(directory: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mockserver", "fixtures", "check", str(directory)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=child_environment(env),
        timeout=120,
        check=False,
    )


def test_every_leak_is_named_by_file_interaction_field_and_kind(tmp_path: Path) -> None:
    leaky_file(tmp_path)
    run = check(tmp_path)
    assert run.returncode == 1
    assert run.stderr == ""
    assert run.stdout.splitlines() == [
        "leaky.json#0: request header 'proxy-authorization' holds a credential",
        "leaky.json#0: request header 'apikey' holds a credential",
        "leaky.json#0: request header 'x-api_key' holds a credential",
        "leaky.json#0: request header 'x-auth' holds a credential",
        "leaky.json#0: request header 'x-ms-client-principal' holds a credential",
        "leaky.json#0: response header 'set-cookie' holds a credential",
        "leaky.json#0: query parameter 'code' holds a credential",
        "leaky.json#0: request body field 'user' is not redacted",
        "leaky.json#0: request body field 'metadata' is not redacted",
        "leaky.json#0: request body.messages[0].content holds a JWT",
        "leaky.json#1: request body.messages[0].content holds a credential in a URL query "
        "(sig=, code=, api-key=...)",
        "leaky.json#1: response frame 0 holds an sk- key",
        "2 interaction(s) checked, 12 problem(s)",
    ]
    for secret in SECRETS.values():  # named, never shown
        assert secret not in run.stdout


def test_the_users_own_names_are_checked_too(tmp_path: Path) -> None:
    path = tmp_path / "custom.json"
    custom = interaction({"headers": {"x-tenant-passphrase": "horse-battery"}}, {})
    path.write_text(json.dumps({"version": 1, "interactions": [custom]}), encoding="utf-8")
    assert check(tmp_path).returncode == 0
    run = check(tmp_path, env={"MOCKSERVER_REDACT_HEADERS": "passphrase"})
    assert run.returncode == 1
    assert run.stdout.splitlines()[0] == (
        "custom.json#0: request header 'x-tenant-passphrase' holds a credential"
    )


def test_a_file_written_by_import_vcr_passes(tmp_path: Path) -> None:
    """What redaction writes is exactly what check accepts: the two use one list."""
    (tmp_path / "leaky").mkdir()
    leaky = leaky_file(tmp_path / "leaky")
    cassette = tmp_path / "leaky.yaml"
    data = json.loads(leaky.read_text(encoding="utf-8"))
    cassette.write_text(json.dumps(_as_vcr(data["interactions"])), encoding="utf-8")
    out = tmp_path / "imported"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mockserver",
            "fixtures",
            "import-vcr",
            str(cassette),
            "--out",
            str(out),
        ],
        cwd=REPO,
        env=child_environment(),
        timeout=120,
        check=True,
        capture_output=True,
    )
    run = check(out)
    assert (run.returncode, run.stdout) == (0, "2 interaction(s) checked, 0 problem(s)\n")
    text = (out / "leaky.json").read_text(encoding="utf-8")
    assert [name for name, secret in SECRETS.items() if secret in text] == []


def _as_vcr(interactions: list[dict[str, Any]]) -> dict[str, Any]:
    """The same interactions as a vcrpy cassette (JSON is YAML)."""
    converted = []
    for item in interactions:
        request, response = item["request"], item["response"]
        query = "&".join(f"{k}={v}" for k, v in request.get("query", {}).items())
        body = response.get("body") or "".join(f["data"] for f in response.get("frames", []))
        converted.append(
            {
                "request": {
                    "method": "POST",
                    "uri": f"https://x.openai.azure.com{CHAT_PATH}?{query}",
                    "headers": {k: [v] for k, v in request.get("headers", {}).items()},
                    "body": json.dumps(request.get("body")),
                },
                "response": {
                    "status": {"code": 200},
                    "headers": {k: [v] for k, v in response.get("headers", {}).items()},
                    "body": {"string": body},
                },
            }
        )
    return {"interactions": converted}


KEY_TOKENS = [
    "Your key is ",
    "sk",
    "-proj",
    "-Sp1it4",
    "Over5Many",
    "6Frames7",
    " and that is all.",
]


def chunk_frame(content: str) -> str:
    event = {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": content}}],
    }
    return "data: " + json.dumps(event, separators=(",", ":")) + "\n\n"


def test_a_key_spelled_out_over_stream_frames_is_found_and_import_takes_it_out(
    tmp_path: Path,
) -> None:
    frames = [chunk_frame(token) for token in KEY_TOKENS] + ["data: [DONE]\n\n"]
    streamed = interaction(
        {"body": {"messages": [{"role": "user", "content": "Repeat my key."}], "stream": True}},
        {"body": None, "frames": [{"offset_ms": 0, "data": data} for data in frames]},
    )
    (tmp_path / "recorded").mkdir()
    recorded = tmp_path / "recorded" / "stream.json"
    recorded.write_text(json.dumps({"version": 1, "interactions": [streamed]}), encoding="utf-8")
    run = check(recorded.parent)
    assert run.returncode == 1
    assert run.stdout.splitlines()[0] == (
        "stream.json#0: response stream (choice 0, over several frames) holds an sk- key"
    )
    cassette = tmp_path / "stream.yaml"
    cassette.write_text(json.dumps(_as_vcr([streamed])), encoding="utf-8")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mockserver",
            "fixtures",
            "import-vcr",
            str(cassette),
            "--out",
            str(tmp_path / "imported"),
        ],
        cwd=REPO,
        env=child_environment(),
        timeout=120,
        check=True,
        capture_output=True,
    )
    assert check(tmp_path / "imported").returncode == 0
    text = (tmp_path / "imported" / "stream.json").read_text(encoding="utf-8")
    assert "Sp1it4" not in text and "Over5Many" not in text and "that is all." in text
