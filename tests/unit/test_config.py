"""Settings: defaults, then a TOML file, then MOCKSERVER_* variables, then overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mockserver.config import Deployment, Settings, load_settings


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.host == "127.0.0.1"
    assert settings.port == 8089
    assert settings.seed == 0
    assert settings.api_keys == []
    assert settings.entra_tokens == []
    assert list(settings.deployments) == ["o3-mini"]
    assert settings.deployments["o3-mini"].model == "o3-mini"
    assert settings.deployments["o3-mini"] == Deployment()


def test_defaults_ignore_the_process_environment_when_given_one() -> None:
    assert load_settings(environ={}) == Settings()


def test_list_variables_are_comma_separated_and_trimmed() -> None:
    settings = load_settings(
        environ={
            "MOCKSERVER_API_KEYS": " key-a, key-b,,key-c ,",
            "MOCKSERVER_ENTRA_TOKENS": "tok",
        }
    )
    assert settings.api_keys == ["key-a", "key-b", "key-c"]
    assert settings.entra_tokens == ["tok"]


def test_deployments_from_the_environment() -> None:
    settings = load_settings(environ={"MOCKSERVER_DEPLOYMENTS": "prod = o3-mini, dev=o3-mini"})
    assert sorted(settings.deployments) == ["dev", "prod"]
    assert all(d.model == "o3-mini" for d in settings.deployments.values())


def test_scalar_variables_are_converted() -> None:
    settings = load_settings(
        environ={"MOCKSERVER_PORT": "9000", "MOCKSERVER_SEED": "42", "MOCKSERVER_HOST": "0.0.0.0"}
    )
    assert settings.port == 9000
    assert settings.seed == 42
    assert settings.host == "0.0.0.0"


def test_unrelated_variables_are_ignored() -> None:
    settings = load_settings(environ={"PORT": "1", "MOCKSERVER_": "x", "mockserver_port": "2"})
    assert settings.port == 8089


@pytest.mark.parametrize("item", ["no-model", "=o3-mini", "name=", "="])
def test_invalid_deployment_string_raises(item: str) -> None:
    with pytest.raises(ValidationError, match="NAME=MODEL"):
        load_settings(environ={"MOCKSERVER_DEPLOYMENTS": item})


def test_invalid_deployment_string_among_good_ones_raises() -> None:
    with pytest.raises(ValidationError):
        load_settings(environ={}, overrides={"deployments": ["a=o3-mini", "broken"]})


def test_unknown_model_raises() -> None:
    with pytest.raises(ValidationError):
        load_settings(environ={"MOCKSERVER_DEPLOYMENTS": "x=gpt-nonexistent"})


@pytest.mark.parametrize("port", ["70000", "-1", "eighty"])
def test_invalid_port_raises(port: str) -> None:
    with pytest.raises(ValidationError):
        load_settings(environ={"MOCKSERVER_PORT": port})


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(ValidationError):
        load_settings(environ={}, overrides={"colour": "blue"})


def test_layers_override_in_order(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text('port = 7000\nseed = 5\nregion = "West Europe"\napi_keys = ["file-key"]\n')
    settings = load_settings(
        config_file=config,
        environ={"MOCKSERVER_SEED": "6", "MOCKSERVER_API_KEYS": "env-key"},
        overrides={"port": 7001, "region": None},
    )
    assert settings.port == 7001  # override beats file
    assert settings.seed == 6  # environment beats file
    assert settings.region == "West Europe"  # a None override does not erase the file's value
    assert settings.api_keys == ["env-key"]


def test_config_file_named_by_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text('[deployments.fast]\nmodel = "o3-mini"\nrequests_per_minute = 10\n')
    settings = load_settings(environ={"MOCKSERVER_CONFIG": str(config)})
    assert list(settings.deployments) == ["fast"]
    assert settings.deployments["fast"].requests_per_minute == 10
    assert settings.deployments["fast"].tokens_per_minute == 250_000


def test_deployment_tables_refuse_unknown_keys(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text('[deployments.fast]\nmodel = "o3-mini"\nspeed = 3\n')
    with pytest.raises(ValidationError):
        load_settings(config_file=config, environ={})
