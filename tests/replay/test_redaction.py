"""No secret reaches a fixture file, yet every secret still reaches the upstream.

The upstream accepts only the secret key and the secret Entra token, so a 200 proves the
credential was forwarded; then the whole text of the file is searched for each value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockserver.recordings.fixtures import REDACTED, UPSTREAM_PLACEHOLDER
from mockserver.testing.server import MockServer
from tests.replay.helpers import (
    CASSETTE,
    UPSTREAM_SEED,
    cassette_text,
    interactions,
    journal,
    recorder,
    replayer,
)
from tests.support.chat import API_VERSION, DEPLOYMENT, user
from tests.support.clients import azure_client

SECRET_KEY = "key-secret-0f9e8d7c6b5a"
SECRET_BEARER = "bearer-secret-1a2b3c4d5e6f"
SECRET_COOKIE = "cookie-secret-77aa88bb"
SECRET_SIG = "sig-secret-5c5c5c5c"
SECRET_CUSTOM_TOKEN = "custom-token-secret-42"
SECRET_PASSPHRASE = "passphrase-secret-horse-battery"
SECRET_EMAIL = "alice.secret@example.com"
MOCK_HEADER_VALUE = "mock-header-value-0123"
SECRETS = {
    "api-key": SECRET_KEY,
    "bearer": SECRET_BEARER,
    "cookie": SECRET_COOKIE,
    "sig": SECRET_SIG,
    "x-custom-token": SECRET_CUSTOM_TOKEN,
    "x-tenant-passphrase": SECRET_PASSPHRASE,
    "metadata.user_email": SECRET_EMAIL,
}
FORWARDED = {
    "cookie": f"session={SECRET_COOKIE}",
    "x-custom-token": SECRET_CUSTOM_TOKEN,
    "x-tenant-passphrase": SECRET_PASSPHRASE,
}
FORWARDED_ANSWER = "Every secret header arrived."
HEADERS = {
    "Cookie": f"session={SECRET_COOKIE}",
    "x-custom-token": SECRET_CUSTOM_TOKEN,
    "x-tenant-passphrase": SECRET_PASSPHRASE,
    "x-mock-trace": MOCK_HEADER_VALUE,
    "x-mock-fault-id": MOCK_HEADER_VALUE,
}


@pytest.fixture(scope="module")
def keyed_upstream() -> Iterator[MockServer]:
    with MockServer(
        seed=UPSTREAM_SEED,
        deterministic_ids=True,
        api_keys=[SECRET_KEY],
        entra_tokens=[SECRET_BEARER],
        redact_headers=["passphrase"],  # the user's own name: the journal masks it too
    ) as server:
        # Answers only when every secret header arrived with its value: the journal masks
        # them, so the answer is what proves they were forwarded.
        server.stub(
            match={"headers": {name: {"equals": value} for name, value in FORWARDED.items()}},
            answer={"content": FORWARDED_ANSWER},
        )
        yield server


@pytest.fixture(scope="module")
def recorded(keyed_upstream: MockServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two requests recorded: one with the api-key, one with a bearer token, both carrying
    a cookie, a `sig` query parameter, custom secret headers, x-mock-* headers and a
    secret in the body's metadata."""
    tmp_path = tmp_path_factory.mktemp("redacted")
    settings: dict[str, Any] = {
        "redact_headers": ["key", "token", "secret", "passphrase"],
        "redact_body_paths": ["metadata.user_email", "metadata.absent.path"],
    }
    with recorder(keyed_upstream, tmp_path, **settings) as recording:
        credentials: list[dict[str, str]] = [
            {"api_key": SECRET_KEY},
            {"azure_ad_token": SECRET_BEARER},
        ]
        for credential in credentials:
            with azure_client(
                recording,
                default_headers=HEADERS,
                default_query={"sig": SECRET_SIG},
                **credential,
            ) as client:
                completion = client.chat.completions.create(
                    model=DEPLOYMENT,
                    messages=user("Keep my secrets."),
                    store=True,
                    metadata={"user_email": SECRET_EMAIL, "team": "blue"},
                )
            assert completion.choices[0].message.content
        assert [entry.status for entry in journal(recording, 2)] == [200, 200]
    return tmp_path


