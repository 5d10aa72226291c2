"""The admin API under /__admin/, over raw HTTP (httpx), and stubs loaded from files by the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

import mockserver
from mockserver.admin.routes import create_admin_app
from mockserver.testing.server import MockServer
from tests.doubles.helpers import admin_client
from tests.support.chat import user
from tests.support.clients import azure_client
from tests.support.waiting import POLL_BOUND_SECONDS, Lines

MODEL = "o3-mini"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def admin(mock: MockServer) -> Iterator[httpx.Client]:
    with admin_client(mock) as client:
        yield client


def content_of(server: MockServer, text: str = "Tell me about tea") -> str | None:
    with azure_client(server) as client:
        reply = client.chat.completions.create(model=MODEL, messages=user(text))
    return reply.choices[0].message.content


def assert_admin_error(response: httpx.Response, status: int, code: str) -> str:
    """The admin error envelope; its message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    return str(error["message"])


# --- health and stubs CRUD ---------------------------------------------------------------------


def test_health(admin: httpx.Client) -> None:
    response = admin.get("/__admin/health")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "status": "ok",
        "version": mockserver.__version__,
        "warm": body["warm"],
        "store": "up",
    }
    # The tokenizer and word lists load in the background; `warm` turns true once they have.
    for _ in range(300):
        if admin.get("/__admin/health").json()["warm"] is True:
            return
        time.sleep(0.1)
    raise AssertionError("the warm-up did not finish in 30 s")


def test_create_a_stub_gets_a_generated_id(mock: MockServer, admin: httpx.Client) -> None:
    response = admin.post("/__admin/stubs", json={"answer": {"content": "from admin"}})
    assert response.status_code == 201
    stub = response.json()
    assert re.fullmatch(r"[0-9a-f]{32}", stub["id"])
    assert stub["answer"]["content"] == "from admin"
    assert stub["priority"] == 5
    assert stub["times"] is None
    assert stub["answered"] == 0
    assert content_of(mock) == "from admin"
    assert admin.get(f"/__admin/stubs/{stub['id']}").json()["answered"] == 1


def test_create_a_stub_with_its_own_id(admin: httpx.Client) -> None:
    response = admin.post("/__admin/stubs", json={"id": "weather-1", "answer": {"content": "x"}})
    assert response.status_code == 201
    assert response.json()["id"] == "weather-1"
    assert admin.get("/__admin/stubs/weather-1").status_code == 200


def test_list_and_get_stubs(admin: httpx.Client) -> None:
    assert admin.get("/__admin/stubs").json() == {"stubs": []}
    ids = [
        admin.post("/__admin/stubs", json={"answer": {"content": text}}).json()["id"]
        for text in ("one", "two")
    ]
    listed = admin.get("/__admin/stubs").json()["stubs"]
    assert sorted(stub["id"] for stub in listed) == sorted(ids)
    one = admin.get(f"/__admin/stubs/{ids[0]}")
    assert one.status_code == 200
    assert one.json()["answer"]["content"] == "one"


def test_put_replaces_a_stub_and_keeps_its_id(mock: MockServer, admin: httpx.Client) -> None:
    stub_id = admin.post("/__admin/stubs", json={"answer": {"content": "before"}}).json()["id"]
    replaced = admin.put(
        f"/__admin/stubs/{stub_id}",
        json={"id": "ignored", "priority": 2, "answer": {"content": "after"}},
    )
    assert replaced.status_code == 200
    assert replaced.json()["id"] == stub_id
    assert replaced.json()["priority"] == 2
    assert [stub["id"] for stub in admin.get("/__admin/stubs").json()["stubs"]] == [stub_id]
    assert content_of(mock) == "after"


