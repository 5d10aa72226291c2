"""Secrets in what the server shows of its configuration: masked, never echoed.

An `--upstream` URL may carry credentials (`https://user:password@host/`, `?key=...`). It
is shown, in the admin settings and in the recorder's 502 bodies, with its user info and
query values replaced by `***`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import ValidationError

MASK = "***"
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def mask_url(url: str) -> str:
    """`url` with its user info and query values masked; a URL that cannot be parsed is
    masked whole (it may be a secret written where the URL belonged)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return MASK
    userinfo = f"{MASK}@" if "@" in parts.netloc else ""
    host = f"[{host}]" if ":" in host else host
    query = urlencode([(name, MASK) for name, _ in parse_qsl(parts.query)], safe="*")
    return urlunsplit((parts.scheme, userinfo + host + port, parts.path, query, ""))


def scrub_urls(text: str) -> str:
    """`text` (an error message) with every URL in it masked as `mask_url` does."""
    return _URL.sub(lambda found: mask_url(found.group()), text)


def validation_summary(error: ValidationError) -> str:
    """What a configuration error says, without the values given (pydantic's text repeats
    them, keys and upstream credentials included)."""
    problems = error.errors(include_url=False, include_input=False, include_context=False)
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'settings'}: {problem['msg']}"
        for problem in problems
    )
