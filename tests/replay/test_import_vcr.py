"""Every real cassette in tests/data/real-traffic imported, then replayed through the SDK.

The cassettes come in several formats (vcrpy, old httpx stubs, pydantic-ai's parsed_body,
go-vcr, and aiohttp's with Python tags, which must be refused). Each imported interaction
must keep its status and body; each Azure chat interaction whose request can be rebuilt
must replay through `AzureOpenAI` exactly as recorded.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from contextlib import ExitStack
from functools import cache
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml

from mockserver.cli.main import main
from mockserver.cli.vcr_import import CassetteError, import_cassette
from mockserver.recordings.fixtures import Interaction, read_fixture_file
from tests.replay.helpers import journal, recorded_bytes, replayer
from tests.support.clients import azure_client
from tests.support.sse import raw_events
from tests.support.testdata import REAL_TRAFFIC

REAL = REAL_TRAFFIC
CASSETTES = sorted([*REAL.glob("azure/*.yaml"), *REAL.glob("openai/*.yaml")])
TAGGED = "dd-trace-js__azure-openai_gpt-4.1_post_e5b3df5e__401.yaml"
IMPORTABLE = [path for path in CASSETTES if path.name != TAGGED]
EDITED_CONTENT_FILTER = "openllmetry__test_azure__test_prompt_content_filtering.json"
REPO = Path(__file__).resolve().parents[2]
CHAT_PATH = re.compile(r"^/+openai/deployments/([^/]+)/chat/completions$")
FALLBACK_API_VERSION = "2024-10-21"


def test_the_shared_cassettes_are_all_here() -> None:
    names = {path.name for path in CASSETTES}
    assert TAGGED in names
    assert len(CASSETTES) == 27
    assert not [p for p in CASSETTES if p.suffix != ".yaml"], "only YAML cassettes are passed"


@pytest.fixture(scope="module")
def cli_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("imported")
    run = subprocess.run(
        [
            *(sys.executable, "-m", "mockserver", "fixtures", "import-vcr"),
            *map(str, CASSETTES),
            *("--out", str(out)),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    return run, out


@pytest.fixture(scope="module")
def imported(cli_run: tuple[subprocess.CompletedProcess[str], Path]) -> Path:
    return cli_run[1]


@cache
def raw_cassette(path: Path) -> dict[str, Any]:
    """The cassette as YAML (libyaml's safe loader: the same data, faster)."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    assert isinstance(data, dict)
    return data


def test_cli_converts_every_cassette_and_refuses_the_tagged_one(
    cli_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    run, out = cli_run
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    [refused] = [line for line in lines if line.startswith("refused: ")]
    assert TAGGED in refused
    assert "Python-object YAML tags" in refused
    assert "python/object/apply:multidict._multidict.istr" in refused
    assert "never executed" in refused
    for cassette in IMPORTABLE:
        count = len(raw_cassette(cassette)["interactions"])
        target = out / f"{cassette.stem}.json"
        assert f"{cassette} -> {target}: {count} interaction(s)" in lines
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{p.stem}.json" for p in IMPORTABLE)


def test_the_python_function_gives_what_the_cli_wrote(imported: Path) -> None:
    for cassette in IMPORTABLE:
        assert import_cassette(cassette) == read_fixture_file(imported / f"{cassette.stem}.json")
    with pytest.raises(CassetteError, match=r"python/object/apply:multidict") as refused:
        import_cassette(REAL / "azure" / TAGGED)
    assert TAGGED in str(refused.value)


def _status(response: dict[str, Any]) -> int:
    status = response.get("status")
    if isinstance(status, dict):
        return int(status["code"])
    return int(response.get("status_code") or response.get("code") or 0)


def _body_text(response: dict[str, Any]) -> str:
    body = response.get("body", response.get("content"))
    return str(body.get("string") if isinstance(body, dict) else body)


def _request_body(request: dict[str, Any]) -> Any:
    if "parsed_body" in request:
        return request["parsed_body"]
    body = request.get("body")
    body = body.get("string") if isinstance(body, dict) else body
    return json.loads(body) if body else body


END_USER_FIELDS = ("user", "safety_identifier", "metadata")


def _redacted_body(body: Any) -> Any:
    """The body as a fixture keeps it: fields that may identify an end user replaced."""
    if not isinstance(body, dict):
        return body
    return {key: "REDACTED" if key in END_USER_FIELDS else value for key, value in body.items()}


@pytest.mark.parametrize("cassette", IMPORTABLE, ids=[p.stem for p in IMPORTABLE])
def test_status_and_bodies_are_kept(cassette: Path, imported: Path) -> None:
    raw = raw_cassette(cassette)["interactions"]
    fixtures = read_fixture_file(imported / f"{cassette.stem}.json").interactions
    assert len(fixtures) == len(raw)
    for index, (interaction, original) in enumerate(zip(fixtures, raw, strict=True)):
        where = f"{cassette.name}#{index}"
        response, request = original["response"], original["request"]
        assert interaction.response.status == _status(response), where
        response_headers = list(interaction.response.headers.items())
        assert interaction.request.body == _redacted_body(_request_body(request)), where
        if "parsed_body" in response:
            assert interaction.response.body is not None
            assert json.loads(interaction.response.body) == response["parsed_body"], where
        else:
            assert recorded_bytes(interaction.response) == _body_text(response).encode(), where
        for name, value in [*interaction.request.headers.items(), *response_headers]:
            if name in ("api-key", "authorization", "cookie", "set-cookie", "openai-project"):
                assert value == "REDACTED", where


def test_the_old_httpx_cassette_imports_its_content_and_status_code(imported: Path) -> None:
    raw = raw_cassette(REAL / "azure" / "dd-trace-py__azure_chat_completion.yaml")
    response = raw["interactions"][0]["response"]
    assert "body" not in response and "status" not in response  # the old format indeed
    [interaction] = read_fixture_file(
        imported / "dd-trace-py__azure_chat_completion.json"
    ).interactions
    assert interaction.response.status == response["status_code"] == 200
    assert interaction.response.body == response["content"]
    assert (
        json.loads(interaction.response.body or "")["id"]
        == "chatcmpl-80yf1zsO83O6QA4OlMV9aHRIkSk2G"
    )
    assert interaction.request.query == {"api-version": "2023-07-01-preview"}
    assert interaction.request.body["messages"][0]["role"] == "user"


def test_the_old_httpx_cassette_path_is_the_route_azure_served(imported: Path) -> None:
    """The recorded URI has `//openai/deployments/...` (an endpoint with a trailing slash);
    Azure served it as the chat route, and the fixture must name that route to replay."""
    [interaction] = read_fixture_file(
        imported / "dd-trace-py__azure_chat_completion.json"
    ).interactions
    assert interaction.request.path == "/openai/deployments/test-openai/chat/completions"


PYDANTIC_AI = [path for path in IMPORTABLE if path.name.startswith("pydantic-ai__")]


@pytest.mark.parametrize("cassette", PYDANTIC_AI, ids=[p.stem for p in PYDANTIC_AI])
def test_pydantic_ai_parsed_bodies_are_imported(cassette: Path, imported: Path) -> None:
    raw = raw_cassette(cassette)["interactions"]
    fixtures = read_fixture_file(imported / f"{cassette.stem}.json").interactions
    assert fixtures
    for interaction, original in zip(fixtures, raw, strict=True):
        assert "parsed_body" in original["response"]
        assert interaction.request.body == _redacted_body(original["request"]["parsed_body"])
        assert interaction.response.body is not None
        assert json.loads(interaction.response.body) == original["response"]["parsed_body"]


def test_go_vcr_form_values_are_kept_as_the_query(imported: Path) -> None:
    """go-vcr keeps the query in `form` (the url has none): api-version must survive."""
    raw = raw_cassette(REAL / "azure" / "envoy-ai-gateway__azure-chat-basic.yaml")
    assert raw["interactions"][0]["request"]["form"] == {"api-version": ["2024-12-01-preview"]}
    [interaction] = read_fixture_file(
        imported / "envoy-ai-gateway__azure-chat-basic.json"
    ).interactions
    assert interaction.request.query == {"api-version": "2024-12-01-preview"}
    assert interaction.response.status == 200


# --- replay through the SDK ---------------------------------------------------------------


def replayable(interaction: Interaction) -> str | None:
    """The deployment, when the request is an Azure chat request the SDK can rebuild."""
    match = CHAT_PATH.match(interaction.request.path)
    body = interaction.request.body
    if match and isinstance(body, dict) and isinstance(body.get("messages"), list):
        return match.group(1)
    return None


EMBEDDINGS = "openllmetry__test_embeddings__test_azure_openai_embeddings.yaml"
# Every Azure cassette but the embeddings one holds only chat requests the SDK can rebuild;
# the openai/ ones were sent to api.openai.com's /v1 routes, which this mock does not serve.
REPLAYABLE_FILES = [
    f"{p.stem}.json" for p in IMPORTABLE if p.parent.name == "azure" and p.name != EMBEDDINGS
]


def sdk_replay(
    client: openai.AzureOpenAI, deployment: str, interaction: Interaction
) -> tuple[int, bytes, Any]:
    """Send the recorded request through the SDK: its messages, its other fields as they
    were (extra_body), stream only when it was sent; return status, bytes and the parse."""
    body = dict(interaction.request.body)
    body.pop("model", None)
    messages = body.pop("messages")
    options: dict[str, Any] = {"stream": body.pop("stream")} if "stream" in body else {}
    completions = client.chat.completions
    try:
        if options.get("stream"):
            with completions.with_streaming_response.create(
                model=deployment, messages=messages, extra_body=body, **options
            ) as streamed:
                return streamed.status_code, b"".join(streamed.iter_bytes()), None
        raw = completions.with_raw_response.create(
            model=deployment, messages=messages, extra_body=body, **options
        )
        return raw.status_code, raw.http_response.content, raw.parse()
    except openai.APIStatusError as error:
        return error.status_code, error.response.content, error


@pytest.mark.parametrize(
    "name", REPLAYABLE_FILES, ids=[n.removesuffix(".json") for n in REPLAYABLE_FILES]
)
def test_imported_chat_replays_through_the_sdk(name: str, imported: Path, tmp_path: Path) -> None:
    shutil.copy(imported / name, tmp_path / name)
    fixtures = read_fixture_file(tmp_path / name).interactions
    sent = 0
    clients: dict[str, openai.AzureOpenAI] = {}  # one per api-version recorded
    with replayer(tmp_path) as replaying, ExitStack() as closing:
        for index, interaction in enumerate(fixtures):
            deployment = replayable(interaction)
            assert deployment is not None, f"{name}#{index} is not an Azure chat request"
            where = f"{name}#{index}"
            version = interaction.request.query.get("api-version", FALLBACK_API_VERSION)
            if version not in clients:
                clients[version] = closing.enter_context(
                    azure_client(replaying, api_key="replay-key", api_version=version)
                )
            status, data, parsed = sdk_replay(clients[version], deployment, interaction)
            sent += 1
            entry = journal(replaying, sent)[-1]
            assert entry.source == f"fixture:{where}", f"{where} did not replay: {data[:300]!r}"
            recorded = interaction.response
            assert status == recorded.status, where
            assert data == recorded_bytes(recorded), where
            if recorded.frames is not None:
                assert raw_events(data) == [frame.data for frame in recorded.frames], where
                continue
            answer = json.loads(recorded.body or "null")
            if isinstance(parsed, openai.APIStatusError):
                assert parsed.code == answer["error"]["code"], where
            elif isinstance(answer, dict) and answer.get("object") == "chat.completion":
                assert parsed.id == answer["id"], where
                message = answer["choices"][0].get("message") or {}
                if message:
                    assert parsed.choices[0].message.content == message.get("content"), where


# --- check and ls -------------------------------------------------------------------------


def test_check_reports_only_the_hand_edited_content_filter_cassette(
    imported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    total = sum(len(read_fixture_file(p).interactions) for p in imported.glob("*.json"))
    assert main(["fixtures", "check", str(imported)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{EDITED_CONTENT_FILTER}#0: the chat.completion body lacks choices, created, id, "
        "model, object",
        f"{total} interaction(s) checked, 1 problem(s)",
    ]


def test_check_passes_once_the_edited_cassette_is_left_out(
    imported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in imported.glob("*.json"):
        if path.name != EDITED_CONTENT_FILTER:
            shutil.copy(path, tmp_path / path.name)
    assert main(["fixtures", "check", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("interaction(s) checked, 0 problem(s)")


def test_ls_lists_every_imported_interaction(
    imported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fixtures", "ls", str(imported)]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = []
    for path in sorted(imported.glob("*.json")):
        for index, interaction in enumerate(read_fixture_file(path).interactions):
            kind = "stream" if interaction.response.frames is not None else "json"
            expected.append(
                f"{path.name}#{index}\t{interaction.request.method} {interaction.request.path}\t"
                f"{interaction.response.status} {kind}\t"
            )
    assert len(lines) == len(expected) == 54
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start)
    assert any("'Tell me a joke about opentelemetry'" in line for line in lines)