def test_delete_one_stub(mock: MockServer, admin: httpx.Client) -> None:
    keep = admin.post("/__admin/stubs", json={"answer": {"content": "kept"}}).json()["id"]
    gone = admin.post("/__admin/stubs", json={"answer": {"content": "gone"}}).json()["id"]
    response = admin.delete(f"/__admin/stubs/{gone}")
    assert response.status_code == 200
    assert response.json() == {"deleted": gone}
    assert [stub["id"] for stub in admin.get("/__admin/stubs").json()["stubs"]] == [keep]
    assert content_of(mock) == "kept"


def test_delete_all_stubs(mock: MockServer, admin: httpx.Client) -> None:
    for text in ("a", "b"):
        admin.post("/__admin/stubs", json={"answer": {"content": text}})
    assert admin.delete("/__admin/stubs").status_code == 200
    assert admin.get("/__admin/stubs").json() == {"stubs": []}
    assert content_of(mock) not in ("a", "b")
    assert mock.requests[-1].source == "generator"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_unknown_stub_id_is_404(admin: httpx.Client, method: str) -> None:
    response = admin.request(method, "/__admin/stubs/nope", json={"answer": {"content": "x"}})
    message = assert_admin_error(response, 404, "NotFound")
    assert "nope" in message


# --- bad input ---------------------------------------------------------------------------------

# (body, the field the message must name)
BAD_STUBS: dict[str, tuple[bytes | dict[str, Any], str]] = {
    "not-json": (b"{not json", "body"),
    "not-an-object": (b"[1, 2]", "body"),
    "unknown-field": ({"answer": {"content": "x"}, "colour": "blue"}, "colour"),
    "unknown-match-field": ({"match": {"last_user": {"equals": "x"}}}, "match.last_user"),
    "two-answer-kinds": ({"answer": {"content": "x", "refusal": "no"}}, "answer"),
    "text-match-two-ways": (
        {"match": {"any_message": {"equals": "a", "contains": "a"}}},
        "match.any_message",
    ),
    "bad-regex": ({"match": {"last_user_message": {"regex": "(unclosed"}}}, "regex"),
    "bad-fault": ({"answer": {"fault": "explode"}}, "fault"),
    "error-without-name-or-body": ({"answer": {"error": {"values": {}}}}, "answer.error"),
    "error-status-without-body": ({"answer": {"error": {"status": 500}}}, "answer.error"),
    "error-unknown-catalogue-name": ({"answer": {"error": {"name": "NoSuchError"}}}, "name"),
    "times-zero": ({"times": 0, "answer": {"content": "x"}}, "times"),
    "bad-route": ({"match": {"route": "v2"}}, "match.route"),
    "negative-delay": ({"answer": {"delay_ms": -1}}, "answer.delay_ms"),
    # Found by schemathesis: accepted, then every listing of the stubs answered 500 (orjson
    # writes integers of 64 bits at most).
    "huge-int-output": ({"answer": {"structured_output": {"n": 2**70}}}, "structured_output"),
    "huge-int-arguments": (
        {"answer": {"tool_calls": [{"name": "f", "arguments": {"n": -(2**64)}}]}},
        "arguments",
    ),
    "huge-int-error-body": (
        {"answer": {"error": {"status": 400, "body": {"n": [2**64]}}}},
        "answer.error.body",
    ),
    "huge-int-match": ({"match": {"body": {"n": 2**64}}}, "match.body"),
    "huge-answered": ({"answered": 761516827734776085479424}, "answered"),
}


def send_json(client: httpx.Client, method: str, url: str, body: bytes | dict[str, Any]) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    return client.request(method, url, content=content, headers=headers)


@pytest.mark.parametrize(("body", "field"), BAD_STUBS.values(), ids=BAD_STUBS)
def test_a_bad_stub_is_400_naming_the_field(
    mock: MockServer, admin: httpx.Client, body: bytes | dict[str, Any], field: str
) -> None:
    response = send_json(admin, "POST", "/__admin/stubs", body)
    failures = mock.take_failures()
    assert failures == [], f"the server crashed on this input: {failures!r}"
    message = assert_admin_error(response, 400, "InvalidRequest")
    assert field in message
    assert admin.get("/__admin/stubs").json() == {"stubs": []}


