"""The admin token: every admin operation that reads or changes state needs it; health and
the OpenAPI document stay open; no view of the settings, no error, no log shows a secret."""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from mockserver.admin.openapi import admin_openapi
from mockserver.config import Settings
from mockserver.redaction.masking import validation_summary
from mockserver.testing.admin_client import AdminClient, AdminError
from mockserver.testing.server import MockServer
from tests.replay.helpers import closed_port, post
from tests.support import rawhttp
from tests.support.cli import run_to_exit, spawned
from tests.support.waiting import WAIT_SECONDS, Lines

TOKEN = "admin-s3cret-T0ken"
OPEN = {("GET", "/__admin/health"), ("GET", "/__admin/openapi.json")}
# The dashboard's static files: the same for every server, no state; what they fetch is protected.
OPEN |= {("GET", "/__admin/ui"), ("GET", "/__admin/ui/app.js"), ("GET", "/__admin/ui/app.css")}
PATH_VALUES = {"{id}": "no-such-stub", "{name}": "some-scenario"}
STUB = {"match": {"last_user_message": {"contains": "hi"}}, "answer": {"content": "hello"}}


def operations() -> list[tuple[str, str]]:
    """Every admin operation of the served document, with its path parameters filled."""
    found = []
    for path, item in admin_openapi()["paths"].items():
        for name, value in PATH_VALUES.items():
            path = path.replace(name, value)
        found += [(method.upper(), path) for method in item if method != "parameters"]
    return found


PROTECTED = [operation for operation in operations() if operation not in OPEN]


@pytest.fixture(scope="module")
def protected() -> Iterator[MockServer]:
    with MockServer(admin_token=TOKEN, api_keys=["inference-key"]) as server:
        yield server


def call(
    server: MockServer, method: str, path: str, headers: dict[str, str] | None = None
) -> rawhttp.RawResponse:
    body = STUB if (method, path) == ("POST", "/__admin/stubs") else None
    return rawhttp.request(server.url + path, method, body=body, headers=headers)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"x-mock-admin-token": "wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"x-mock-admin-token": TOKEN + "x"},
        {"api-key": "inference-key"},
    ],
    ids=["none", "wrong-bearer", "wrong-header", "basic", "longer", "inference-key"],
)
@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[" ".join(p) for p in PROTECTED])
def test_every_protected_operation_refuses_a_missing_or_wrong_token(
    protected: MockServer, method: str, path: str, headers: dict[str, str]
) -> None:
    protected.reset()
    response = call(protected, method, path, headers)
    assert response.status == 401
    assert response.json()["error"]["code"] == "Unauthorized"
    assert response.headers["www-authenticate"] == 'Bearer realm="mockserver-admin"'
    assert TOKEN.encode() not in response.body
    assert protected.stubs() == [], "a refused call changed the stubs"


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": f"Bearer {TOKEN}"}, {"x-mock-admin-token": TOKEN}],
    ids=["bearer", "header"],
)
@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[" ".join(p) for p in PROTECTED])
def test_the_token_opens_every_protected_operation(
    protected: MockServer, method: str, path: str, headers: dict[str, str]
) -> None:
    protected.reset()
    response = call(protected, method, path, headers)
    assert response.status != 401, response.body


@pytest.mark.parametrize(("method", "path"), sorted(OPEN))
def test_health_and_the_document_stay_open(protected: MockServer, method: str, path: str) -> None:
    assert call(protected, method, path).status == 200


def test_health_tells_only_liveness_and_version(protected: MockServer) -> None:
    health = call(protected, "GET", "/__admin/health").json()
    assert set(health) == {"status", "version", "warm", "store"}
    assert health["status"] == "ok"


def test_the_document_describes_the_token(protected: MockServer) -> None:
    document = call(protected, "GET", "/__admin/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["adminBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["adminBearer"]["description"],
    }
    assert schemes["adminHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-mock-admin-token",
    }
    assert document["paths"]["/__admin/health"]["get"]["security"] == []
    assert "401" in document["paths"]["/__admin/stubs"]["post"]["responses"]


# --- the typed clients -------------------------------------------------------------------


def test_the_admin_client_sends_its_token(protected: MockServer) -> None:
    protected.reset()
    client = AdminClient(protected.url, token=TOKEN)
    assert client.add_stub(STUB).answer.content == "hello"
    assert len(client.stubs()) == 1
    assert TOKEN not in repr(client)
    with pytest.raises(AdminError) as refused:
        AdminClient(protected.url, token="wrong").stubs()
    assert refused.value.status == 401