def test_every_credential_was_forwarded(keyed_upstream: MockServer, recorded: Path) -> None:
    entries = journal(keyed_upstream, 2)
    # Only the secret key and the secret token are accepted upstream: both were forwarded.
    assert [entry.status for entry in entries] == [200, 200]
    assert all(entry.source.startswith("stub:") for entry in entries)
    for interaction in interactions(recorded):
        assert FORWARDED_ANSWER in (interaction.response.body or "")


def test_the_upstream_journal_masks_every_credential_but_keeps_the_body(
    keyed_upstream: MockServer, recorded: Path
) -> None:
    entries = journal(keyed_upstream, 2)
    assert entries[0].headers["api-key"] == "***"
    assert entries[1].headers["authorization"] == "***"
    for entry in entries:
        assert entry.query == {"api-version": API_VERSION, "sig": "***"}
        assert {name: entry.headers[name] for name in FORWARDED} == dict.fromkeys(FORWARDED, "***")
        assert entry.body["metadata"] == {"user_email": SECRET_EMAIL, "team": "blue"}


@pytest.mark.parametrize("name", SECRETS.keys())
def test_no_secret_value_is_in_the_file(name: str, recorded: Path) -> None:
    files = list(recorded.iterdir())
    assert [path.name for path in files] == [CASSETTE]
    text = cassette_text(recorded)
    assert SECRETS[name] not in text


def test_secrets_are_replaced_by_redacted(recorded: Path) -> None:
    with_key, with_bearer = interactions(recorded)
    for interaction in (with_key, with_bearer):
        request = interaction.request
        assert request.query == {"api-version": API_VERSION, "sig": REDACTED}
        assert request.headers["cookie"] == REDACTED
        assert request.headers["x-custom-token"] == REDACTED
        assert request.headers["x-tenant-passphrase"] == REDACTED
        assert request.body["metadata"] == {"user_email": REDACTED, "team": "blue"}
        assert request.body["store"] is True
        assert request.body["messages"] == user("Keep my secrets.")
    assert with_key.request.headers["api-key"] == REDACTED
    assert "authorization" not in with_key.request.headers
    assert with_bearer.request.headers["authorization"] == REDACTED
    assert "api-key" not in with_bearer.request.headers


def test_the_upstream_host_is_never_written(keyed_upstream: MockServer, recorded: Path) -> None:
    text = cassette_text(recorded)
    assert keyed_upstream.url not in text
    assert f"127.0.0.1:{keyed_upstream.port}" not in text
    assert [i.upstream for i in interactions(recorded)] == [UPSTREAM_PLACEHOLDER] * 2
    assert UPSTREAM_PLACEHOLDER == "https://REDACTED.openai.azure.com"


def test_mock_headers_are_neither_forwarded_nor_recorded(
    keyed_upstream: MockServer, recorded: Path
) -> None:
    for entry in journal(keyed_upstream, 2):
        assert not [name for name in entry.headers if name.lower().startswith("x-mock-")]
    for interaction in interactions(recorded):
        assert not [name for name in interaction.request.headers if name.startswith("x-mock-")]
    assert MOCK_HEADER_VALUE not in cassette_text(recorded)


def test_redacted_recordings_still_replay(recorded: Path) -> None:
    """The redacted fields are not part of the match (`metadata` is ignored by default)."""
    with (
        replayer(recorded) as replaying,
        azure_client(replaying, api_key="any-other-key") as client,
    ):
        replies = [
            client.chat.completions.create(
                model=DEPLOYMENT,
                messages=user("Keep my secrets."),
                store=True,
                metadata={"user_email": "someone.else@example.com", "team": "blue"},
            )
            for _ in range(2)
        ]
        sources = [entry.source for entry in journal(replaying, 2)]
    assert sources == [f"fixture:{CASSETTE}#0", f"fixture:{CASSETTE}#1"]
    assert all(reply.choices[0].message.content for reply in replies)