def test_a_bad_replacement_is_400_and_keeps_the_stub(admin: httpx.Client) -> None:
    stub_id = admin.post("/__admin/stubs", json={"answer": {"content": "kept"}}).json()["id"]
    response = admin.put(f"/__admin/stubs/{stub_id}", json={"times": 0})
    assert "times" in assert_admin_error(response, 400, "InvalidRequest")
    assert admin.get(f"/__admin/stubs/{stub_id}").json()["answer"]["content"] == "kept"


def test_the_400_lists_every_problem_in_details(admin: httpx.Client) -> None:
    response = admin.post("/__admin/stubs", json={"times": 0, "priority": "high"})
    assert_admin_error(response, 400, "InvalidRequest")
    details = response.json()["error"]["details"]
    assert sorted(item["loc"] for item in details) == ["priority", "times"]


# --- reset ---------------------------------------------------------------------------------------


def test_reset_only_some_parts(mock: MockServer, admin: httpx.Client) -> None:
    mock.stub(answer={"content": "still here"})
    assert content_of(mock) == "still here"
    response = admin.post("/__admin/reset", json={"parts": ["journal"]})
    assert response.status_code == 200
    assert response.json() == {"reset": ["journal"]}
    assert mock.requests == []
    assert len(mock.stubs()) == 1


def test_reset_everything_by_default(mock: MockServer, admin: httpx.Client) -> None:
    mock.stub(scenario="s", required_state="Started", new_state="x", answer={"content": "a"})
    content_of(mock)
    response = admin.post("/__admin/reset")
    assert response.status_code == 200
    assert response.json() == {"reset": ["journal", "quota", "scenarios", "stubs"]}
    assert mock.requests == []
    assert mock.stubs() == []
    assert mock.scenarios() == {}


def test_reset_an_unknown_part_is_400(mock: MockServer, admin: httpx.Client) -> None:
    mock.stub(answer={"content": "kept"})
    response = admin.post("/__admin/reset", json={"parts": ["journal", "everything"]})
    message = assert_admin_error(response, 400, "InvalidRequest")
    assert "everything" in message
    assert len(mock.stubs()) == 1


# --- settings ------------------------------------------------------------------------------------


def test_settings_mask_the_api_keys() -> None:
    keyed = MockServer(api_keys=["secret-key-7f3e"], entra_tokens=["entra-token-91ac"])
    with keyed, admin_client(keyed) as client:
        response = client.get("/__admin/settings")
    assert response.status_code == 200
    settings = response.json()
    assert settings["api_keys"] == ["***"]
    assert settings["entra_tokens"] == ["***"]
    assert "secret-key-7f3e" not in response.text
    assert "entra-token-91ac" not in response.text
    assert settings["deployments"][MODEL]["model"] == "o3-mini"


def test_patch_seed_changes_the_generated_content(mock: MockServer, admin: httpx.Client) -> None:
    original_seed = admin.get("/__admin/settings").json()["seed"]
    before = content_of(mock)
    assert content_of(mock) == before  # deterministic under one seed
    response = admin.patch("/__admin/settings", json={"seed": original_seed + 4242})
    assert response.status_code == 200
    assert response.json()["seed"] == original_seed + 4242
    after = content_of(mock)
    assert after != before
    admin.patch("/__admin/settings", json={"seed": original_seed})
    assert content_of(mock) == before


def test_patch_an_unknown_setting_is_400(admin: httpx.Client) -> None:
    response = admin.patch("/__admin/settings", json={"colour": "blue"})
    assert "colour" in assert_admin_error(response, 400, "InvalidRequest")


def test_patch_a_setting_that_cannot_change_is_400(admin: httpx.Client) -> None:
    response = admin.patch("/__admin/settings", json={"port": 1})
    assert "port" in assert_admin_error(response, 400, "InvalidRequest")


