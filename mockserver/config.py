"""Settings: embedded defaults, then a TOML file, then MOCKSERVER_* variables, then flags.

The embedded default serves one deployment, `o3-mini` -> model `o3-mini-2025-01-31`,
from the deterministic generator, and accepts any non-empty key.
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails

from mockserver.contract.model_card import known_models
from mockserver.faults.kinds import parse_fault
from mockserver.faults.latency import Latency
from mockserver.redaction.rules import DEFAULT_BODY_PATHS

ENV_PREFIX = "MOCKSERVER_"
# Where a flat key lives: (group, field), or (field,) for a setting that is not grouped.
FieldPath = tuple[str, ...]
Loc = tuple[int | str, ...]  # an error's location, as pydantic gives it
_HEADER_TOKEN = re.compile(r"[\x21-\x7e]+")
# The user part ends at its @ (a group of its own): a split between two runs of the same
# characters would be tried at every position, quadratic in a long bad value.
_UPSTREAM_URL = re.compile(r"https?://(?:[^\s/?#@]*@)?[^\s/?#@]+(?:[/?#]\S*)?", re.IGNORECASE)


# The reply styles of the generator (see `mockserver.engines.styles`), in the order tried.
ReplyStyle = Literal[
    "field_markers", "react", "code_agent", "json_object", "json_only", "only_answer", "code_fence"
]
ALL_REPLY_STYLES: tuple[ReplyStyle, ...] = get_args(ReplyStyle)


class Deployment(BaseModel):
    """One deployment: the name clients use, the model card behind it, and its quota."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = "o3-mini"
    tokens_per_minute: int = Field(default=250_000, gt=0)
    # None: Azure's documented ratio, 6 requests per minute for each 1,000 tokens per minute.
    requests_per_minute: int | None = Field(default=None, gt=0)
    # None: the server-wide `enforce_quota`; True/False: this deployment's own choice.
    enforce_quota: bool | None = None
    # None: the server-wide latency.
    latency: Latency | None = None
    # Seeded chance of each fault per request, e.g. {"429": 0.1, "reset": 0.01, "capacity": 0.05}.
    fault_rates: dict[str, float] = Field(default_factory=dict)
    # Which prompt formats the generator follows; [] answers every prompt with prose.
    reply_styles: tuple[ReplyStyle, ...] = ALL_REPLY_STYLES

    @field_validator("fault_rates")
    @classmethod
    def _rates_are_faults(cls, rates: dict[str, float]) -> dict[str, float]:
        for fault, rate in rates.items():
            parse_fault(fault)
            if not 0 <= rate <= 1:
                raise ValueError(f"the rate of {fault!r} must be between 0 and 1")
        if sum(rates.values()) > 1:
            raise ValueError("fault rates must add up to at most 1")
        return rates

    @property
    def effective_requests_per_minute(self) -> int:
        return self.requests_per_minute or max(1, self.tokens_per_minute * 6 // 1000)

    @field_validator("model")
    @classmethod
    def _model_has_a_card(cls, value: str) -> str:
        if value not in known_models():
            raise ValueError(f"unknown model {value!r}; known: {', '.join(known_models())}")
        return value


def _default_deployments() -> dict[str, Deployment]:
    return {"o3-mini": Deployment()}


StreamChunking = Literal["token", "buffered"]
RecordMode = Literal["none", "once", "new_episodes", "all"]
ReplayMiss = Literal["error", "generate"]


class Group(BaseModel):
    """One concern's settings.

    Settings were flat before they were grouped, and the flat keys are still what users
    write: in TOML, as MOCKSERVER_* variables, as flags and in the admin API. A field's
    flat key is its own name unless `renamed` gives another.
    """

    model_config = ConfigDict(extra="forbid")

    renamed: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def flat_key(cls, field: str) -> str:
        return cls.renamed.get(field, field)


class ServerSettings(Group):
    """Where the server listens, what it says about itself, and its connections' limits."""

    host: str = "127.0.0.1"
    port: int = Field(default=8089, ge=0, le=65535)
    region: str = Field(default="East US 2", pattern=r"^[^\x00-\x1f\x7f]+$")  # a header value
    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    # Connections (README "Security"). Idle: Azure Load Balancer's default idle timeout
    # (4 min). Headers: Node's headersTimeout (60 s), from a request's first byte to its
    # last header. Body: Node's requestTimeout (300 s), answered with Azure's 408.
    idle_timeout_seconds: float = Field(default=240.0, gt=0)
    request_header_timeout_seconds: float = Field(default=60.0, gt=0)
    request_body_timeout_seconds: float = Field(default=300.0, gt=0)
    # After SIGTERM/SIGINT: how long requests in flight (a hang fault, a slow stream) may
    # go on before their connections are closed.
    shutdown_grace_seconds: float = Field(default=5.0, ge=0)
    model_api_version_gate: bool = True
    # Inference requests in plain HTTP/1.1 answered by the lane (`http.lane`), which skips
    # aiohttp's web layer; off: aiohttp's front answers every request. Same answers.
    fast_lane: bool = True


class AuthSettings(Group):
    """Who may call: the data-plane keys and tokens, and the admin API's token."""

    api_keys: list[str] = Field(default_factory=list)
    entra_tokens: list[str] = Field(default_factory=list)
    # The admin API's token (README "Security"): None leaves /__admin open, as on loopback.
    admin_token: SecretStr | None = None

    @field_validator("admin_token")
    @classmethod
    def _token_fits_a_header(cls, token: SecretStr | None) -> SecretStr | None:
        # Printable ASCII without spaces: sendable as a header value; never echoed back.
        if token is not None and not _HEADER_TOKEN.fullmatch(token.get_secret_value()):
            raise ValueError("the admin token must be printable ASCII, without spaces")
        return token


class AnswerSettings(Group):
    """What the generator and the stubs answer with, and how reproducibly."""

    seed: int = Field(default=0, ge=-(2**63), le=2**63 - 1)  # serialised as a 64-bit integer
    deterministic_ids: bool = False
    deterministic_created: int = 1738281600
    stubs_dir: Path | None = None


class StreamingSettings(Group):
    """Streams: a frame per token as Azure sent in every 2026 recording, or "buffered"
    pieces of buffer_tokens as Azure's docs describe its default filter mode."""

    renamed: ClassVar[Mapping[str, str]] = {
        "chunking": "stream_chunking",
        "buffer_tokens": "stream_buffer_tokens",
        "obfuscation": "stream_obfuscation",
    }

    chunking: StreamChunking = "token"
    buffer_tokens: int = Field(default=32, gt=0)
    obfuscation: bool = True


class FaultSettings(Group):
    """Faults asked for with x-mock-fault: how long `hang` waits for the client to give up,
    and the retry-after-ms of an injected 429/503 (small, so client retries are quick)."""

    renamed: ClassVar[Mapping[str, str]] = {
        "hang_seconds": "fault_hang_seconds",
        "retry_after_ms": "fault_retry_after_ms",
    }

    hang_seconds: float = Field(default=120.0, gt=0)
    retry_after_ms: int = Field(default=10, ge=0)


class JournalSettings(Group):
    """The journal of requests. Its bodies, counted as received: at most max_bytes in all
    (the oldest entries go first), and a body longer than max_body_bytes is kept cut, with
    its size and sha256 (README "Security")."""

    renamed: ClassVar[Mapping[str, str]] = {
        "capacity": "journal_capacity",
        "max_bytes": "journal_max_bytes",
        "max_body_bytes": "journal_max_body_bytes",
    }

    capacity: int = Field(default=1000, gt=0)
    max_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)


