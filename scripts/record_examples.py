"""Record the example fixtures in fixtures/ from the mock itself (a second instance is the
upstream), so the README's replay example works offline. Rerun after a format change."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import openai

from mockserver.recordings.fixtures import read_cassette, write_fixture_file
from mockserver.testing.server import MockServer

OUT = Path(__file__).resolve().parent.parent / "fixtures"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        with (
            MockServer(seed=42, deterministic_ids=True) as upstream,
            MockServer(
                fixtures_dir=Path(scratch),
                record_mode="all",
                upstream=upstream.url,
                cassette="examples",
            ) as recorder,
        ):
            run_session(recorder)
        # Recorded one file per interaction; shipped as one file, which replay reads too.
        recorded = read_cassette(Path(scratch) / "examples")
    write_fixture_file(OUT / "examples.json", recorded)
    print(f"wrote {OUT / 'examples.json'}: {len(recorded.interactions)} interactions")


def run_session(recorder: MockServer) -> None:
    client = openai.AzureOpenAI(
        azure_endpoint=recorder.url, api_key="recording-key", api_version="2025-04-01-preview"
    )
    question = [
        {
            "role": "user",
            "content": "What steps should I think about when writing my first Python API?",
        }
    ]
    client.chat.completions.create(model="o3-mini", messages=question, reasoning_effort="low")
    for _ in client.chat.completions.create(
        model="o3-mini", messages=question, stream=True, stream_options={"include_usage": True}
    ):
        pass
    tool_loop(client)
    with contextlib.suppress(openai.BadRequestError):  # recorded: o3-mini refuses temperature
        client.chat.completions.create(model="o3-mini", messages=question, temperature=0.2)


def tool_loop(client: openai.AzureOpenAI) -> None:
    messages: list[dict[str, object]] = [
        {"role": "user", "content": "What is the weather in Paris?"}
    ]
    first = client.chat.completions.create(model="o3-mini", messages=messages, tools=[WEATHER_TOOL])
    call = first.choices[0].message.tool_calls[0]
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append(
        {
            "role": "tool",
            "tool_call_id": call.id,
            "content": '{"temperature": 21, "unit": "celsius"}',
        }
    )
    client.chat.completions.create(model="o3-mini", messages=messages, tools=[WEATHER_TOOL])


if __name__ == "__main__":
    main()
