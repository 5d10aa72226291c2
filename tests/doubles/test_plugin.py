"""The pytest plugin, run inside an inner pytest session with `pytester`.

The plugin is loaded in the inner session the way users get it: through the `pytest11`
entry point of the installed package, not by naming it.
"""

from __future__ import annotations

import re
import textwrap

import pytest

pytest_plugins = ["pytester"]


def assert_lines_in_order(result: pytest.RunResult, *texts: str) -> None:
    """Each text appears in a line of the inner run's output, in this order (literal text)."""
    result.stdout.re_match_lines([f".*{re.escape(text)}.*" for text in texts])


INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""

AGENT = """
import json

import openai
import pytest

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def weather_tool(city):
    return json.dumps({"city": city, "temperature": 21})


def script(azure_mock):
    azure_mock.stub(
        match={"tools_offered": ["get_weather"], "tool_result_present": False},
        answer={"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
    )
    azure_mock.stub(match={"tool_result_present": True}, answer={"content": "21 in Paris"})


def first_turn(model):
    return {"model": model, "messages": [{"role": "user", "content": "Paris?"}],
            "tools": [WEATHER]}


def second_turn(model, reply):
    message = reply.choices[0].message
    call = message.tool_calls[0]
    arguments = json.loads(call.function.arguments)
    result = weather_tool(**arguments)
    messages = [
        {"role": "user", "content": "Paris?"},
        message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": result},
    ]
    return {"model": model, "messages": messages, "tools": [WEATHER]}


def run_agent(client, model="o3-mini"):
    reply = client.chat.completions.create(**first_turn(model))
    return client.chat.completions.create(**second_turn(model, reply))


async def run_agent_async(client, model="o3-mini"):
    reply = await client.chat.completions.create(**first_turn(model))
    return await client.chat.completions.create(**second_turn(model, reply))


def check_what_was_sent(azure_mock, **fields):
    azure_mock.verify(tools_offered=["get_weather"], count=2, **fields)
    azure_mock.verify(tool_result_present=True, count=1)
    entries = azure_mock.requests
    assert json.loads(entries[1].body["messages"][2]["content"]) == {
        "city": "Paris", "temperature": 21
    }


def test_sync_client(azure_mock, azure_openai_client):
    script(azure_mock)
    final = run_agent(azure_openai_client)
    assert final.choices[0].message.content == "21 in Paris"
    check_what_was_sent(azure_mock, route="dated")


async def test_async_client(azure_mock, azure_openai_async_client):
    script(azure_mock)
    final = await run_agent_async(azure_openai_async_client)
    assert final.choices[0].message.content == "21 in Paris"
    check_what_was_sent(azure_mock, route="dated")


def test_v1_client(azure_mock, openai_v1_client):
    script(azure_mock)
    final = run_agent(openai_v1_client)
    assert final.choices[0].message.content == "21 in Paris"
    check_what_was_sent(azure_mock, route="v1")


def test_clients_do_not_retry(azure_openai_client, azure_mock):
    azure_mock.stub(answer={"fault": "500"})
    with pytest.raises(openai.InternalServerError):
        azure_openai_client.chat.completions.create(
            model="o3-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert len(azure_mock.requests) == 1
"""


def test_the_fixtures_run_an_agent_and_verify_what_it_sent(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_agent=AGENT)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "*test_sync_client PASSED*",
            "*test_async_client PASSED*",
            "*test_v1_client PASSED*",
            "*test_clients_do_not_retry PASSED*",
        ]
    )


MARKER = """
import pytest

RESULTS = {}


def ask(client, text="Tell me about tea"):
    reply = client.chat.completions.create(
        model="o3-mini", messages=[{"role": "user", "content": text}]
    )
    return reply.choices[0].message.content


def test_default_seed(azure_mock, azure_openai_client):
    assert azure_mock.current_settings()["seed"] == 0
    RESULTS["seed 0"] = ask(azure_openai_client)


@pytest.mark.azure_mock(
    stubs=[
        {"match": {"last_user_message": {"equals": "stubbed?"}},
         "answer": {"content": "from the marker"}},
        {"id": "second", "answer": {"refusal": "no"}, "priority": 9},
    ],
    seed=7,
)
def test_marker_loads_stubs_and_sets_the_seed(azure_mock, azure_openai_client):
    assert azure_mock.current_settings()["seed"] == 7
    assert ask(azure_openai_client, "stubbed?") == "from the marker"
    assert sorted(stub.id for stub in azure_mock.stubs())[-1] == "second"
    RESULTS["seed 7"] = ask(azure_openai_client, "Tell me about tea")


def test_the_seed_is_restored_and_it_mattered(azure_mock, azure_openai_client):
    assert azure_mock.current_settings()["seed"] == 0
    assert azure_mock.stubs() == []
    assert RESULTS["seed 7"] is None  # the refusal stub answered, not the generator
    azure_mock.configure(seed=7)
    with_seed_7 = ask(azure_openai_client)
    azure_mock.configure(seed=0)
    assert with_seed_7 != RESULTS["seed 0"]
    assert ask(azure_openai_client) == RESULTS["seed 0"]


@pytest.mark.azure_mock(seed=7)
def test_seed_only(azure_mock, azure_openai_client):
    RESULTS["seed 7 generated"] = ask(azure_openai_client)
    assert RESULTS["seed 7 generated"] != RESULTS["seed 0"]
"""


def test_the_marker_loads_stubs_and_sets_the_seed(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_marker=MARKER)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


