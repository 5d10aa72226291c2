"""Which reply a request gets: a call to which tool, or a message (engine/tool_choice.py)."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.engines.tool_choice import (
    MESSAGE,
    ToolDecision,
    answers_tool_results,
    best_match,
    called_names,
    current_task,
    decide_tool,
    final_answer_tool,
    is_final_answer,
)

Message = dict[str, Any]


def function(name: str, description: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": name,
        "parameters": {"type": "object", "properties": {}},
    }
    if description is not None:
        found["description"] = description
    return found


WEATHER = function("get_weather", "Current weather for a city")
STOCK = function("get_stock_price", "Latest trading price of a stock ticker")
SEARCH = function("search_web", "Search the internet")
FUNCTIONS = [WEATHER, STOCK, SEARCH]


def tools(*functions: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": f} for f in functions]


def user(text: Any) -> Message:
    return {"role": "user", "content": text}


def body(text: str, *functions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"messages": [user(text)], "tools": tools(*functions), **extra}


WEATHER_QUESTION = "What is the weather in Paris today?"
SMALL_TALK = "Tell me a joke about penguins."  # shares no word with any tool


# --- tool_choice ------------------------------------------------------------------------


def test_no_tools_gives_a_message() -> None:
    assert decide_tool({"messages": [user(WEATHER_QUESTION)]}) == MESSAGE
    assert decide_tool({"messages": [user(WEATHER_QUESTION)], "tools": []}) == MESSAGE
    assert MESSAGE.function is None


def test_none_gives_a_message_even_when_a_tool_matches() -> None:
    assert decide_tool(body(WEATHER_QUESTION, *FUNCTIONS, tool_choice="none")) == MESSAGE


@pytest.mark.parametrize("choice", [None, "auto"], ids=["default", "auto"])
def test_auto_calls_the_matching_tool(choice: str | None) -> None:
    request = body(WEATHER_QUESTION, SEARCH, WEATHER, STOCK)
    if choice is not None:
        request["tool_choice"] = choice
    decision = decide_tool(request)
    assert decision == ToolDecision(WEATHER)
    assert decision.function is request["tools"][1]["function"]
    assert not decision.named
    assert not decision.legacy


def test_auto_without_a_shared_word_gives_a_message() -> None:
    assert decide_tool(body(SMALL_TALK, *FUNCTIONS, tool_choice="auto")) == MESSAGE


def test_required_calls_the_matching_tool() -> None:
    request = body("Look up the stock price of ACME", *FUNCTIONS, tool_choice="required")
    assert decide_tool(request) == ToolDecision(STOCK)


def test_required_without_a_match_calls_the_first_tool() -> None:
    decision = decide_tool(body(SMALL_TALK, SEARCH, WEATHER, tool_choice="required"))
    assert decision.function is SEARCH
    assert not decision.named


def test_named_function_is_called_whatever_the_message_says() -> None:
    choice = {"type": "function", "function": {"name": "search_web"}}
    decision = decide_tool(body(WEATHER_QUESTION, *FUNCTIONS, tool_choice=choice))
    assert decision.function is SEARCH
    assert decision.named
    assert not decision.legacy


def test_named_function_is_called_after_tool_results_too() -> None:
    request = body(WEATHER_QUESTION, *FUNCTIONS)
    request["messages"] += [assistant_call("get_weather"), tool_result()]
    request["tool_choice"] = {"type": "function", "function": {"name": "get_weather"}}
    assert decide_tool(request) == ToolDecision(WEATHER, named=True)


def test_non_function_tools_are_ignored() -> None:
    request = {
        "messages": [user(WEATHER_QUESTION)],
        "tools": [{"type": "code_interpreter"}, *tools(WEATHER)],
    }
    assert decide_tool(request).function is WEATHER


# --- after tool results ---------------------------------------------------------------


def assistant_call(name: str) -> Message:
    call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": "{}"}}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def tool_result() -> Message:
    return {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature": 21}'}


def test_auto_after_tool_results_gives_a_message() -> None:
    request = body(WEATHER_QUESTION, *FUNCTIONS)
    request["messages"] += [assistant_call("get_weather"), tool_result()]
    assert decide_tool(request) == MESSAGE


def test_required_after_tool_results_answers_once_no_other_tool_matches() -> None:
    # The service would force another call; the mock ends the loop (docs/fidelity.md).
    request = body(WEATHER_QUESTION, *FUNCTIONS, tool_choice="required")
    request["messages"] += [assistant_call("get_weather"), tool_result()]
    assert decide_tool(request) == MESSAGE


def test_required_after_tool_results_calls_another_matching_tool() -> None:
    request = body("Weather in Paris, and the stock price of ACME?", *FUNCTIONS)
    request["tool_choice"] = "required"
    request["messages"] += [assistant_call("get_weather"), tool_result()]
    assert decide_tool(request) == ToolDecision(STOCK)


def test_auto_after_tool_results_calls_another_matching_tool() -> None:
    request = body("Weather in Paris, and the stock price of ACME?", *FUNCTIONS)
    request["messages"] += [assistant_call("get_weather"), tool_result()]
    assert decide_tool(request) == ToolDecision(STOCK)
    request["messages"] += [assistant_call("get_stock_price"), tool_result()]
    assert decide_tool(request) == MESSAGE


def test_a_nudge_after_the_results_does_not_hide_the_question() -> None:
    request = body("Weather in Paris, and the stock price of ACME?", *FUNCTIONS)
    request["tool_choice"] = "required"
    request["messages"] += [
        assistant_call("get_weather"),
        tool_result(),
        user("Analyze the tool result."),
    ]
    assert decide_tool(request) == ToolDecision(STOCK)


def test_a_new_question_after_tool_results_calls_again() -> None:
    request = body(WEATHER_QUESTION, *FUNCTIONS)
    request["messages"] += [
        assistant_call("get_weather"),
        tool_result(),
        {"role": "assistant", "content": "It is 21 degrees."},
        user("And the stock price of ACME?"),
    ]
    assert decide_tool(request) == ToolDecision(STOCK)


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([user("hi"), assistant_call("f"), tool_result()], True),
        ([user("hi"), {"role": "function", "name": "f", "content": "1"}], True),
        ([user("hi")], False),
        ([user("hi"), {"role": "assistant", "content": "hello"}], False),
        # A framework's nudge after the results still gets an answer that uses them.
        ([tool_result(), user("Analyze the tool result.")], True),
        ([tool_result(), {"role": "assistant", "content": "done"}, user("and now?")], False),
        ([], False),
    ],
    ids=["tool", "function", "user", "assistant", "user-after-tool", "new-turn", "empty"],
)
def test_answers_tool_results(messages: list[Message], expected: bool) -> None:
    assert answers_tool_results(messages) is expected


# --- the deprecated functions / function_call pair ------------------------------------


def legacy(text: str, function_call: Any = None, *messages: Message) -> dict[str, Any]:
    request: dict[str, Any] = {"messages": [user(text), *messages], "functions": FUNCTIONS}
    if function_call is not None:
        request["function_call"] = function_call
    return request


@pytest.mark.parametrize("function_call", [None, "auto"], ids=["default", "auto"])
def test_legacy_auto_calls_the_matching_function(function_call: str | None) -> None:
    assert decide_tool(legacy(WEATHER_QUESTION, function_call)) == ToolDecision(
        WEATHER, legacy=True
    )


def test_legacy_none_gives_a_message() -> None:
    assert decide_tool(legacy(WEATHER_QUESTION, "none")) == MESSAGE


def test_legacy_named_function() -> None:
    decision = decide_tool(legacy(WEATHER_QUESTION, {"name": "get_stock_price"}))
    assert decision == ToolDecision(STOCK, named=True, legacy=True)
    assert decision.function is STOCK


def test_legacy_without_a_match_gives_a_message() -> None:
    assert decide_tool(legacy(SMALL_TALK)) == MESSAGE


def test_legacy_after_a_function_result_gives_a_message() -> None:
    result = {"role": "function", "name": "get_weather", "content": '{"temperature": 21}'}
    call = {"role": "assistant", "content": None, "function_call": {"name": "get_weather"}}
    assert decide_tool(legacy(WEATHER_QUESTION, "auto", call, result)) == MESSAGE


def test_tools_win_over_functions() -> None:
    request = legacy(WEATHER_QUESTION)
    request["tools"] = tools(STOCK, WEATHER)
    assert decide_tool(request) == ToolDecision(WEATHER, legacy=False)


# --- best_match -------------------------------------------------------------------------


def test_snake_case_name_words_match() -> None:
    messages = [user("What's the stock price for MSFT?")]
    functions = [function("search_web"), function("get_stock_price"), function("get_weather")]
    assert best_match(functions, messages) is functions[1]


def test_camel_case_name_words_match() -> None:
    functions = [function("searchWeb"), function("getStockPrice")]
    assert best_match(functions, [user("stock price please")]) is functions[1]


def test_description_words_match() -> None:
    functions = [function("tool_a", "Translate text"), function("tool_b", "Book hotel rooms")]
    assert best_match(functions, [user("I need rooms near the station")]) is functions[1]


def test_most_shared_words_win() -> None:
    functions = [
        function("get_price", "Price of a product"),
        function("get_stock_price", "Price of a stock on the exchange"),
    ]
    assert best_match(functions, [user("stock price on the exchange")]) is functions[1]


def test_repeated_words_count_once() -> None:
    functions = [function("weather_report", "weather weather weather"), function("city_weather")]
    # Each shares one distinct word ("weather") with this message... then a tie: the first.
    assert best_match(functions, [user("weather")]) is functions[0]
    # ...and "city" gives the second two distinct words, whatever the first repeats.
    assert best_match(functions, [user("weather in my city")]) is functions[1]


@pytest.mark.parametrize(
    ("asked", "tool_word"),
    [
        ("forecasts", "forecast"),
        ("searching", "search"),
        ("hotels", "hotel"),
        ("flights", "flight"),
        ("prices", "price"),
        ("invoices", "invoice"),
    ],
)
def test_plural_and_ing_forms_match(asked: str, tool_word: str) -> None:
    functions = [function("ping_server"), function(f"lookup_{tool_word}")]
    assert best_match(functions, [user(f"any {asked} today?")]) is functions[1]


@pytest.mark.parametrize("order", ["weather-first", "search-first"])
def test_ties_go_to_the_first_tool(order: str) -> None:
    first, second = (WEATHER, SEARCH) if order == "weather-first" else (SEARCH, WEATHER)
    # One shared word each: "weather" and "internet".
    assert best_match([first, second], [user("weather on the internet")]) is first


def test_common_words_are_ignored() -> None:
    # "get", "the", "you", "can" appear in names/descriptions but carry no meaning.
    functions = [function("get_weather", "Use the weather service")]
    assert best_match(functions, [user("Can you get the thing for me?")]) is None


def test_short_words_are_ignored() -> None:
    functions = [function("go_to", "Go to a URL")]
    assert best_match(functions, [user("go to it")]) is None


def test_matching_ignores_case() -> None:
    assert best_match([SEARCH, WEATHER], [user("WEATHER IN OSLO")]) is WEATHER


def test_no_shared_word_is_none() -> None:
    assert best_match(FUNCTIONS, [user(SMALL_TALK)]) is None


def test_only_the_last_user_message_counts() -> None:
    messages = [
        user("What is the weather?"),
        {"role": "assistant", "content": "Sunny."},
        user("Now the stock price of ACME."),
        {"role": "assistant", "content": "One moment."},
    ]
    assert best_match(FUNCTIONS, messages) is STOCK


def test_system_and_assistant_text_do_not_count() -> None:
    messages = [
        {"role": "system", "content": "You can check the weather."},
        user("Tell me a joke."),
        {"role": "assistant", "content": "Weather jokes?"},
    ]
    assert best_match(FUNCTIONS, messages) is None


def test_content_parts_are_read() -> None:
    content = [
        {"type": "text", "text": "Check the"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        {"type": "text", "text": "weather, please"},
    ]
    assert best_match(FUNCTIONS, [user(content)]) is WEATHER


@pytest.mark.parametrize(
    "messages",
    [[], [{"role": "assistant", "content": "weather"}], [user(None)], [user([])]],
    ids=["empty", "no-user", "null-content", "no-parts"],
)
def test_nothing_asked_matches_nothing(messages: list[Message]) -> None:
    assert best_match(FUNCTIONS, messages) is None
    request = {"messages": messages, "tools": tools(*FUNCTIONS)}
    assert decide_tool(request) == MESSAGE
    assert decide_tool({**request, "tool_choice": "required"}) == ToolDecision(WEATHER)


def test_function_without_description() -> None:
    functions = [function("translate_text"), function("get_weather")]
    assert best_match(functions, [user("translate this text")]) is functions[0]


# --- final-answer tools and loops that end ----------------------------------------------

FINAL = function("final_answer", "Provides a final answer to the given problem.")


@pytest.mark.parametrize(
    ("name", "description"),
    [
        ("final_answer", None),
        ("FinalAnswer", None),
        ("answer", "Answer the user."),
        ("respond", None),
        ("submit", None),
        ("submit_answer", None),
        ("respond_to_user", None),
        ("final_result", "The final response which ends this conversation"),
        ("done", None),
        ("wrap_up", "Give the final answer to the task."),
    ],
)
def test_final_answer_tools_are_recognised(name: str, description: str | None) -> None:
    assert is_final_answer(function(name, description))
    assert final_answer_tool([WEATHER, function(name, description)]) == function(name, description)


@pytest.mark.parametrize(
    "name", ["submit_order", "send_email", "get_answer", "answer_question", "search_web"]
)
def test_action_tools_are_not_final_answers(name: str) -> None:
    assert not is_final_answer(function(name, "Do the thing."))
    assert final_answer_tool([function(name, "Do the thing.")]) is None


@pytest.mark.parametrize("choice", ["auto", "required"])
def test_after_tool_results_the_final_answer_tool_is_called(choice: str) -> None:
    request = body(WEATHER_QUESTION, WEATHER, FINAL, tool_choice=choice)
    request["messages"] += [assistant_call("get_weather"), tool_result()]
    assert decide_tool(request) == ToolDecision(FINAL)


def test_a_matching_tool_is_called_before_the_final_answer() -> None:
    request = body(WEATHER_QUESTION, FINAL, WEATHER, tool_choice="required")
    assert decide_tool(request) == ToolDecision(WEATHER)


def test_required_without_a_match_uses_a_tool_before_answering() -> None:
    request = body(SMALL_TALK, FINAL, SEARCH, tool_choice="required")
    assert decide_tool(request) == ToolDecision(SEARCH)


def test_auto_without_a_match_hands_back_the_final_answer_tool() -> None:
    assert decide_tool(body(SMALL_TALK, SEARCH, FINAL)) == ToolDecision(FINAL)


def test_the_result_of_the_final_answer_call_gets_a_message() -> None:
    request = body(WEATHER_QUESTION, WEATHER, FINAL, tool_choice="required")
    request["messages"] += [
        assistant_call("get_weather"),
        tool_result(),
        assistant_call("final_answer"),
        tool_result(),
    ]
    assert decide_tool(request) == MESSAGE


def test_a_text_answer_starts_a_new_task() -> None:
    request = body(WEATHER_QUESTION, WEATHER, tool_choice="required")
    request["messages"] += [
        assistant_call("get_weather"),
        tool_result(),
        {"role": "assistant", "content": "It is 21 degrees."},
        user("And in Rome?"),
    ]
    assert decide_tool(request) == ToolDecision(WEATHER)


def test_current_task_starts_after_the_last_finished_turn() -> None:
    answered = {"role": "assistant", "content": "It is 21 degrees."}
    later = [user("And in Rome?"), assistant_call("get_weather"), tool_result()]
    assert current_task([user(WEATHER_QUESTION), answered, *later]) == later
    finished = [user("q"), assistant_call("final_answer"), tool_result()]
    assert current_task(finished, FINAL) == [tool_result()]
    assert list(called_names([user("q"), assistant_call("a"), assistant_call("b")])) == ["a", "b"]


@pytest.mark.parametrize("choice", ["auto", "required"])
@pytest.mark.parametrize("offered", [[SEARCH, WEATHER, STOCK], [SEARCH, WEATHER, STOCK, FINAL]])
def test_an_agent_loop_ends_without_repeating_a_call(
    choice: str, offered: list[dict[str, Any]]
) -> None:
    """A loop that runs every call it is given ends in a message or a final-answer call."""
    request = body("Search the weather and stock prices for Paris.", *offered, tool_choice=choice)
    calls: list[str] = []
    for _ in range(len(offered) + 1):
        decision = decide_tool(request)
        if decision.function is None or decision.function is FINAL:
            break
        calls.append(decision.function["name"])
        request["messages"] += [assistant_call(calls[-1]), tool_result()]
    else:
        pytest.fail(f"the loop did not end: {calls}")
    assert len(calls) == len(set(calls)) >= 1
    assert (decision.function is FINAL) is (FINAL in offered)


def test_calls_sent_back_as_text_count_as_calls() -> None:
    """smolagents' ToolCallingAgent: its calls come back as assistant text, the results
    as user "Observation:" turns; the next turn hands back the final answer."""
    calling = "Calling tools:\n[{'id': 'call_1', 'type': 'function', 'function': {'name': "
    calling += "'get_weather', 'arguments': {'city': 'Paris'}}}]"
    request = body(f"New task:\n{WEATHER_QUESTION}", WEATHER, FINAL, tool_choice="required")
    request["messages"] += [
        {"role": "assistant", "content": [{"type": "text", "text": calling}]},
        user([{"type": "text", "text": "Observation:\nThe sky over Paris is clear."}]),
    ]
    assert list(called_names(request["messages"])) == ["get_weather"]
    assert decide_tool(request) == ToolDecision(FINAL)