def test_the_admin_client_reads_the_servers_variable(
    protected: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOCKSERVER_ADMIN_TOKEN", TOKEN)
    assert AdminClient(protected.url).settings()["admin_token"] == "***"


def test_mockserver_hands_out_a_client_with_its_token(protected: MockServer) -> None:
    protected.reset()
    admin = protected.admin_client()
    admin.add_stub(STUB)
    assert [stub.answer.content for stub in admin.stubs()] == ["hello"]


# --- secrets in views, errors and logs -----------------------------------------------------


def test_settings_mask_the_token_and_the_upstreams_credentials() -> None:
    upstream = "http://recorder:upstream-pa55@127.0.0.1:9/base?key=query-s3cret"
    with MockServer(admin_token=TOKEN, upstream=upstream, api_keys=["k1"]) as server:
        raw = call(server, "GET", "/__admin/settings", {"x-mock-admin-token": TOKEN})
    for secret in (TOKEN, "upstream-pa55", "query-s3cret", "recorder", "k1"):
        assert secret.encode() not in raw.body
    settings = raw.json()
    assert settings["admin_token"] == "***"
    assert settings["upstream"] == "http://***@127.0.0.1:9/base?key=***"


def test_a_502_never_shows_the_upstreams_credentials(tmp_path: Path) -> None:
    unreachable = f"http://recorder:upstream-pa55@127.0.0.1:{closed_port()}"
    with MockServer(fixtures_dir=tmp_path, record_mode="all", upstream=unreachable) as recording:
        response = post(recording, {"messages": [{"role": "user", "content": "hi"}]})
    assert response.status == 502
    assert response.json()["error"]["code"] == "UpstreamUnavailable"
    assert b"upstream-pa55" not in response.body
    assert b"recorder" not in response.body
    assert b"http://***@127.0.0.1:" in response.body


@pytest.mark.parametrize(
    ("flags", "env", "secret"),
    [
        (["--upstream", "https://u:pw-s3cret@h.invalid"], {}, "pw-s3cret"),
        ([], {"MOCKSERVER_API_KEYS": "key-s3cret"}, "key-s3cret"),
        ([], {"MOCKSERVER_ADMIN_TOKEN": "tok-s3cret"}, "tok-s3cret"),
    ],
    ids=["upstream-password", "api-key", "admin-token"],
)
def test_a_configuration_error_does_not_echo_secrets(
    flags: list[str], env: dict[str, str], secret: str
) -> None:
    """pydantic's own text repeats every value given; the CLI says only what is wrong."""
    result = run_to_exit("--record-mode", "once", *flags, env=env)
    assert result.returncode == 2
    assert "needs both upstream and fixtures_dir" in result.stderr
    assert secret not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "upstream", ["https://u:pw s3cret@h.invalid/", "ftp://u:pw-s3cret@h.invalid/", "pw-s3cret"]
)
def test_an_upstream_must_be_an_http_url_and_is_refused_without_echo(upstream: str) -> None:
    """A space would end the URL before its password, out of reach of the masking."""
    with pytest.raises(ValidationError) as refused:
        Settings(upstream=upstream)
    said = validation_summary(refused.value)
    assert said.startswith("upstream: Value error, upstream must be an http:// or https:// URL")
    assert "s3cret" not in said


@pytest.mark.parametrize("token", ["", "has space", "tab\there", "caf\u00e9"])
def test_an_admin_token_must_fit_a_header(token: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(admin_token=token)
    assert "printable ASCII" in str(refused.value)


# --- the start-up warning, from a real process ------------------------------------------


@pytest.fixture
def spawn() -> Iterator[Any]:
    children: list[tuple[subprocess.Popen[str], Lines, Lines]] = []

    def start(*args: str, env: dict[str, str] | None = None) -> tuple[Lines, Lines, Any]:
        process = spawned(*args, env=env)
        assert process.stdout is not None and process.stderr is not None
        children.append((process, Lines(process.stdout), Lines(process.stderr)))
        return children[-1][1], children[-1][2], process

    yield start
    for process, stdout, stderr in children:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(WAIT_SECONDS)
        stdout.rest()
        stderr.rest()
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()


READY = re.compile(r"^mockserver listening on http://")
WARNING = re.compile(
    r"^mockserver: WARNING: listening on 0\.0\.0\.0, beyond loopback, with no admin"
)


def warnings_of(spawn: Any, *args: str, env: dict[str, str] | None = None) -> list[str]:
    """The WARNING lines a server started with `args` wrote before it stopped."""
    stdout, stderr, process = spawn(*args, env=env)
    stdout.wait_for(READY)  # the warning is written before the ready line
    process.send_signal(signal.SIGTERM)
    process.wait(WAIT_SECONDS)
    return [line for line in stderr.rest() if "WARNING" in line]


def test_binding_beyond_loopback_without_a_token_warns_once(spawn: Any) -> None:
    [line] = warnings_of(spawn, "--host", "0.0.0.0")
    assert WARNING.match(line), line
    assert "--admin-token" in line and "MOCKSERVER_ADMIN_TOKEN" in line
    assert warnings_of(spawn, "--host", "0.0.0.0", env={"MOCKSERVER_ADMIN_TOKEN": TOKEN}) == []
    assert warnings_of(spawn, "--host", "0.0.0.0", "--admin-token", TOKEN) == []
    assert warnings_of(spawn, "--host", "127.0.0.1") == []
