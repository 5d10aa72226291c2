"""Error bodies never carry a secret back: Azure echoes a rejected value in its message
and `param`; a key or token pasted into the wrong field comes back masked."""

from __future__ import annotations

import openai
import pytest

from mockserver.testing.server import MockServer
from tests.support.rawhttp import post_chat

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJlcnJvciJ9.ZXJyb3Itc2lnbmF0dXJlLXNlY3JldA"
SK_KEY = "sk-proj-Err0rB0dy1Key2Secret3"
AZURE_KEY = "abcdef0123456789abcdef0123456789"


def test_a_token_sent_as_a_value_is_masked_in_the_400(client: openai.AzureOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model="o3-mini",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"reasoning_effort": JWT},  # not an effort the SDK's types allow
        )
    error = raised.value
    assert JWT not in error.response.text
    assert error.body == {
        "message": "Invalid value: '***'. Supported values are: 'low', 'medium', and 'high'.",
        "type": "invalid_request_error",
        "param": "reasoning_effort",
        "code": "invalid_value",
    }


def test_a_key_sent_as_a_parameter_name_is_masked_in_message_and_param(
    server: MockServer,
) -> None:
    response = post_chat(server, {"messages": [{"role": "user", "content": "hi"}], SK_KEY: 1})
    assert response.status == 400
    assert SK_KEY.encode() not in response.body
    error = response.json()["error"]
    assert (error["message"], error["param"]) == ("Unknown parameter: '***'.", "***")


def test_an_azure_key_sent_as_a_value_is_masked_in_the_400(server: MockServer) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": AZURE_KEY}
    response = post_chat(server, body)
    assert response.status == 400
    assert AZURE_KEY.encode() not in response.body
    assert response.json()["error"]["message"] == (
        "Invalid value: '***'. Supported values are: 'low', 'medium', and 'high'."
    )


def test_an_azure_key_sent_as_a_parameter_name_is_masked_in_message_and_param(
    server: MockServer,
) -> None:
    response = post_chat(server, {"messages": [{"role": "user", "content": "hi"}], AZURE_KEY: 1})
    assert response.status == 400
    assert AZURE_KEY.encode() not in response.body
    error = response.json()["error"]
    assert (error["message"], error["param"]) == ("Unknown parameter: '***'.", "***")
