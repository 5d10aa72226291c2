"""Settings: defaults, then a TOML file, then MOCKSERVER_* variables, then overrides."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from mockserver.config import (
    Deployment,
    FlatSettings,
    Group,
    RecordingSettings,
    Settings,
    StreamingSettings,
    flat_paths,
    load_settings,
)
from mockserver.redaction.masking import validation_summary


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8089
    assert settings.answers.seed == 0
    assert settings.auth.api_keys == []
    assert settings.auth.entra_tokens == []
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
    assert settings.auth.api_keys == ["key-a", "key-b", "key-c"]
    assert settings.auth.entra_tokens == ["tok"]


def test_deployments_from_the_environment() -> None:
    settings = load_settings(environ={"MOCKSERVER_DEPLOYMENTS": "prod = o3-mini, dev=o3-mini"})
    assert sorted(settings.deployments) == ["dev", "prod"]
    assert all(d.model == "o3-mini" for d in settings.deployments.values())


def test_scalar_variables_are_converted() -> None:
    settings = load_settings(
        environ={"MOCKSERVER_PORT": "9000", "MOCKSERVER_SEED": "42", "MOCKSERVER_HOST": "0.0.0.0"}
    )
    assert settings.server.port == 9000
    assert settings.answers.seed == 42
    assert settings.server.host == "0.0.0.0"


def test_unrelated_variables_are_ignored() -> None:
    settings = load_settings(environ={"PORT": "1", "MOCKSERVER_": "x", "mockserver_port": "2"})
    assert settings.server.port == 8089


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
    assert settings.server.port == 7001  # override beats file
    assert settings.answers.seed == 6  # environment beats file
    # A None override does not erase the file's value.
    assert settings.server.region == "West Europe"
    assert settings.auth.api_keys == ["env-key"]


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


# --- settings grouped by concern, flat keys kept ---------------------------------------

# Every flat key users write (TOML, MOCKSERVER_*, flags, the admin API), as before the
# grouping, and where it lives now. A key lost, renamed or moved fails here.
WHERE: dict[str, tuple[str, ...]] = {
    "host": ("server", "host"),
    "port": ("server", "port"),
    "region": ("server", "region"),
    "max_body_bytes": ("server", "max_body_bytes"),
    "idle_timeout_seconds": ("server", "idle_timeout_seconds"),
    "request_header_timeout_seconds": ("server", "request_header_timeout_seconds"),
    "request_body_timeout_seconds": ("server", "request_body_timeout_seconds"),
    "shutdown_grace_seconds": ("server", "shutdown_grace_seconds"),
    "model_api_version_gate": ("server", "model_api_version_gate"),
    "fast_lane": ("server", "fast_lane"),
    "api_keys": ("auth", "api_keys"),
    "entra_tokens": ("auth", "entra_tokens"),
    "admin_token": ("auth", "admin_token"),
    "seed": ("answers", "seed"),
    "deterministic_ids": ("answers", "deterministic_ids"),
    "deterministic_created": ("answers", "deterministic_created"),
    "stubs_dir": ("answers", "stubs_dir"),
    "stream_chunking": ("streaming", "chunking"),
    "stream_buffer_tokens": ("streaming", "buffer_tokens"),
    "stream_obfuscation": ("streaming", "obfuscation"),
    "fault_hang_seconds": ("faults", "hang_seconds"),
    "fault_retry_after_ms": ("faults", "retry_after_ms"),
    "journal_capacity": ("journal", "capacity"),
    "journal_max_bytes": ("journal", "max_bytes"),
    "journal_max_body_bytes": ("journal", "max_body_bytes"),
    "fixtures_dir": ("recording", "fixtures_dir"),
    "record_mode": ("recording", "record_mode"),
    "upstream": ("recording", "upstream"),
    "state": ("store", "url"),
    "state_prefix": ("store", "prefix"),
    "state_session_ttl_seconds": ("store", "session_ttl_seconds"),
    "cassette": ("recording", "cassette"),
    "upstream_connect_timeout_seconds": ("recording", "upstream_connect_timeout_seconds"),
    "upstream_read_timeout_seconds": ("recording", "upstream_read_timeout_seconds"),
    "upstream_total_timeout_seconds": ("recording", "upstream_total_timeout_seconds"),
    "upstream_max_body_bytes": ("recording", "upstream_max_body_bytes"),
    "replay_timing": ("recording", "replay_timing"),
    "replay_miss": ("recording", "replay_miss"),
    "replay_miss_status": ("recording", "replay_miss_status"),
    "allow_repeats": ("recording", "allow_repeats"),
    "replay_ignore_body_fields": ("recording", "replay_ignore_body_fields"),
    "replay_transforms": ("recording", "replay_transforms"),
    "vcr_max_bytes": ("recording", "vcr_max_bytes"),
    "vcr_max_nodes": ("recording", "vcr_max_nodes"),
    "redact_headers": ("redaction", "headers"),
    "redact_query": ("redaction", "query"),
    "redact_body_paths": ("redaction", "body_paths"),
    "journal_redact_body_paths": ("redaction", "journal_body_paths"),
    "enforce_quota": ("quota", "enforce"),
    "quota_request_window_seconds": ("quota", "request_window_seconds"),
    "latency": ("latency",),
    "deployments": ("deployments",),
}

# A value other than the default for each key, as TOML or keyword arguments give it.
SAMPLES: dict[str, Any] = {
    "host": "0.0.0.0",
    "port": 9001,
    "region": "Sweden Central",
    "max_body_bytes": 1024,
    "idle_timeout_seconds": 12.5,
    "request_header_timeout_seconds": 7.0,
    "request_body_timeout_seconds": 8.0,
    "shutdown_grace_seconds": 0.5,
    "model_api_version_gate": False,
    "fast_lane": False,
    "api_keys": ["key-a", "key-b"],
    "entra_tokens": ["entra-a"],
    "admin_token": "admin-secret",
    "seed": 42,
    "deterministic_ids": True,
    "deterministic_created": 1700000000,
    "stubs_dir": "/tmp/stubs",
    "stream_chunking": "buffered",
    "stream_buffer_tokens": 4,
    "stream_obfuscation": False,
    "fault_hang_seconds": 3.0,
    "fault_retry_after_ms": 250,
    "journal_capacity": 5,
    "journal_max_bytes": 4096,
    "journal_max_body_bytes": 512,
    "fixtures_dir": "/tmp/fixtures",
    "record_mode": "new_episodes",
    "upstream": "https://example.openai.azure.com",
    "state": "redis://127.0.0.1:6390/1",
    "state_prefix": "team-a",
    "state_session_ttl_seconds": 3600,
    "cassette": "other-cassette",
    "upstream_connect_timeout_seconds": 1.5,
    "upstream_read_timeout_seconds": 2.5,
    "upstream_total_timeout_seconds": 30.0,
    "upstream_max_body_bytes": 2048,
    "replay_timing": "original",
    "replay_miss": "generate",
    "replay_miss_status": 418,
    "allow_repeats": True,
    "replay_ignore_body_fields": ["user"],
    "replay_transforms": [["\\d+", "N"]],
    "vcr_max_bytes": 100,
    "vcr_max_nodes": 10,
    "redact_headers": ["^x-secret"],
    "redact_query": ["token"],
    "redact_body_paths": ["user"],
    "journal_redact_body_paths": ["messages"],
    "enforce_quota": True,
    "quota_request_window_seconds": 30.0,
    "latency": {"ttft_ms": 5.0},
    "deployments": {"prod": {"model": "o3-mini"}},
}
# As before the grouping, these two are read from TOML and flags only.
NOT_FROM_ENVIRONMENT = {"latency", "replay_transforms"}
# record mode needs both of these; given with every key, so each loads alone.
NEEDED = {"upstream": "https://up.example.test", "fixtures_dir": "/tmp/needed"}
KEYS = sorted(flat_paths())


def _grouped(settings: Settings, path: tuple[str, ...]) -> Any:
    value: Any = settings
    for part in path:
        value = getattr(value, part)
    return value


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)  # numbers, and strings in TOML's basic quotes


def _environment(key: str, value: Any) -> str:
    if key == "deployments":
        return ",".join(f"{name}={d['model']}" for name, d in value.items())
    if isinstance(value, list):
        return ",".join(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _needed_besides(key: str) -> dict[str, str]:
    return {name: value for name, value in NEEDED.items() if name != key}


def _expected(key: str) -> Settings:
    return Settings(**{**NEEDED, key: SAMPLES[key]})


def test_the_flat_keys_are_those_of_before_and_live_where_the_map_says() -> None:
    assert dict(flat_paths()) == WHERE
    assert set(Settings().flat()) == set(WHERE) == set(SAMPLES)
    assert set(FlatSettings.model_fields) == set(WHERE)


def test_settings_are_grouped_by_concern_in_typed_models() -> None:
    groups = {path[0] for path in WHERE.values() if len(path) == 2}
    for group in groups:
        model = Settings.model_fields[group].annotation
        assert isinstance(model, type) and issubclass(model, Group)
    assert Settings.model_fields["recording"].annotation is RecordingSettings
    chunking = StreamingSettings.model_fields["chunking"].annotation
    assert get_origin(chunking) is Literal and get_args(chunking) == ("token", "buffered")


@pytest.mark.parametrize("key", KEYS)
def test_every_flat_key_loads_from_keywords_into_its_group(key: str) -> None:
    settings, default = _expected(key), Settings(**NEEDED)
    grouped = _grouped(settings, WHERE[key])
    assert grouped != _grouped(default, WHERE[key])
    assert settings.flat(mode="json")[key] == to_jsonable_python(grouped)


@pytest.mark.parametrize("key", KEYS)
def test_every_flat_key_loads_from_a_toml_file(key: str, tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text(f"{key} = {_toml(SAMPLES[key])}\n")
    assert load_settings(config, environ={}, overrides=_needed_besides(key)) == _expected(key)


@pytest.mark.parametrize("key", KEYS)
def test_every_flat_key_loads_from_its_group_table(key: str, tmp_path: Path) -> None:
    path, config = WHERE[key], tmp_path / "mock.toml"
    line = f"{path[-1]} = {_toml(SAMPLES[key])}\n"
    config.write_text(f"[{path[0]}]\n{line}" if len(path) == 2 else line)
    assert load_settings(config, environ={}, overrides=_needed_besides(key)) == _expected(key)


@pytest.mark.parametrize("key", sorted(set(KEYS) - NOT_FROM_ENVIRONMENT))
def test_every_flat_key_loads_from_the_environment(key: str) -> None:
    environ = {"MOCKSERVER_" + key.upper(): _environment(key, SAMPLES[key])}
    assert load_settings(environ=environ, overrides=_needed_besides(key)) == _expected(key)


def test_grouped_tables_and_flat_keys_mix_and_later_layers_win(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text(
        'seed = 3\n[streaming]\nchunking = "buffered"\nbuffer_tokens = 8\n'
        '[recording]\nrecord_mode = "once"\nupstream = "https://a.example"\n'
        f'fixtures_dir = "{tmp_path}"\n[quota]\nenforce = true\n'
    )
    environ = {"MOCKSERVER_STREAM_CHUNKING": "token", "MOCKSERVER_ENFORCE_QUOTA": "false"}
    settings = load_settings(config, environ=environ, overrides={"record_mode": "all"})
    assert settings.answers.seed == 3
    assert (settings.streaming.chunking, settings.streaming.buffer_tokens) == ("token", 8)
    assert settings.recording.record_mode == "all"
    assert settings.recording.fixtures_dir == tmp_path
    assert settings.quota.enforce is False


def test_a_group_table_refuses_what_it_does_not_hold(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text('[streaming]\nchunking = "token"\nstream_chunking = "token"\n')
    with pytest.raises(ValidationError) as raised:
        load_settings(config, environ={})
    assert [e["loc"] for e in raised.value.errors()] == [("streaming", "stream_chunking")]


def test_a_key_written_both_flat_and_in_its_table_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text('stream_chunking = "token"\n[streaming]\nchunking = "buffered"\n')
    with pytest.raises(ValidationError, match="stream_chunking is given twice"):
        load_settings(config, environ={})


BAD_CHOICES = [("stream_chunking", "lumpy"), ("record_mode", "sometimes"), ("replay_miss", "x")]


@pytest.mark.parametrize(("key", "value"), BAD_CHOICES)
def test_a_bad_choice_is_refused_naming_the_flat_key(key: str, value: str, tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text(f'{key} = "{value}"\n')
    environ = {"MOCKSERVER_" + key.upper(): value}
    attempts: list[Callable[[], object]] = [
        lambda: Settings(**{**NEEDED, key: value}),
        lambda: load_settings(environ=environ, overrides=NEEDED),
        lambda: load_settings(config, environ={}, overrides=NEEDED),
        lambda: load_settings(environ={}, overrides={**NEEDED, key: value}),
        lambda: Settings(**NEEDED).with_changes({key: value}),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError) as raised:
            attempt()
        assert [e["loc"] for e in raised.value.errors()] == [(key,)]
        assert validation_summary(raised.value).startswith(f"{key}: Input should be ")


def test_a_bad_value_in_a_table_is_named_as_written(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text('[streaming]\nchunking = "lumpy"\n')
    with pytest.raises(ValidationError) as raised:
        load_settings(config, environ={})
    assert [e["loc"] for e in raised.value.errors()] == [("streaming", "chunking")]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("upstream", "ftp://x", "http:// or https://"),
        ("redact_headers", ["("], "is not a regular expression"),
        ("admin_token", "with space", "printable ASCII"),
        ("port", 70000, "less than or equal to 65535"),
    ],
)
def test_each_group_check_names_the_flat_key(key: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as raised:
        Settings(**{key: value})
    assert [e["loc"] for e in raised.value.errors()] == [(key,)]


def test_recording_without_its_places_is_refused_as_before() -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(record_mode="once", upstream="https://a.example")
    assert [e["loc"] for e in raised.value.errors()] == [()]
    assert "needs both upstream and fixtures_dir" in validation_summary(raised.value)


def test_flat_round_trips() -> None:
    every = Settings(**{key: SAMPLES[key] for key in KEYS})
    assert Settings.model_validate(every.flat()) == every
    assert Settings(**every.flat()) == every
    assert Settings().flat(mode="json")["stream_chunking"] == "token"
    as_json = every.flat(mode="json")
    assert as_json["admin_token"] == "**********"  # pydantic's mask, as before
    assert json.loads(json.dumps(as_json))["fixtures_dir"] == "/tmp/fixtures"
    assert FlatSettings.model_validate(every.flat()).model_dump() == every.flat()


def test_flat_json_schema_is_titled_and_shaped_as_before() -> None:
    schema = FlatSettings.model_json_schema(mode="serialization")
    assert schema["title"] == "Settings"
    assert set(schema["properties"]) == set(WHERE)
    assert schema["properties"]["stream_chunking"]["enum"] == ["token", "buffered"]


def test_with_changes_validates_the_whole_and_leaves_the_original() -> None:
    settings = Settings(seed=1)
    changed = settings.with_changes({"seed": 2, "stream_chunking": "buffered"})
    assert (changed.answers.seed, changed.streaming.chunking) == (2, "buffered")
    assert settings.answers.seed == 1
    with pytest.raises(ValidationError, match="needs both upstream and fixtures_dir"):
        settings.with_changes({"record_mode": "all"})
    with pytest.raises(ValidationError) as raised:
        settings.with_changes({"colour": "blue"})
    assert [e["loc"] for e in raised.value.errors()] == [("colour",)]


def test_groups_may_be_given_whole_beside_flat_keys() -> None:
    settings = Settings(streaming=StreamingSettings(buffer_tokens=3), stream_chunking="buffered")
    assert (settings.streaming.chunking, settings.streaming.buffer_tokens) == ("buffered", 3)
    assert Settings(streaming={"obfuscation": False}).flat()["stream_obfuscation"] is False


def test_settings_survive_pickling_for_worker_processes() -> None:
    settings = Settings(**{key: SAMPLES[key] for key in KEYS})
    assert pickle.loads(pickle.dumps(settings)) == settings
