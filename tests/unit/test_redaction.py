"""The deny list as data: every credential name and value shape of issue #22, and what it
must leave alone (headers clients read, ordinary text)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from mockserver.recordings.fixtures import Frame, Interaction, RecordedRequest, RecordedResponse
from mockserver.redaction.rules import (
    DEFAULT_POLICY,
    MASK,
    REDACTED,
    SecretFilter,
    leaks,
    policy,
    redact_interaction,
    scrub_json,
    scrub_stream,
    scrub_text,
    scrub_value,
)

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNlY3JldA"
SK_KEY = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t"
AZURE_KEY = "0123456789abcdef0123456789abcdef"

# Issue #22's list, and the names Azure, OpenAI, Entra ID, API Management and proxies use.
CREDENTIAL_HEADER_NAMES = [
    "api-key",
    "Authorization",
    "Proxy-Authorization",
    "apikey",
    "x-api-key",
    "x-api_key",
    "X-Auth",
    "x-auth-token",
    "x-ms-client-principal",
    "X-MS-CLIENT-PRINCIPAL-ID",
    "x-ms-client-principal-name",
    "x-ms-token-aad-access-token",
    "x-ms-token-aad-id-token",
    "Ocp-Apim-Subscription-Key",
    "x-functions-key",
    "x-goog-api-key",
    "OpenAI-Organization",
    "OpenAI-Project",
    "Cookie",
    "Set-Cookie",
    "x-custom-token",
    "x-client-secret",
    "x-db-password",
]
# Read by clients or by tests, and never secret.
PLAIN_HEADER_NAMES = [
    "x-ratelimit-key",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-limit-tokens",
    "idempotency-key",
    "apim-request-id",
    "x-ms-client-request-id",
    "x-request-id",
    "content-type",
    "azureml-model-session",
    "x-ms-deployment-name",
]
CREDENTIAL_QUERY_NAMES = [
    "api-key",
    "code",
    "sig",
    "subscription-key",
    "key",
    "access_token",
    "client_secret",
]
PLAIN_QUERY_NAMES = ["api-version", "se", "sv", "sp"]


@pytest.mark.parametrize("name", CREDENTIAL_HEADER_NAMES)
def test_every_credential_header_is_denied(name: str) -> None:
    assert DEFAULT_POLICY.secret_header(name)
    assert DEFAULT_POLICY.headers({name: "value"}) == {name.lower(): REDACTED}


@pytest.mark.parametrize("name", PLAIN_HEADER_NAMES)
def test_headers_clients_read_are_kept(name: str) -> None:
    assert not DEFAULT_POLICY.secret_header(name)
    assert DEFAULT_POLICY.headers({name: "o3-mini"}) == {name: "o3-mini"}


@pytest.mark.parametrize("name", CREDENTIAL_QUERY_NAMES)
def test_every_credential_query_parameter_is_denied(name: str) -> None:
    assert DEFAULT_POLICY.query({name: "v", "api-version": "2024-10-21"}) == {
        name: REDACTED,
        "api-version": "2024-10-21",
    }


@pytest.mark.parametrize("name", PLAIN_QUERY_NAMES)
def test_plain_query_parameters_are_kept(name: str) -> None:
    assert not DEFAULT_POLICY.secret_query(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"token {JWT} end", "token REDACTED end"),
        (f"key={SK_KEY}.", "key=REDACTED."),
        ("Authorization: Bearer abcdefghij0123456789xyz", "Authorization: Bearer REDACTED"),
        (
            "https://acct.blob.core.windows.net/c/a.png?sv=2022-11-02&se=2030&sig=Zx%2Bq%3D&sp=r",
            "https://acct.blob.core.windows.net/c/a.png?sv=2022-11-02&se=2030&sig=REDACTED&sp=r",
        ),
        (
            "https://f.azurewebsites.net/api/x?code=abc123==",
            "https://f.azurewebsites.net/api/x?code=REDACTED",
        ),
        (
            "AccountName=a;AccountKey=QmFzZTY0S2V5VmFsdWUxMjM0NTY=;",
            "AccountName=a;AccountKey=REDACTED;",
        ),
        ("https://bob:hunter2@proxy.local/", "https://bob:REDACTED@proxy.local/"),
    ],
)
def test_value_shapes_are_scrubbed_wherever_they_are(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Bearer bonds pay interest twice a year.",
        "I use sk-learn-style-pipelines-every-day.",
        "The task-abcdefghijklmnopqrstuvwxyz123 is done.",
        "chatcmpl-80yf1zsO83O6QA4OlMV9aHRIkSk2G",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert scrub_text(text) == text
    assert scrub_value(text) == text


def test_a_whole_header_value_of_32_hex_characters_is_an_azure_key() -> None:
    assert DEFAULT_POLICY.headers({"x-anything": AZURE_KEY}) == {"x-anything": REDACTED}
    assert scrub_text(f"request {AZURE_KEY}") == f"request {AZURE_KEY}"  # in text, an id


@pytest.mark.parametrize(
    "name", ["x-ms-client-request-id", "X-Request-Id", "apim-request-id", "x-mock-fault-id"]
)
def test_a_correlation_id_of_32_hex_characters_stays_visible(name: str) -> None:
    """Clients tag requests with `uuid4().hex` and find them in the journal by it."""
    assert DEFAULT_POLICY.headers({name: AZURE_KEY}) == {name.lower(): AZURE_KEY}
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
    assert REDACTED in DEFAULT_POLICY.headers({name: f"id {jwt}"})[name.lower()]


def test_the_admin_token_header_is_masked_though_it_is_a_mock_header() -> None:
    masked = DEFAULT_POLICY.headers({"x-mock-admin-token": AZURE_KEY})
    assert masked == {"x-mock-admin-token": REDACTED}


def test_users_add_names_and_cannot_remove_the_built_in_ones() -> None:
    extended = policy(("passphrase",), ("^tenant$",))
    assert extended.secret_header("x-tenant-passphrase")
    assert extended.secret_header("api-key")
    assert extended.secret_query("tenant")
    assert not DEFAULT_POLICY.secret_header("x-tenant-passphrase")


def test_body_fields_are_replaced_in_a_copy_and_secret_text_scrubbed() -> None:
    body = {
        "messages": [{"role": "user", "content": f"use {SK_KEY}"}],
        "user": "alice@example.com",
        "metadata": {"tenant": "t1"},
        "store": True,
    }
    assert DEFAULT_POLICY.body(body) == {
        "messages": [{"role": "user", "content": "use REDACTED"}],
        "user": REDACTED,
        "metadata": REDACTED,
        "store": True,
    }
    assert body["user"] == "alice@example.com"  # the request itself is not changed
    nested = policy(body_paths=("metadata.tenant",)).body(body)
    assert nested["metadata"] == {"tenant": REDACTED}
    assert nested["user"] == "alice@example.com"


def test_a_body_too_deep_to_look_into_is_not_kept() -> None:
    deep: list[object] = []
    for _ in range(400):
        deep = [deep]
    assert scrub_json({"messages": deep}) == REDACTED


def interaction_with_leaks() -> Interaction:
    return Interaction(
        request=RecordedRequest(
            method="POST",
            path="/openai/deployments/o3-mini/chat/completions",
            query={"api-version": "2024-10-21", "code": "function-key-1"},
            headers={"proxy-authorization": "Basic Ym9iOmh1bnRlcjI=", "x-trace": JWT},
            body={"messages": [{"role": "user", "content": SK_KEY}], "user": "alice"},
        ),
        response=RecordedResponse(
            status=200, headers={"set-cookie": "session=s3cr3t"}, body=f"Bearer {AZURE_KEY}"
        ),
    )


def test_leaks_name_each_field_and_kind_but_never_the_value() -> None:
    found = leaks(interaction_with_leaks())
    assert found == [
        "request header 'proxy-authorization' holds a credential",
        "request header 'x-trace' holds a JWT",
        "response header 'set-cookie' holds a credential",
        "query parameter 'code' holds a credential",
        "request body field 'user' is not redacted",
        "request body.messages[0].content holds an sk- key",
        "response body holds a bearer token",
    ]
    text = "\n".join(found)
    for secret in ("Ym9iOmh1bnRlcjI", JWT, "function-key-1", SK_KEY, "s3cr3t", "alice", AZURE_KEY):
        assert secret not in text


def test_a_redacted_interaction_has_no_leaks_left() -> None:
    redacted = redact_interaction(interaction_with_leaks(), DEFAULT_POLICY)
    assert leaks(redacted) == []
    assert redacted.request.headers == {"proxy-authorization": REDACTED, "x-trace": REDACTED}
    assert redacted.response.body == "Bearer REDACTED"


def test_the_log_filter_scrubs_messages_arguments_and_tracebacks() -> None:
    try:
        raise ValueError(f"upstream said no to {SK_KEY}")
    except ValueError:
        record = logging.LogRecord(
            "mockserver",
            logging.WARNING,
            __file__,
            1,
            "POST %s",
            (f"/x?api-key={AZURE_KEY}",),
            exc_info=sys.exc_info(),
        )
    assert SecretFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert f"POST /x?api-key={MASK}" in formatted
    assert "ValueError: upstream said no to ***" in formatted
    assert SK_KEY not in formatted and AZURE_KEY not in formatted


def chunk(content: str) -> str:
    event = {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": content}}],
    }
    return "data: " + json.dumps(event, separators=(",", ":")) + "\n\n"


KEY_TOKENS = [
    "Your key is ",
    "sk",
    "-proj",
    "-Ab3dEf",
    "6hIj9",
    "kLm2nOp5",
    "qRs8t",
    " and that is all.",
]


def test_a_key_spelled_out_over_stream_frames_is_replaced_where_it_starts() -> None:
    frames = [chunk(token) for token in KEY_TOKENS] + ["data: [DONE]\n\n"]
    scrubbed = scrub_stream(frames)
    contents = [json.loads(f[6:])["choices"][0]["delta"]["content"] for f in scrubbed[:-1]]
    assert contents == ["Your key is ", "REDACTED", "", "", "", "", "", " and that is all."]
    assert scrubbed[0] == frames[0] and scrubbed[-2:] == frames[-2:]  # the rest untouched


def test_leaks_find_a_key_spelled_out_over_stream_frames() -> None:
    frames = [Frame(offset_ms=0, data=chunk(token)) for token in KEY_TOKENS]
    streamed = Interaction(
        request=RecordedRequest(method="POST", path="/openai/v1/chat/completions"),
        response=RecordedResponse(status=200, frames=frames),
    )
    assert leaks(streamed) == ["response stream (choice 0, over several frames) holds an sk- key"]
    assert leaks(redact_interaction(streamed, DEFAULT_POLICY)) == []


def test_a_bad_log_call_is_logged_scrubbed_instead_of_raising_at_the_call_site() -> None:
    record = logging.LogRecord(
        "mockserver", logging.WARNING, __file__, 1, "%s %s", (SK_KEY,), exc_info=None
    )
    assert SecretFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert SK_KEY not in formatted
    assert formatted.startswith("%s %s (") and MASK in formatted


# Run apart, so a quadratic scrub (hours for this many keys) is killed at the timeout.
MANY_KEYS_SCRIPT = """
import json
from mockserver.redaction.rules import scrub_stream
from tests.unit.test_redaction import SK_KEY, chunk
frames = [chunk(f"key {i}: {SK_KEY}{i:05d}. ") for i in range(20_000)]
contents = [json.loads(f[6:])["choices"][0]["delta"]["content"] for f in scrub_stream(frames)]
assert contents == [f"key {i}: REDACTED. " for i in range(20_000)], contents[:3]
print("scrubbed")
"""


def test_a_stream_of_twenty_thousand_keys_is_scrubbed_in_one_linear_pass() -> None:
    done = subprocess.run(
        [sys.executable, "-c", MANY_KEYS_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "scrubbed"), done.stderr[-2000:]