class RecordingSettings(Group):
    """Record and replay (README "Record and replay"), and `fixtures import-vcr`."""

    fixtures_dir: Path | None = None
    record_mode: RecordMode = "none"
    upstream: str | None = None
    cassette: str = Field(default="recordings", pattern=r"^[A-Za-z0-9_.-]+$")
    # The recorder's patience with the upstream, as Azure's gateway has: seconds to connect,
    # and seconds of silence (before the headers or between two reads) before giving up.
    # 240 s: API Management's documented ceiling, past which Azure's network drops an idle
    # connection anyway.
    upstream_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    upstream_read_timeout_seconds: float = Field(default=240.0, gt=0)
    # The whole exchange, so an upstream trickling a byte at a time still ends: one hour,
    # above the longest real answer (100,000 o3-mini tokens at a slow 30 tokens/s: 56 min).
    upstream_total_timeout_seconds: float = Field(default=3600.0, gt=0)
    # The largest answer recorded, decoded: a full o3-mini stream (100,000 tokens, Azure's
    # ~400-byte frames) is about 40 MB; anything larger is refused, not held.
    upstream_max_body_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    # "none", "original" or a scale factor: an open set, so a pattern and not a Literal.
    replay_timing: str = Field(default="none", pattern=r"^(none|original|\d+(\.\d+)?)$")
    replay_miss: ReplayMiss = "error"
    replay_miss_status: int = Field(default=404, ge=400, le=599)
    allow_repeats: bool = False
    replay_ignore_body_fields: list[str] = Field(default_factory=lambda: ["user", "metadata"])
    # More volatile text to mask before matching, as [regex, placeholder] pairs (UUIDs and
    # timestamps are always masked).
    replay_transforms: list[tuple[str, str]] = Field(default_factory=list)
    # `fixtures import-vcr`: the largest cassette read, and the most YAML nodes it may
    # expand to (aliases counted each time they are used: a "billion laughs" is refused).
    vcr_max_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    vcr_max_nodes: int = Field(default=200_000, gt=0)

    @field_validator("upstream")
    @classmethod
    def _upstream_is_a_url(cls, upstream: str | None) -> str | None:
        # Said without the value: the URL may carry credentials.
        if upstream is not None and not _UPSTREAM_URL.fullmatch(upstream):
            raise ValueError(
                "upstream must be an http:// or https:// URL (no spaces; an @ in a "
                "password written %40)"
            )
        return upstream

    @model_validator(mode="after")
    def _recording_needs_a_place(self) -> RecordingSettings:
        if self.record_mode != "none" and (self.upstream is None or self.fixtures_dir is None):
            raise ValueError(
                f"record mode {self.record_mode!r} needs both upstream and fixtures_dir"
            )
        return self