# --- the default deny list: every kind of credential of issue #22, with no settings ---------

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJhbGljZS1vaWQifQ.ZW50cmEtc2lnbmF0dXJlLXNlY3JldA"
AZURE_KEY = "5f1e2d3c4b5a69788796a5b4c3d2e1f0"
CLIENT_REF = "a1b2c3d4e5f60718293a4b5c6d7e8f90"  # 32 hex under a name not on the list
SK_KEY = "sk-proj-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2"
SAS_SIG = "sas-signature-Q2xpZW50U2ln"
DEFAULT_HEADERS = {
    "Authorization": f"Bearer {JWT}",
    "Proxy-Authorization": "Basic cHJveHktdXNlcjpwcm94eS1zZWNyZXQ=",
    "apikey": "kong-secret-1111",
    "x-api-key": "gateway-secret-2222",
    "x-api_key": "underscore-secret-3333",
    "x-auth": "x-auth-secret-4444",
    "x-auth-token": "x-auth-token-secret-5555",
    "x-ms-client-principal": "eyJ1c2VyX2lkIjoiYWxpY2UtcHJpbmNpcGFsIn0=",
    "x-ms-client-principal-name": "alice.principal@contoso.example",
    "x-ms-token-aad-id-token": "aad-id-token-secret-6666",
    "Ocp-Apim-Subscription-Key": "apim-secret-7777",
    "x-functions-key": "functions-secret-8888",
    "x-goog-api-key": "google-secret-9999",
    "OpenAI-Organization": "org-secret-aaaa",
    "OpenAI-Project": "proj-secret-bbbb",
    "Cookie": "session=cookie-secret-cccc",
    "x-debug-identity": JWT,
    "x-client-ref": CLIENT_REF,
}
DEFAULT_QUERY = {"code": "function-code-secret-dddd", "sig": SAS_SIG, "subscription-key": "q-eeee"}
END_USER = "end-user-secret-ffff"
END_USER_METADATA = {"customer": "customer-secret-0000"}
IMAGE_URL = f"https://acct.blob.core.windows.net/c/cat.png?sv=2024-11-04&sig={SAS_SIG}&sp=r"
PROMPT = f"My key is {SK_KEY}; the picture is at {IMAGE_URL}"
DEFAULT_SECRETS = {
    **{name.lower(): value for name, value in DEFAULT_HEADERS.items()},
    "api-key (32 hex)": AZURE_KEY,
    "?code=": DEFAULT_QUERY["code"],
    "?subscription-key=": DEFAULT_QUERY["subscription-key"],
    "?sig= and SAS URL in the prompt": SAS_SIG,
    "sk- key in the prompt": SK_KEY,
    "body user": END_USER,
    "body metadata": END_USER_METADATA["customer"],
}


def ask_with_every_secret(server: MockServer, prompt: str = PROMPT, **body: object) -> str:
    metadata = body.get("metadata", END_USER_METADATA)
    assert isinstance(metadata, dict)
    with azure_client(
        server, api_key=AZURE_KEY, default_headers=DEFAULT_HEADERS, default_query=DEFAULT_QUERY
    ) as client:
        completion = client.chat.completions.create(
            model=DEPLOYMENT,
            messages=user(prompt),
            store=True,
            user=str(body.get("user", END_USER)),
            metadata=metadata,
        )
    return completion.choices[0].message.content or ""


@pytest.fixture(scope="module")
def plain_upstream() -> Iterator[MockServer]:
    with MockServer(seed=UPSTREAM_SEED, deterministic_ids=True) as server:
        yield server


@pytest.fixture(scope="module")
def recorded_defaults(
    plain_upstream: MockServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, MockServer]:
    """One request carrying every kind of credential, recorded with the default settings;
    the recorder is kept running so its journal can be read."""
    directory = tmp_path_factory.mktemp("defaults")
    with recorder(plain_upstream, directory) as recording:
        assert ask_with_every_secret(recording)
        journal(recording, 1)
        return directory, recording


@pytest.mark.parametrize("kind", DEFAULT_SECRETS.keys())
def test_the_default_deny_list_keeps_every_kind_out_of_the_file(
    kind: str, recorded_defaults: tuple[Path, MockServer]
) -> None:
    assert DEFAULT_SECRETS[kind] not in cassette_text(recorded_defaults[0])


def test_what_is_not_secret_is_kept_as_sent(recorded_defaults: tuple[Path, MockServer]) -> None:
    [interaction] = interactions(recorded_defaults[0])
    request = interaction.request
    assert request.query["api-version"] == API_VERSION
    assert request.query["code"] == request.query["sig"] == REDACTED
    assert request.headers["x-client-ref"] == request.headers["x-debug-identity"] == REDACTED
    assert request.headers["authorization"] == request.headers["x-api_key"] == REDACTED
    assert request.body["user"] == request.body["metadata"] == REDACTED
    prompt = request.body["messages"][0]["content"]
    assert prompt == (
        "My key is REDACTED; the picture is at "
        "https://acct.blob.core.windows.net/c/cat.png?sv=2024-11-04&sig=REDACTED&sp=r"
    )
    assert request.body["store"] is True
    assert interaction.response.status == 200