def test_patch_a_bad_value_is_400_and_changes_nothing(admin: httpx.Client) -> None:
    before = admin.get("/__admin/settings").json()
    response = admin.patch("/__admin/settings", json={"stream_chunking": "sometimes"})
    assert "stream_chunking" in assert_admin_error(response, 400, "InvalidRequest")
    assert admin.get("/__admin/settings").json() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stream_obfuscation", 0.0),
        ("deterministic_ids", "true"),
        ("deterministic_ids", 1),
        ("seed", 7.5),
        ("seed", "7"),
        ("region", 5),
    ],
)
def test_patch_a_value_of_the_wrong_json_type_is_400_not_coerced(
    admin: httpx.Client, field: str, value: object
) -> None:
    before = admin.get("/__admin/settings").json()
    response = admin.patch("/__admin/settings", json={field: value})
    assert field in assert_admin_error(response, 400, "InvalidRequest")
    assert admin.get("/__admin/settings").json() == before


def test_verify_count_must_be_a_json_integer(admin: httpx.Client) -> None:
    response = admin.post("/__admin/requests/verify", json={"match": {}, "count": 1.0})
    assert "count" in assert_admin_error(response, 400, "InvalidRequest")


# --- the OpenAPI document ------------------------------------------------------------------------


def admin_routes() -> set[tuple[str, str]]:
    """(path, method) of every route the admin app serves (HEAD aside)."""
    routes = set()
    for route in create_admin_app().router.routes():
        if route.method == "HEAD":
            continue
        assert route.resource is not None
        routes.add(("/__admin" + route.resource.canonical, route.method.lower()))
    return routes


def test_openapi_document(admin: httpx.Client) -> None:
    response = admin.get("/__admin/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["version"] == mockserver.__version__
    schemas = document["components"]["schemas"]
    assert {"Stub", "RequestMatch", "StubAnswer", "TextMatch"} <= set(schemas)
    assert "match" in schemas["Stub"]["properties"]
    assert "last_user_message" in schemas["RequestMatch"]["properties"]
    documented = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert documented == admin_routes()


def test_openapi_refs_all_resolve(admin: httpx.Client) -> None:
    document = admin.get("/__admin/openapi.json").json()
    refs = set(re.findall(r'"\$ref":\s*"([^"]+)"', json.dumps(document)))
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in document["components"]["schemas"]


# --- admin requests are neither journaled nor faulted ---------------------------------------------


def test_admin_requests_are_never_journaled(mock: MockServer, admin: httpx.Client) -> None:
    admin.get("/__admin/health")
    admin.post("/__admin/stubs", json={"answer": {"content": "x"}})
    admin.get("/__admin/stubs")
    admin.get("/__admin/requests")
    admin.post("/__admin/requests/count", json={})
    admin.get("/__admin/nowhere")
    assert mock.requests == []
    assert admin.get("/__admin/requests").json() == {"requests": [], "count": 0}


@pytest.mark.parametrize("fault", ["500", "429", "reset", "garbage", "truncate"])
def test_admin_requests_ignore_x_mock_fault(
    mock: MockServer, admin: httpx.Client, fault: str
) -> None:
    headers = {"x-mock-fault": fault}
    health = admin.get("/__admin/health", headers=headers)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    created = admin.post("/__admin/stubs", json={"answer": {"content": "x"}}, headers=headers)
    assert created.status_code == 201
    assert mock.requests == []


def test_the_same_fault_header_does_hit_inference(mock: MockServer) -> None:
    """The control for the test above: the header is honoured where it applies."""
    with azure_client(mock) as client, pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model=MODEL, messages=user("hi"), extra_headers={"x-mock-fault": "500"}
        )


# --- stubs loaded from files by `mockserver serve --stubs DIR` -----------------------------------


READY = re.compile(r"^mockserver listening on http://127\.0\.0\.1:(\d+)$")


@dataclass
class Served:
    process: subprocess.Popen[str]
    stdout: Lines
    stderr: Lines