class RedactionSettings(Group):
    """Redaction (README "Secrets and redaction"): the built-in deny list of credential
    headers and query parameters always applies; headers and query add regular expressions
    searched in names. Request body fields (dotted paths) are replaced in fixture files
    (body_paths) and in the journal (journal_body_paths)."""

    renamed: ClassVar[Mapping[str, str]] = {
        "headers": "redact_headers",
        "query": "redact_query",
        "body_paths": "redact_body_paths",
        "journal_body_paths": "journal_redact_body_paths",
    }

    headers: list[str] = Field(default_factory=list)
    query: list[str] = Field(default_factory=list)
    body_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_BODY_PATHS))
    journal_body_paths: list[str] = Field(default_factory=list)

    @field_validator("headers", "query")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"{pattern!r} is not a regular expression: {error}") from None
        return patterns


class QuotaSettings(Group):
    """Quota is always accounted (the x-ratelimit-* headers); 429s only when enforced, so a
    suite that sends large prompts is not throttled unless it asks to be."""

    renamed: ClassVar[Mapping[str, str]] = {
        "enforce": "enforce_quota",
        "request_window_seconds": "quota_request_window_seconds",
    }

    enforce: bool = False
    request_window_seconds: float = Field(default=10.0, gt=0, le=60)


class StateSettings(Group):
    """Where stubs, journal, quota and the other stores live: this process's memory, or a
    Redis (Valkey) server shared by processes and machines (README "Running at scale")."""

    renamed: ClassVar[Mapping[str, str]] = {
        "url": "state",
        "prefix": "state_prefix",
        "session_ttl_seconds": "state_session_ttl_seconds",
    }

    # "memory", or redis://[:password@]host:port/db, rediss:// (TLS) or unix:///path.
    url: str = Field(default="memory", pattern=r"^(memory|(rediss?|unix)://\S+)$")
    # Keys start mock:{<prefix>:<session>}: several mocks can share one Redis.
    prefix: str = Field(default="mockserver", pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    # On Redis, a named session's keys expire once it has been idle this long (0: never);
    # the default session never expires. Memory bounds sessions by count instead.
    session_ttl_seconds: int = Field(default=86_400, ge=0)

    @property
    def shared(self) -> bool:
        return self.url != "memory"


class Settings(BaseModel):
    """Everything that shapes the server's behaviour; see README "Configuration"."""

    model_config = ConfigDict(extra="forbid")

    server: ServerSettings = Field(default_factory=ServerSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    answers: AnswerSettings = Field(default_factory=AnswerSettings)
    streaming: StreamingSettings = Field(default_factory=StreamingSettings)
    faults: FaultSettings = Field(default_factory=FaultSettings)
    journal: JournalSettings = Field(default_factory=JournalSettings)
    recording: RecordingSettings = Field(default_factory=RecordingSettings)
    redaction: RedactionSettings = Field(default_factory=RedactionSettings)
    quota: QuotaSettings = Field(default_factory=QuotaSettings)
    store: StateSettings = Field(default_factory=StateSettings)
    latency: Latency = Field(default_factory=Latency)
    deployments: dict[str, Deployment] = Field(default_factory=_default_deployments)

    def __init__(self, **values: Any) -> None:
        """Flat keys (`Settings(record_mode="once")`) or groups (`Settings(recording=...)`)."""
        super().__init__(**values)

    @model_validator(mode="wrap")
    @classmethod
    def _accept_flat_keys(cls, data: Any, handler: ModelWrapValidatorHandler[Settings]) -> Settings:
        if not isinstance(data, Mapping):
            return handler(data)
        nested, written = _nest(data)
        try:
            return handler(nested)
        except ValidationError as error:
            raise _as_written(error, written) from None

    @field_validator("deployments", mode="before")
    @classmethod
    def _deployments_from_names(cls, value: Any) -> Any:
        # "name=model" strings (flags, environment) are accepted beside full tables.
        if isinstance(value, list):
            return dict(_parse_deployment(item) for item in value)
        return value

    def flat(self, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        """The settings under their flat keys, as users write them (and as the admin API
        shows them)."""
        dumped = self.model_dump(mode=mode)
        return {key: _at(dumped, path) for key, path in flat_paths().items()}

    def with_changes(self, flat_changes: Mapping[str, Any]) -> Settings:
        """A copy with these flat keys changed, validated as a whole (a `model_copy` is
        not validated at all)."""
        return Settings.model_validate({**self.flat(), **flat_changes})


def _at(dumped: Mapping[str, Any], path: FieldPath) -> Any:
    value: Any = dumped
    for part in path:
        value = value[part]
    return value


@cache
def flat_paths() -> Mapping[str, FieldPath]:
    """Every flat key and where it lives, in the order of the groups."""
    paths: dict[str, FieldPath] = {}
    for name, info in Settings.model_fields.items():
        group = info.annotation
        if isinstance(group, type) and issubclass(group, Group):
            paths.update({group.flat_key(field): (name, field) for field in group.model_fields})
        else:
            paths[name] = (name,)
    return paths


def _nest(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[Loc, str]]:
    """Flat keys moved into their groups' tables; and which flat key each field was
    written as, so that errors name it."""
    nested = dict(data)
    written: dict[Loc, str] = {}
    for key, path in flat_paths().items():
        if key not in data or len(path) == 1:
            continue
        group, field = path
        table = _table(group, nested.get(group, {}))
        if field in table:
            raise ValueError(f"{key} is given twice: as {key} and as {group}.{field}")
        nested[group] = {**table, field: nested.pop(key)}
        written[path] = key
    return nested, written


def _table(group: str, value: Any) -> dict[str, Any]:
    if isinstance(value, Group):
        return value.model_dump(exclude_unset=True)
    if isinstance(value, Mapping):
        return dict(value)
    raise ValueError(f"{group} must be a table, to go with its flat keys")


def _as_written(error: ValidationError, written: Mapping[Loc, str]) -> ValidationError:
    """The error, located at the flat keys that were written rather than in the groups."""
    problems = [_problem_as_written(problem, written) for problem in error.errors()]
    if all(new["loc"] == old["loc"] for new, old in zip(problems, error.errors(), strict=True)):
        return error
    return ValidationError.from_exception_data(error.title, problems)


def _problem_as_written(problem: ErrorDetails, written: Mapping[Loc, str]) -> InitErrorDetails:
    loc = problem["loc"]
    if loc[:2] in written:
        loc = (written[loc[:2]], *loc[2:])
    elif len(loc) == 1 and any(path[0] == loc[0] for path in written):
        loc = ()  # a group's own check (record mode needs...): of the settings, as when flat
    details = InitErrorDetails(type=problem["type"], loc=loc, input=problem["input"])
    if "ctx" in problem:
        details["ctx"] = problem["ctx"]
    return details


def _flat_model() -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for key, path in flat_paths().items():
        owner = Settings.model_fields[path[0]].annotation if len(path) == 2 else Settings
        assert isinstance(owner, type) and issubclass(owner, BaseModel)
        info = owner.model_fields[path[-1]]
        fields[key] = (info.annotation, copy.copy(info))
    return create_model(
        "Settings", __config__=ConfigDict(extra="forbid"), __doc__=Settings.__doc__, **fields
    )


# `Settings.flat()` as a model: the admin API's schema of the settings it shows, which
# stay flat (named "Settings" like the model it describes).
FlatSettings = _flat_model()


def _parse_deployment(item: str) -> tuple[str, dict[str, Any]]:
    name, _, model = item.partition("=")
    if not name or not model:
        raise ValueError(f"deployment {item!r} is not of the form NAME=MODEL")
    return name.strip(), {"model": model.strip()}


def load_settings(
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge the layers of configuration into one validated `Settings`.

    The file may write a setting flat (`record_mode = "once"`) or in its group's table
    (`[recording] record_mode = "once"`); the variables and flags, only flat.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = config_file or env.get(ENV_PREFIX + "CONFIG")
    if config_file:
        values.update(_read_toml(Path(config_file)))
    _overlay(values, _from_environment(env))
    _overlay(values, {k: v for k, v in (overrides or {}).items() if v is not None})
    return Settings.model_validate(values)


def _overlay(values: dict[str, Any], flat: Mapping[str, Any]) -> None:
    """A later layer's flat keys win over what an earlier one wrote, in a table or not."""
    for key, value in flat.items():
        path = flat_paths().get(key, ())
        table = values.get(path[0]) if len(path) == 2 else None
        if isinstance(table, Mapping):
            values[path[0]] = {k: v for k, v in table.items() if k != path[1]}
        values[key] = value


def _read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


_LIST_VARIABLES = {
    "api_keys",
    "entra_tokens",
    "deployments",
    "replay_ignore_body_fields",
    "redact_headers",
    "redact_query",
    "redact_body_paths",
    "journal_redact_body_paths",
}


def _from_environment(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in flat_paths():
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is None:
            continue
        values[name] = _split(raw) if name in _LIST_VARIABLES else raw
    return values


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]
