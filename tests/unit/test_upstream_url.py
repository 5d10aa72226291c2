"""The `upstream` setting: an http(s) URL, checked in time linear in its length."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from mockserver.config import Settings

ACCEPTED = [
    "http://127.0.0.1:9",
    "https://res.openai.azure.com",
    "HTTPS://res.openai.azure.com/openai?x=1#f",
    "http://recorder:upstream-pa55@127.0.0.1:9/base?key=query-s3cret",
    "http://@host",
    "https://u:p%40ss@h.invalid/",
]
REFUSED = [
    "https://u:pw s3cret@h.invalid/",
    "ftp://u:pw-s3cret@h.invalid/",
    "pw-s3cret",
    "https://",
    "https://u@",
    "https://a@b@c",
    "https:///path",
    "https://host/ path",
]


@pytest.mark.parametrize("upstream", ACCEPTED)
def test_http_urls_are_accepted(upstream: str) -> None:
    assert Settings(upstream=upstream).recording.upstream == upstream


@pytest.mark.parametrize("upstream", REFUSED)
def test_other_text_is_refused(upstream: str) -> None:
    with pytest.raises(ValidationError, match="upstream must be an http"):
        Settings(upstream=upstream)


# Run apart, so a check that backtracks (minutes for this length) is killed at the timeout.
LONG_URL_SCRIPT = """
from pydantic import ValidationError
from mockserver.config import Settings
for upstream in ("https://" + "a" * 200_000 + " ", "https://" + "a:" * 100_000 + "@ x"):
    try:
        Settings(upstream=upstream)
    except ValidationError:
        continue
    raise SystemExit("accepted")
print("refused")
"""


def test_a_long_bad_upstream_is_refused_in_one_pass() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LONG_URL_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "refused"), done.stderr[-2000:]
