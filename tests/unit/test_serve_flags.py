"""`mockserver serve`'s flags reach the settings they name (the store's, added with #18)."""

from __future__ import annotations

import pytest

from mockserver.cli.main import build_parser
from mockserver.config import Settings, load_settings


def settings_from(*flags: str) -> Settings:
    args = vars(build_parser().parse_args(["serve", *flags]))
    for not_a_setting in ("command", "config", "workers"):
        args.pop(not_a_setting)
    return load_settings(None, overrides=args)


@pytest.mark.parametrize(
    ("flags", "prefix", "ttl"),
    [
        ((), "mockserver", 86_400),
        (("--state-prefix", "team-a"), "team-a", 86_400),
        (("--state-session-ttl-seconds", "60"), "mockserver", 60),
        (("--state-session-ttl-seconds", "0"), "mockserver", 0),
    ],
)
def test_store_flags(flags: tuple[str, ...], prefix: str, ttl: int) -> None:
    store = settings_from(*flags).store
    assert (store.prefix, store.session_ttl_seconds) == (prefix, ttl)


def test_a_negative_ttl_is_refused() -> None:
    with pytest.raises(ValueError, match="session_ttl_seconds"):
        settings_from("--state-session-ttl-seconds", "-1")