@pytest.mark.parametrize("server_name", ["recorder", "upstream"])
def test_the_journal_masks_every_credential_and_keeps_the_body(
    server_name: str, recorded_defaults: tuple[Path, MockServer], plain_upstream: MockServer
) -> None:
    server = recorded_defaults[1] if server_name == "recorder" else plain_upstream
    [entry] = [e for e in server.requests if e.body and e.body.get("user") == END_USER]
    for name in DEFAULT_HEADERS:
        assert entry.headers[name.lower()] == "***", name
    assert entry.headers["api-key"] == "***"
    assert entry.query == {"api-version": API_VERSION, **dict.fromkeys(DEFAULT_QUERY, "***")}
    # Body fields stay as sent: tests verify what their code put there; secret-shaped text
    # in the prompt (a key, a SAS signature) is masked, as everywhere in the journal.
    assert entry.body["user"] == END_USER
    assert entry.body["metadata"] == END_USER_METADATA
    assert entry.body["messages"] == user(
        "My key is ***; the picture is at "
        "https://acct.blob.core.windows.net/c/cat.png?sv=2024-11-04&sig=***&sp=r"
    )


def test_the_journal_masks_body_fields_when_configured() -> None:
    with MockServer(journal_redact_body_paths=["user", "metadata.customer"]) as server:
        ask_with_every_secret(server)
        [entry] = journal(server, 1)
    assert entry.body["user"] == "***"
    assert entry.body["metadata"] == {"customer": "***"}


def test_redacted_fields_do_not_stop_a_replay(recorded_defaults: tuple[Path, MockServer]) -> None:
    """Nothing is ignored by configuration here: the request is compared as it would be
    written, so another end user, other metadata and another key in the prompt still match."""
    with replayer(recorded_defaults[0], replay_ignore_body_fields=[]) as replaying:
        other_prompt = PROMPT.replace(SK_KEY, "sk-proj-Another0ne1Key2For3Test")
        answer = ask_with_every_secret(
            replaying, other_prompt, user="someone-else", metadata={"customer": "c-2"}
        )
        [entry] = journal(replaying, 1)
    assert entry.source == f"fixture:{CASSETTE}#0"
    assert answer


def test_a_secret_in_the_answer_is_scrubbed_from_the_recorded_body(
    plain_upstream: MockServer, tmp_path: Path
) -> None:
    """A model may repeat a key it was shown: the recorded answer keeps the rest of its text."""
    plain_upstream.stub(
        match={"last_user_message": {"equals": "Repeat my key."}},
        answer={"content": f"Your key is {SK_KEY} and nothing else."},
    )
    with recorder(plain_upstream, tmp_path) as recording, azure_client(recording) as client:
        answer = client.chat.completions.create(model=DEPLOYMENT, messages=user("Repeat my key."))
    assert answer.choices[0].message.content == f"Your key is {SK_KEY} and nothing else."
    assert SK_KEY not in cassette_text(tmp_path)
    [recorded] = interactions(tmp_path)
    message = json.loads(recorded.response.body or "")["choices"][0]["message"]["content"]
    assert message == "Your key is REDACTED and nothing else."


def test_a_secret_the_model_streams_token_by_token_is_not_recorded(
    plain_upstream: MockServer, tmp_path: Path
) -> None:
    plain_upstream.stub(
        match={"last_user_message": {"equals": "Stream my key."}},
        answer={"content": f"Your key is {SK_KEY} and nothing else."},
    )
    with recorder(plain_upstream, tmp_path) as recording, azure_client(recording) as client:
        chunks = client.chat.completions.create(
            model=DEPLOYMENT, messages=user("Stream my key."), stream=True
        )
        sent = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert sent == f"Your key is {SK_KEY} and nothing else."  # the client got it all
    [recorded] = interactions(tmp_path)
    assert recorded.response.frames is not None
    spelled = ""
    for frame in recorded.response.frames:
        data = frame.data.removeprefix("data: ").strip()
        event = json.loads(data) if data != "[DONE]" else {}
        spelled += "".join(c["delta"].get("content") or "" for c in event.get("choices", []))
    assert spelled == "Your key is REDACTED and nothing else."
