"""No secret reaches a fixture file, yet every secret still reaches the upstream.

The upstream accepts only the secret key and the secret Entra token, so a 200 proves the
credential was forwarded; then the whole text of the file is searched for each value.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from mockserver.fixtures import REDACTED, UPSTREAM_PLACEHOLDER
from mockserver.testing import MockServer
from tests.replay.helpers import (
    API_VERSION,
    CASSETTE,
    DEPLOYMENT,
    UPSTREAM_SEED,
    interactions,
    journal,
    recorder,
    replayer,
    user,
)

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
    ) as server:
        yield server


@pytest.fixture(scope="module")
def recorded(keyed_upstream: MockServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two requests recorded: one with the api-key, one with a bearer token, both carrying
    a cookie, a `sig` query parameter, custom secret headers, x-mock-* headers and a
    secret in the body's metadata."""
    tmp_path = tmp_path_factory.mktemp("redacted")
    settings = {
        "redact_headers": ["key", "token", "secret", "passphrase"],
        "redact_body_paths": ["metadata.user_email", "metadata.absent.path"],
    }
    with recorder(keyed_upstream, tmp_path, **settings) as recording:
        for credential in ({"api_key": SECRET_KEY}, {"azure_ad_token": SECRET_BEARER}):
            with openai.AzureOpenAI(
                azure_endpoint=recording.url,
                api_version=API_VERSION,
                max_retries=0,
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
    assert [entry.status for entry in entries] == [200, 200]
    # Only the secret key and the secret token are accepted upstream: both were forwarded.
    assert entries[1].headers["authorization"] == "***"  # the journal masks it, but it came
    for entry in entries:
        assert entry.query == {"api-version": API_VERSION, "sig": SECRET_SIG}
        assert entry.headers["x-custom-token"] == SECRET_CUSTOM_TOKEN
        assert entry.headers["x-tenant-passphrase"] == SECRET_PASSPHRASE
        assert entry.headers["cookie"] == "***"  # masked by the journal, but it came
        assert entry.body["metadata"] == {"user_email": SECRET_EMAIL, "team": "blue"}


@pytest.mark.parametrize("name", SECRETS.keys())
def test_no_secret_value_is_in_the_file(name: str, recorded: Path) -> None:
    files = list(recorded.iterdir())
    assert [path.name for path in files] == [CASSETTE]
    text = files[0].read_text(encoding="utf-8")
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
    text = (recorded / CASSETTE).read_text(encoding="utf-8")
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
    assert MOCK_HEADER_VALUE not in (recorded / CASSETTE).read_text(encoding="utf-8")


def test_redacted_recordings_still_replay(recorded: Path) -> None:
    """The redacted fields are not part of the match (`metadata` is ignored by default)."""
    with (
        replayer(recorded) as replaying,
        openai.AzureOpenAI(
            azure_endpoint=replaying.url,
            api_key="any-other-key",
            api_version=API_VERSION,
            max_retries=0,
        ) as client,
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