ISOLATION = """
def test_one_leaves_a_stub_and_requests(azure_mock, azure_openai_client):
    assert azure_mock.requests == []
    azure_mock.stub(answer={"content": "left over"})
    azure_mock.stub(scenario="s", required_state="Started", new_state="moved",
                    answer={"content": "moving"}, priority=1)
    reply = azure_openai_client.chat.completions.create(
        model="o3-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.choices[0].message.content == "moving"
    assert azure_mock.scenario_state("s") == "moved"


def test_two_starts_clean(azure_mock, azure_openai_client):
    assert azure_mock.requests == []
    assert azure_mock.stubs() == []
    assert azure_mock.scenario_state("s") is None
    reply = azure_openai_client.chat.completions.create(
        model="o3-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.choices[0].message.content not in ("left over", "moving")
    assert [entry.source for entry in azure_mock.requests] == ["generator"]
"""


def test_state_is_reset_between_tests(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_isolation=ISOLATION)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


FAILING_VERIFY = """
def test_expects_a_weather_question(azure_mock, azure_openai_client):
    azure_openai_client.chat.completions.create(
        model="o3-mini", messages=[{"role": "user", "content": "hello there"}]
    )
    azure_mock.verify(last_user_message={"contains": "weather"}, count=1)
"""


def test_a_failing_verify_fails_the_test_with_a_readable_message(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_failing=FAILING_VERIFY)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert_lines_in_order(
        result,
        "E       mockserver.testing.errors.VerificationFailedError: expected 1 request(s) matching "
        '{"last_user_message":{"contains":"weather"}}, found 0.',
        "E       Nearest requests received:",
        "E         #1 POST /openai/deployments/o3-mini/chat/completions -> 200: the last user "
        "message is 'hello there', which does not contain 'weather'",
        "FAILED test_failing.py::test_expects_a_weather_question",
    )


BAD_MARKERS = """
import pytest


@pytest.mark.azure_mock(stub=[{"answer": {"content": "x"}}])
def test_misspelt_argument(azure_mock):
    pass


@pytest.mark.azure_mock(stubs=[], sed=7)
def test_another_misspelt_argument(azure_mock):
    pass
"""


def test_an_unknown_marker_argument_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_bad_markers=BAD_MARKERS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=2)
    assert_lines_in_order(
        result,
        "UsageError: azure_mock marker: unknown arguments ['stub']",
        "UsageError: azure_mock marker: unknown arguments ['sed']",
    )


POSITIONAL_MARKER = """
import pytest


@pytest.mark.azure_mock("stubs/weather.json")
def test_positional(azure_mock):
    pass
"""


def test_a_positional_marker_argument_is_named_in_the_usage_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_positional=POSITIONAL_MARKER)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    assert_lines_in_order(result, "UsageError: azure_mock marker:", "stubs/weather.json")


SERVER_FAILURE = """
import openai
import pytest

from mockserver.engines.matching import TextMatch


def a_bug(self, text):
    raise TypeError("a bug inside the server")


def test_provokes_a_server_bug(azure_mock, azure_openai_client, monkeypatch):
    # Every input the admin API accepts is answered, so the bug is planted: the stub
    # engine's text matching raises, as a bug of ours would, inside the served request.
    monkeypatch.setattr(TextMatch, "matches", a_bug)
    azure_mock.stub(match={"last_user_message": {"equals": "hi"}}, answer={"content": "x"})
    with pytest.raises(openai.InternalServerError):
        azure_openai_client.chat.completions.create(
            model="o3-mini", messages=[{"role": "user", "content": "hi"}]
        )


def test_the_next_test_is_not_blamed(azure_mock, azure_openai_client):
    reply = azure_openai_client.chat.completions.create(
        model="o3-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.choices[0].message.content
"""


def test_a_server_side_exception_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_server_failure=SERVER_FAILURE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2, errors=1)
    assert_lines_in_order(
        result,
        "test_provokes_a_server_bug PASSED",
        "test_provokes_a_server_bug ERROR",
        "test_the_next_test_is_not_blamed PASSED",
        "E           Failed: the mock server failed while answering this test:",
        "TypeError",
        "ERROR test_server_failure.py::test_provokes_a_server_bug",
    )


def test_the_plugin_options_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    assert_lines_in_order(
        result, "--mockserver-record-mode", "--mockserver-upstream", "--mockserver-seed"
    )


def test_the_seed_option_seeds_the_session(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        test_seeded=textwrap.dedent(
            """
            def test_seed(azure_mock):
                assert azure_mock.current_settings()["seed"] == 31
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mockserver-seed", "31")
    result.assert_outcomes(passed=1)


OWN_SERVER = """
import pytest

SESSION = {}


def test_the_session_server(azure_mock):
    SESSION["url"] = azure_mock.url
    assert azure_mock.current_settings()["fixtures_dir"] is None


@pytest.mark.azure_mock(fixtures="recorded", seed=5)
def test_recordings_get_a_server_of_their_own(azure_mock, azure_openai_client):
    assert azure_mock.url != SESSION["url"]
    settings = azure_mock.current_settings()
    assert settings["fixtures_dir"].endswith("recorded") and settings["seed"] == 5


def test_then_the_session_server_again(azure_mock):
    assert azure_mock.url == SESSION["url"]
    assert azure_mock.current_settings()["fixtures_dir"] is None


@pytest.mark.azure_mock(record_mode="once")
def test_recording_without_an_upstream(azure_mock):
    pass
"""


def test_a_marker_switching_recordings_gets_its_own_server(pytester: pytest.Pytester) -> None:
    # The admin API changes only runtime settings (seed, ids, region, streaming), so a test
    # that replays other recordings, or records, is served by a server started for it.
    pytester.makeini(INI)
    pytester.mkdir("recorded")
    pytester.makepyfile(test_own_server=OWN_SERVER)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)
    assert_lines_in_order(result, "UsageError: azure_mock marker:", "record_mode")