@contextmanager
def serve(stubs_dir: Path) -> Iterator[Served]:
    """`python -m mockserver serve --stubs DIR --port 0`; stopped and its pipes closed after."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}
    command = [sys.executable, "-m", "mockserver", "serve", "--stubs", str(stubs_dir)]
    with subprocess.Popen(
        [*command, "--port", "0", "--host", "127.0.0.1"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        served = Served(process, Lines(process.stdout), Lines(process.stderr))
        try:
            yield served
        finally:
            if process.poll() is None:
                process.terminate()
            process.wait(timeout=POLL_BOUND_SECONDS)
            served.stdout.text()
            served.stderr.text()


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def test_serve_loads_stubs_from_every_file_shape(tmp_path: Path) -> None:
    write_json(
        tmp_path / "single.json",
        {"match": {"last_user_message": {"equals": "single"}}, "answer": {"content": "one"}},
    )
    write_json(
        tmp_path / "list.json",
        [
            {"match": {"last_user_message": {"equals": "list a"}}, "answer": {"content": "A"}},
            {"match": {"last_user_message": {"equals": "list b"}}, "answer": {"content": "B"}},
        ],
    )
    write_json(
        tmp_path / "wrapped.json",
        {
            "stubs": [
                {
                    "id": "wrapped-stub",
                    "match": {"last_user_message": {"equals": "wrapped"}},
                    "answer": {"refusal": "no"},
                }
            ]
        },
    )
    (tmp_path / "notes.txt").write_text("not a stub file, not loaded", encoding="utf-8")
    with serve(tmp_path) as served:
        port = int(served.stdout.wait_for(READY).group(1))
        url = f"http://127.0.0.1:{port}"
        with openai.AzureOpenAI(
            azure_endpoint=url, api_key="k", api_version="2025-04-01-preview", max_retries=0
        ) as client:

            def message(text: str) -> Any:
                reply = client.chat.completions.create(model=MODEL, messages=user(text))
                return reply.choices[0].message

            assert message("single").content == "one"
            assert message("list a").content == "A"
            assert message("list b").content == "B"
            assert message("wrapped").refusal == "no"
        with httpx.Client(base_url=url, timeout=30) as admin:
            stubs = admin.get("/__admin/stubs").json()["stubs"]
            assert len(stubs) == 4
            assert "wrapped-stub" in {stub["id"] for stub in stubs}


BAD_FILES: dict[str, str] = {
    "not-json": "{this is not json",
    "not-stubs": "42",
    "unknown-field": json.dumps({"answer": {"content": "x"}, "colour": "blue"}),
    "bad-list-item": json.dumps([{"answer": {"content": "x"}}, {"times": 0}]),
    "bad-fault": json.dumps({"answer": {"fault": "explode"}}),
    "bad-regex": json.dumps({"match": {"any_message": {"regex": "(unclosed"}}}),
}


@pytest.mark.parametrize("text", BAD_FILES.values(), ids=BAD_FILES)
def test_serve_refuses_a_bad_stub_file(tmp_path: Path, text: str) -> None:
    write_json(tmp_path / "good.json", {"answer": {"content": "fine"}})
    (tmp_path / "broken.json").write_text(text, encoding="utf-8")
    with serve(tmp_path) as served:
        code = served.process.wait(timeout=POLL_BOUND_SECONDS)
        errors, output = served.stderr.text(), served.stdout.text()
    assert code == 2, errors
    assert "Traceback" not in errors
    assert errors.startswith("mockserver: ")
    assert "broken.json" in errors
    assert "listening" not in output


def test_serve_refuses_a_missing_stubs_directory(tmp_path: Path) -> None:
    with serve(tmp_path / "absent") as served:
        code = served.process.wait(timeout=POLL_BOUND_SECONDS)
        errors = served.stderr.text()
    assert code == 2
    assert "does not exist" in errors
    assert "Traceback" not in errors
