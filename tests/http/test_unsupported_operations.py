"""Operations o3-mini does not do: Azure's 400 OperationNotSupported, after the key, the
api-version and the deployment, through raw HTTP and the openai SDK.

The message is Azure's, as quoted in Azure-Samples/azure-search-openai-demo-csharp#158
(completion, with its 307-byte Content-Length for gpt-35-turbo-16k in langchainjs#2633)
and OpenHands#1003 (embeddings).
"""

from __future__ import annotations

import openai
import pytest

from mockserver.testing.server import MockServer
from tests.http.helpers import BODY
from tests.support import rawhttp
from tests.support.chat import API_VERSION
from tests.support.rawhttp import key_headers

LINK = "https://go.microsoft.com/fwlink/?linkid=2197993."


def expected(operation: str) -> bytes:
    message = (
        f"The {operation} operation does not work with the specified model, o3-mini. Please "
        "choose different model and try again. You can learn more about which models can be "
        f"used with each operation here: {LINK}"
    )
    return ('{"error":{"code":"OperationNotSupported","message":"' + message + '"}}').encode()


@pytest.mark.parametrize(
    ("path", "operation"),
    [
        (f"/openai/deployments/o3-mini/completions?api-version={API_VERSION}", "completion"),
        (f"/openai/deployments/o3-mini/embeddings?api-version={API_VERSION}", "embeddings"),
        ("/openai/v1/completions", "completion"),
        ("/openai/v1/embeddings", "embeddings"),
    ],
)
def test_an_unsupported_operation_is_azures_400(
    server: MockServer, path: str, operation: str
) -> None:
    body = {"model": "o3-mini", "input": "hello", "prompt": "hello"}
    response = rawhttp.request(server.url + path, body=body, headers=key_headers(server))
    assert (response.status, response.body) == (400, expected(operation))
    assert response.headers["content-type"] == "application/json"


def test_gpt_35_turbo_16k_gives_the_recorded_length() -> None:
    """langchainjs#2633 logged content-length 307 for this message naming gpt-35-turbo-16k."""
    assert len(expected("completion").replace(b"o3-mini", b"gpt-35-turbo-16k")) == 307


@pytest.mark.parametrize(
    ("path", "headers", "status", "code"),
    [
        (
            f"/openai/deployments/nope/embeddings?api-version={API_VERSION}",
            None,
            404,
            "DeploymentNotFound",
        ),
        ("/openai/deployments/o3-mini/embeddings?api-version=2099-01-01", None, 400, "BadRequest"),
        (f"/openai/deployments/o3-mini/embeddings?api-version={API_VERSION}", {}, 401, "401"),
    ],
)
def test_the_gateway_answers_first(
    keyed_server: MockServer, path: str, headers: dict[str, str] | None, status: int, code: str
) -> None:
    sent = {"api-key": "test-key"} if headers is None else headers
    response = rawhttp.request(keyed_server.url + path, body=BODY, headers=sent)
    assert response.status == status
    assert response.json()["error"]["code"] == code


def test_the_sdk_sees_a_bad_request(client: openai.AzureOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as embedding:
        client.embeddings.create(model="o3-mini", input="hello")
    assert embedding.value.code == "OperationNotSupported"
    with pytest.raises(openai.BadRequestError) as completion:
        client.completions.create(model="o3-mini", prompt="hello", max_tokens=5)
    assert completion.value.code == "OperationNotSupported"
    assert "The completion operation does not work" in completion.value.message


def test_v1_sdk_sees_a_bad_request(v1_client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        v1_client.embeddings.create(model="o3-mini", input="hello")
    assert caught.value.code == "OperationNotSupported"
    with pytest.raises(openai.NotFoundError) as missing:
        v1_client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert missing.value.code == "DeploymentNotFound"
