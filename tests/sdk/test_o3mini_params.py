"""What o3-mini takes of each request parameter, as the frameworks send them.

Evidence for each rule (docs/fidelity.md, "o3-mini parameter rules"):
- temperature 1 passes, any other value is `unsupported_parameter`: RA.Aid#70 ("now it
  supports temperature=1"), NextChat#6138 ("set temperature=1"), LiteLLM's o-series rule
  sends 1 and refuses the rest; llama-index and DSPy send 1.0 to o-series models.
- top_p, presence_penalty, frequency_penalty are refused at every value, defaults too:
  tgpt#333 (top_p refused while temperature 1 passed), HELM#3617, simonw/llm#731.
- `stop: []` passes: openai/crewai__test_o3_mini_reasoning_effort_high.yaml got a 200.
- logprobs is a 403 (o4-mini capture quoted in deepeval#2184).
- A refused parameter is reported before a malformed message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # loopback only: never fetch the cost map

import litellm
import openai
import pytest

from mockserver.testing.server import MockServer
from tests.sdk.helpers import DOC_MESSAGES, assert_error
from tests.support import rawhttp
from tests.support.chat import API_KEY, API_VERSION, DEPLOYMENT, chat_url
from tests.support.litellm_clients import close_litellm_clients

litellm.suppress_debug_info = True
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*using the `ReadOnly` qualifier. Pydantic will not protect:UserWarning"
)

Client = openai.AzureOpenAI | openai.OpenAI
BAD_MESSAGE: list[Any] = [{"role": "wizard", "content": "hi"}]


@pytest.fixture(scope="module", autouse=True)
def _litellm_clients_closed() -> Iterator[None]:
    yield
    close_litellm_clients()


@pytest.fixture(params=["dated", "v1"])
def any_client(
    request: pytest.FixtureRequest, client: openai.AzureOpenAI, v1_client: openai.OpenAI
) -> Iterator[Client]:
    yield client if request.param == "dated" else v1_client


def _create(client: Client, messages: Any = None, **params: Any) -> Any:
    return client.chat.completions.create(
        model=DEPLOYMENT, messages=messages or DOC_MESSAGES, **params
    )


def _assert_unsupported(error: openai.APIStatusError, name: str) -> None:
    assert_error(
        error,
        status=400,
        code="unsupported_parameter",
        param=name,
        message=f"Unsupported parameter: '{name}' is not supported with this model.",
    )


# --- temperature ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1, 1.0])
def test_temperature_one_is_taken(any_client: Client, value: float) -> None:
    completion = _create(any_client, temperature=value)
    assert completion.choices[0].message.content


def test_temperature_one_point_zero_as_llama_index_sends_it(server: MockServer) -> None:
    # llama-index's OpenAI LLM forces `temperature = 1.0` for O1_MODELS (o3-mini among
    # them) and json.dumps writes it as `1.0`; DSPy (through LiteLLM) sends the same.
    raw = json.dumps({"messages": DOC_MESSAGES, "stream": False, "temperature": 1.0}).encode()
    assert b'"temperature": 1.0' in raw
    reply = rawhttp.request(chat_url(server), body=raw, headers={"api-key": API_KEY})
    assert reply.status == 200, reply.body
    assert reply.json()["choices"][0]["message"]["content"]


def test_litellm_passes_temperature_one_through(server: MockServer) -> None:
    reply = litellm.completion(
        model=f"azure/{DEPLOYMENT}",
        api_base=server.url,
        api_version=API_VERSION,
        api_key=API_KEY,
        messages=DOC_MESSAGES,
        temperature=1,
        num_retries=0,
    )
    assert reply.choices[0].message.content
    sent = server.requests[-1]
    assert sent.body["temperature"] == 1
    assert sent.status == 200


def test_dspy_settings_through_litellm(server: MockServer) -> None:
    # DSPy requires temperature=1.0 and max_tokens >= 16000 for reasoning models and calls
    # LiteLLM, which sends them to an o-series deployment as temperature 1.0 and
    # max_completion_tokens.
    reply = litellm.completion(
        model=f"azure/{DEPLOYMENT}",
        api_base=server.url,
        api_version=API_VERSION,
        api_key=API_KEY,
        messages=DOC_MESSAGES,
        temperature=1.0,
        max_tokens=20000,
        num_retries=0,
    )
    assert reply.choices[0].finish_reason == "stop"
    sent = server.requests[-1]
    assert (sent.body["temperature"], sent.body["max_completion_tokens"]) == (1.0, 20000)
    assert sent.status == 200


# --- stop ------------------------------------------------------------------------------------


def test_empty_stop_list_is_taken(any_client: Client) -> None:
    completion = _create(any_client, stop=[])
    assert completion.choices[0].finish_reason == "stop"


# --- logprobs --------------------------------------------------------------------------------


def test_logprobs_is_forbidden(any_client: Client) -> None:
    with pytest.raises(openai.PermissionDeniedError) as caught:
        _create(any_client, logprobs=True, top_logprobs=2)
    assert_error(
        caught.value,
        status=403,
        code=None,
        param=None,
        message="You are not allowed to request logprobs from this model",
    )


def test_logprobs_false_asks_for_nothing(any_client: Client) -> None:
    assert _create(any_client, logprobs=False).choices[0].logprobs is None


# --- what other models take and o3-mini does not ---------------------------------------------

UNSUPPORTED_FEATURES: list[tuple[str, Any]] = [
    ("audio", {"voice": "alloy", "format": "wav"}),
    ("prediction", {"type": "content", "content": "def f(): pass"}),
    (
        "data_sources",
        [
            {
                "type": "azure_search",
                "parameters": {
                    "endpoint": "https://search.example",
                    "index_name": "docs",
                    "authentication": {"type": "api_key", "key": "k"},
                },
            }
        ],
    ),
]


@pytest.mark.parametrize(("name", "value"), UNSUPPORTED_FEATURES)
def test_features_o3_mini_lacks_are_unsupported(any_client: Client, name: str, value: Any) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _create(any_client, extra_body={name: value})
    _assert_unsupported(caught.value, name)


def test_audio_modality_is_an_unsupported_value(any_client: Client) -> None:
    assert _create(any_client, modalities=["text"]).choices[0].message.content
    with pytest.raises(openai.BadRequestError) as caught:
        _create(any_client, modalities=["text", "audio"])
    assert_error(
        caught.value,
        status=400,
        code="unsupported_value",
        param="modalities",
        message="Unsupported value: 'modalities' does not support 'audio' with this model. "
        "Supported values are: 'text'.",
    )


def test_metadata_needs_store(any_client: Client) -> None:
    assert _create(any_client, metadata={"run": "7"}, store=True).choices[0].message.content
    with pytest.raises(openai.BadRequestError) as caught:
        _create(any_client, metadata={"run": "7"})
    assert_error(
        caught.value,
        status=400,
        code=None,
        param="metadata",
        message="The 'metadata' parameter is only allowed when 'store' is enabled.",
    )


# --- service_tier ----------------------------------------------------------------------------


@pytest.mark.parametrize("tier", ["auto", "default", "priority"])
def test_service_tier_is_taken_and_named_in_the_answer(any_client: Client, tier: str) -> None:
    # o3-mini has no priority processing: the answer names the tier that served it.
    completion = _create(any_client, service_tier=tier)
    assert completion.service_tier == "default"


def test_service_tier_sits_in_azures_key_order(server: MockServer) -> None:
    plain = rawhttp.request(
        chat_url(server), body={"messages": DOC_MESSAGES}, headers={"api-key": API_KEY}
    )
    assert "service_tier" not in plain.json()  # not asked, not named
    body = {"messages": DOC_MESSAGES, "service_tier": "auto"}
    reply = rawhttp.request(chat_url(server), body=body, headers={"api-key": API_KEY})
    keys = list(reply.json())
    assert keys.index("prompt_filter_results") + 1 == keys.index("service_tier")
    assert keys.index("service_tier") + 1 == keys.index("system_fingerprint")


def test_streamed_chunks_name_the_service_tier(client: openai.AzureOpenAI) -> None:
    stream = _create(client, service_tier="auto", stream=True)
    model_chunks = [chunk for chunk in stream if chunk.id]
    assert model_chunks
    assert {chunk.service_tier for chunk in model_chunks} == {"default"}


def test_flex_is_an_unsupported_value(any_client: Client) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _create(any_client, service_tier="flex")
    assert_error(
        caught.value,
        status=400,
        code="unsupported_value",
        param="service_tier",
        message="Unsupported value: 'service_tier' does not support 'flex' with this model. "
        "Supported values are: 'auto', 'default', and 'priority'.",
    )


def test_unknown_service_tier_is_an_invalid_value(client: openai.AzureOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _create(client, extra_body={"service_tier": "gold"})
    assert caught.value.code == "invalid_value"
    assert caught.value.param == "service_tier"


# --- which error comes first -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["temperature", "top_p", "max_tokens"])
def test_refused_parameter_is_reported_before_a_malformed_message(
    any_client: Client, name: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _create(any_client, BAD_MESSAGE, extra_body={name: 0.5})
    assert caught.value.code == "unsupported_parameter"
    assert caught.value.param == name


# --- the Responses API translates to chat and meets the same rules ---------------------------


def test_responses_refuse_flex_as_chat_does(v1_client: openai.OpenAI) -> None:
    response = v1_client.responses.create(model=DEPLOYMENT, input="Hello", service_tier="auto")
    assert response.status == "completed"
    with pytest.raises(openai.BadRequestError) as caught:
        v1_client.responses.create(model=DEPLOYMENT, input="Hello", service_tier="flex")
    assert caught.value.code == "unsupported_value"
    assert caught.value.param == "service_tier"


def test_responses_take_temperature_one_only(v1_client: openai.OpenAI) -> None:
    response = v1_client.responses.create(model=DEPLOYMENT, input="Hello", temperature=1)
    assert response.status == "completed"
    with pytest.raises(openai.BadRequestError) as caught:
        v1_client.responses.create(model=DEPLOYMENT, input="Hello", temperature=0.2)
    assert caught.value.code == "unsupported_parameter"
    assert caught.value.param == "temperature"
