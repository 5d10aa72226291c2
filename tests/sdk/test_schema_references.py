"""A schema that names a URL (`$ref`, `$schema`, or a relative `$ref` under a URL `$id`) is
refused as an invalid schema, and the URL is never fetched: a client's schema must not make
the mock connect anywhere, nor hold its event loop while a far server keeps it waiting.

Each test points the URL at a loopback listener that accepts and never answers, and checks
that it saw no connection. Through the `openai` SDK (chat tools, response_format, the
Responses API's text.format) and through raw HTTP.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any, cast

import openai
import pytest

from mockserver.testing.server import MockServer
from tests.support.clients import azure_client, v1_client
from tests.support.rawhttp import post_chat

MODEL = "o3-mini"
HELLO: Any = [{"role": "user", "content": "hello"}]


class SilentListener:
    """A loopback port that accepts connections, counts them and never answers."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.accepted.append(connection)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in self.accepted:
            connection.close()
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[SilentListener]:
    silent = SilentListener()
    yield silent
    silent.close()


def closed(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


SchemaAt = Callable[[str], dict[str, Any]]
SCHEMAS: dict[str, SchemaAt] = {
    "a $ref to a URL": lambda url: closed({"city": {"$ref": f"{url}/city.json"}}),
    "a $schema that is a URL": lambda url: {"$schema": f"{url}/meta", **closed({})},
    "a relative $ref under a URL $id": lambda url: {
        "$id": f"{url}/root.json",
        **closed({"city": {"$ref": "city.json"}}),
    },
}


def strict_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "out", "strict": True, "schema": schema}}


def tool_with(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": "get_weather", "parameters": schema}}


# Where a chat request carries the schema: the request's field, and the error's code and param.
PLACES: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], str, str]] = {
    "tools": (
        lambda schema: {"tools": [tool_with(schema)]},
        "invalid_function_parameters",
        "tools[0].function.parameters",
    ),
    "response_format": (
        lambda schema: {"response_format": strict_format(schema)},
        "invalid_json_schema",
        "response_format",
    ),
}


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("shape", list(SCHEMAS))
def test_a_chat_schema_naming_a_url_is_refused_unfetched(
    server: MockServer, listener: SilentListener, shape: str, place: str
) -> None:
    carrying, code, param = PLACES[place]
    schema = SCHEMAS[shape](f"http://127.0.0.1:{listener.port}")
    client = azure_client(server, timeout=20, max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=HELLO, **carrying(schema))
    assert (caught.value.code, caught.value.param) == (code, param)
    assert caught.value.message.startswith("Error code: 400 - Invalid schema for ")
    assert listener.accepted == []


def test_a_responses_text_format_naming_a_url_is_refused_unfetched(
    server: MockServer, listener: SilentListener
) -> None:
    schema = SCHEMAS["a $ref to a URL"](f"http://127.0.0.1:{listener.port}")
    client = v1_client(server, timeout=20, max_retries=0)
    text_format = {"type": "json_schema", "name": "out", "strict": True, "schema": schema}
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=MODEL, input="hello", text=cast(Any, {"format": text_format}))
    assert "Invalid schema for response_format 'out'" in caught.value.message
    assert listener.accepted == []


@pytest.mark.parametrize("shape", list(SCHEMAS))
def test_raw_http_schema_naming_a_url_is_an_azure_400_unfetched(
    server: MockServer, listener: SilentListener, shape: str
) -> None:
    schema = SCHEMAS[shape](f"http://127.0.0.1:{listener.port}")
    answer = post_chat(server, {"messages": HELLO, "tools": [tool_with(schema)]})
    assert answer.status == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_function_parameters"
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Invalid schema for function 'get_weather': ")
    assert listener.accepted == []
