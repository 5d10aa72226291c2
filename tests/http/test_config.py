"""`load_settings`: defaults < TOML file < MOCKSERVER_* variables < flags (overrides)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from mockserver.config import load_settings

FILE = """\
region = "West Europe"
seed = 11
api_keys = ["file-key"]

[deployments]
"my-o3" = {model = "o3-mini"}
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "mockserver.toml"
    path.write_text(FILE)
    return path


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.server.region == "East US 2"
    assert settings.answers.seed == 0
    assert settings.auth.api_keys == []
    assert list(settings.deployments) == ["o3-mini"]
    assert settings.deployments["o3-mini"].model == "o3-mini"
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8089)
    assert settings.answers.deterministic_ids is False


def test_file_replaces_defaults(config_file: Path) -> None:
    settings = load_settings(config_file, environ={})
    assert settings.server.region == "West Europe"
    assert settings.answers.seed == 11
    assert settings.auth.api_keys == ["file-key"]
    assert list(settings.deployments) == ["my-o3"]
    assert settings.deployments["my-o3"].model == "o3-mini"


def test_config_file_named_by_environment(config_file: Path) -> None:
    settings = load_settings(environ={"MOCKSERVER_CONFIG": str(config_file)})
    assert settings.server.region == "West Europe"


def test_environment_reads_every_kind_of_value() -> None:
    settings = load_settings(
        environ={
            "MOCKSERVER_SEED": "42",
            "MOCKSERVER_REGION": "Sweden Central",
            "MOCKSERVER_API_KEYS": " a, b ,,c ",
            "MOCKSERVER_DEPLOYMENTS": "one=o3-mini, two = o3-mini",
            "MOCKSERVER_DETERMINISTIC_IDS": "true",
            "MOCKSERVER_PORT": "0",
        }
    )
    assert settings.answers.seed == 42
    assert settings.server.region == "Sweden Central"
    assert settings.auth.api_keys == ["a", "b", "c"]
    assert sorted(settings.deployments) == ["one", "two"]
    assert {d.model for d in settings.deployments.values()} == {"o3-mini"}
    assert settings.answers.deterministic_ids is True
    assert settings.server.port == 0


def test_unrelated_environment_is_ignored() -> None:
    settings = load_settings(environ={"REGION": "x", "MOCKSERVER": "y", "mockserver_region": "z"})
    assert settings.server.region == "East US 2"


@pytest.mark.parametrize(
    ("use_file", "environ", "overrides", "expected"),
    [
        (False, {}, {}, "East US 2"),
        (True, {}, {}, "West Europe"),
        (True, {"MOCKSERVER_REGION": "env"}, {}, "env"),
        (False, {"MOCKSERVER_REGION": "env"}, {"region": "flag"}, "flag"),
        (True, {"MOCKSERVER_REGION": "env"}, {"region": "flag"}, "flag"),
        (True, {"MOCKSERVER_REGION": "env"}, {"region": None}, "env"),
        (True, {}, {"region": None}, "West Europe"),
    ],
)
def test_precedence_of_layers(
    config_file: Path,
    use_file: bool,
    environ: dict[str, str],
    overrides: dict[str, Any],
    expected: str,
) -> None:
    settings = load_settings(config_file if use_file else None, environ, overrides)
    assert settings.server.region == expected


def test_every_layer_overrides_lists_and_deployments(config_file: Path) -> None:
    environ = {"MOCKSERVER_API_KEYS": "env-key", "MOCKSERVER_DEPLOYMENTS": "env-dep=o3-mini"}
    from_env = load_settings(config_file, environ)
    assert from_env.auth.api_keys == ["env-key"]
    assert list(from_env.deployments) == ["env-dep"]
    overrides = {"api_keys": ["flag-key"], "deployments": ["flag-dep=o3-mini"], "seed": 5}
    from_flags = load_settings(config_file, environ, overrides)
    assert from_flags.auth.api_keys == ["flag-key"]
    assert list(from_flags.deployments) == ["flag-dep"]
    assert from_flags.answers.seed == 5


@pytest.mark.parametrize(
    ("environ", "overrides"),
    [
        ({}, {"deployments": ["no-equals-sign"]}),
        ({}, {"deployments": ["=o3-mini"]}),
        ({}, {"deployments": ["name="]}),
        ({}, {"deployments": ["x=no-such-model"]}),
        ({"MOCKSERVER_DEPLOYMENTS": "broken"}, {}),
        ({"MOCKSERVER_SEED": "not-a-number"}, {}),
        ({}, {"port": 70000}),
        ({}, {"max_body_bytes": 0}),
    ],
)
def test_invalid_values_are_refused(environ: dict[str, str], overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        load_settings(environ=environ, overrides=overrides)


@pytest.mark.parametrize(
    "text",
    [
        'unknown_key = "x"\n',
        '[deployments]\n"d" = {model = "o3-mini", colour = "blue"}\n',
    ],
)
def test_unknown_keys_in_the_file_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValidationError):
        load_settings(path, environ={})


def test_malformed_toml_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("region = \n")
    with pytest.raises(ValueError):
        load_settings(path, environ={})


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_settings(tmp_path / "absent.toml", environ={})
