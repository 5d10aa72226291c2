"""The gateway's answers (api-version, credential, deployment, model gate) through the SDK."""

from __future__ import annotations

import openai
import pytest

from mockserver.testing.server import MockServer
from tests.sdk.helpers import DOC_MESSAGES, assert_error, assert_gateway_error
from tests.support.chat import API_KEY, MODEL_ID
from tests.support.clients import azure_client, v1_client

DEPLOYMENT_NOT_FOUND = (
    "The API deployment for this resource does not exist. If you created the deployment "
    "within the last 5 minutes, please wait a moment and try again."
)
BAD_KEY = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
    "provide a valid key for an active subscription and use a correct regional API endpoint "
    "for your resource."
)
BAD_TOKEN = (
    "Unauthorized. Access token is missing, invalid, audience is incorrect "
    "(https://cognitiveservices.azure.com), or have expired."
)
MODEL_GATE = "Model {modelName} is enabled only for api versions 2024-12-01-preview and later"


def _chat(client: openai.AzureOpenAI | openai.OpenAI, model: str = "o3-mini") -> str:
    completion = client.chat.completions.create(model=model, messages=DOC_MESSAGES)
    return completion.model


def test_unknown_deployment(client: openai.AzureOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        _chat(client, model="gpt-4o")
    assert_error(caught.value, status=404, code="DeploymentNotFound", message=DEPLOYMENT_NOT_FOUND)
    assert caught.value.request_id is None
    assert caught.value.response.reason_phrase == "Not Found"  # as recorded (2025-08)


def test_unknown_deployment_of_deployment_client(server: MockServer) -> None:
    client = azure_client(server, azure_deployment="missing")
    with pytest.raises(openai.NotFoundError) as caught:
        _chat(client)
    assert caught.value.code == "DeploymentNotFound"


@pytest.mark.parametrize("api_version", ["2099-01-01", "2025-05-01-preview", "v1", "latest"])
def test_unknown_api_version(server: MockServer, api_version: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _chat(azure_client(server, api_version=api_version))
    assert_gateway_error(caught.value, 400, "BadRequest", "API version not supported")
    assert caught.value.request_id is None


@pytest.mark.parametrize("api_version", ["2024-10-21", "2024-08-01-preview", "2023-05-15"])
def test_api_version_older_than_the_model(server: MockServer, api_version: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _chat(azure_client(server, api_version=api_version))
    assert_gateway_error(caught.value, 400, "BadRequest", MODEL_GATE)


@pytest.mark.parametrize("api_version", ["2024-12-01-preview", "2025-01-01-preview"])
def test_first_api_versions_of_the_model(server: MockServer, api_version: str) -> None:
    assert _chat(azure_client(server, api_version=api_version)) == MODEL_ID


@pytest.mark.parametrize("api_version", ["2024-10-21", "2025-04-01-preview"])
def test_dated_api_version_on_v1(server: MockServer, api_version: str) -> None:
    client = v1_client(server, default_query={"api-version": api_version})
    with pytest.raises(openai.BadRequestError) as caught:
        _chat(client)
    assert_gateway_error(caught.value, 400, "BadRequest", "API version not supported")


@pytest.mark.parametrize("api_version", ["v1", "preview"])
def test_v1_api_versions_on_v1(server: MockServer, api_version: str) -> None:
    client = v1_client(server, default_query={"api-version": api_version})
    assert _chat(client) == MODEL_ID


def test_wrong_key(keyed_server: MockServer) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        _chat(azure_client(keyed_server, api_key="wrong-key"))
    assert_gateway_error(caught.value, 401, "401", BAD_KEY)
    assert caught.value.message.startswith(
        "Error code: 401 - Access denied due to invalid subscription key"
    )
    # The status line Azure's gateway sends (dd-trace-js's recorded 401, 2025-08).
    assert caught.value.response.reason_phrase == "PermissionDenied"


def test_right_key(keyed_server: MockServer) -> None:
    assert _chat(azure_client(keyed_server)) == MODEL_ID


def test_bad_bearer_token(keyed_server: MockServer) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        _chat(azure_client(keyed_server, azure_ad_token="nope"))
    error = caught.value
    assert error.status_code == 401
    assert error.body == {"statusCode": 401, "message": BAD_TOKEN}
    assert error.message == f"Error code: 401 - {BAD_TOKEN}"
    assert (error.code, error.param, error.type) == (None, None, None)


def test_entra_token(keyed_server: MockServer) -> None:
    assert _chat(azure_client(keyed_server, azure_ad_token="entra-ok")) == MODEL_ID


def test_key_as_bearer_on_v1(keyed_server: MockServer) -> None:
    assert _chat(v1_client(keyed_server, api_key=API_KEY)) == MODEL_ID


def test_wrong_key_on_v1(keyed_server: MockServer) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        _chat(v1_client(keyed_server, api_key="wrong-key"))
    assert caught.value.status_code == 401


def test_wrong_key_before_unknown_deployment(keyed_server: MockServer) -> None:
    client = azure_client(keyed_server, api_key="wrong-key")
    with pytest.raises(openai.AuthenticationError) as caught:
        _chat(client, model="missing")
    assert caught.value.code == "401"


def test_api_version_before_key(keyed_server: MockServer) -> None:
    client = azure_client(keyed_server, api_key="wrong-key", api_version="2099-01-01")
    with pytest.raises(openai.BadRequestError) as caught:
        _chat(client)
    assert caught.value.code == "BadRequest"


def test_models_list_needs_a_key(keyed_server: MockServer) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        azure_client(keyed_server, api_key="wrong-key").models.list()
    assert caught.value.code == "401"
