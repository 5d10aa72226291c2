"""Redaction: the deny list of credentials, and the pure functions that take them out.

One list, used the same way everywhere a request is written down: fixture files (recording
and `fixtures import-vcr`), the request journal, the server's log, and `fixtures check`,
which finds anything this list would have taken out. A credential is recognised by name
(a header or query parameter, see `CREDENTIAL_HEADERS` and friends) and by the shape of
its value (a JWT, an `sk-` key, a SAS `sig=`, a bearer token...), wherever it appears.
Users add names (`redact_headers`, `redact_query`: regular expressions searched in the
name) but cannot take built-in ones away: a credential never reaches a file by accident.

Body fields are not credentials but may identify end users (`user`, `metadata`): fixtures
replace them (`redact_body_paths`), the journal keeps them unless configured otherwise
(`journal_redact_body_paths`), because tests read them there.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from mockserver.redaction.masking import MASK as MASK  # what the journal shows for a secret
from mockserver.support.by_identity import ByIdentity

if TYPE_CHECKING:  # config and fixtures import this module: their types only are used here
    from mockserver.config import Settings
    from mockserver.recordings.fixtures import Interaction, RecordedResponse

REDACTED = "REDACTED"  # what fixture files hold in place of a secret

# Header names that always carry a credential, wherever they come from:
# Azure OpenAI (`api-key`), OpenAI (`Authorization`, `OpenAI-Organization`, `OpenAI-Project`),
# Entra ID (`Authorization: Bearer <JWT>`), Azure API Management (`Ocp-Apim-Subscription-Key`),
# Azure Functions (`x-functions-key`), proxies (`Proxy-Authorization`), API gateways (Kong's
# `apikey`, AWS's `x-api-key`, `x-api_key` as some SDKs spell it, `x-auth`, `x-auth-token`),
# Google (`x-goog-api-key`), sessions (`Cookie`, `Set-Cookie`).
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "apikey",
        "api_key",
        "x-api-key",
        "x-api_key",
        "ocp-apim-subscription-key",
        "x-functions-key",
        "x-goog-api-key",
        "openai-organization",
        "openai-project",
        "x-auth",
        "x-auth-token",
        "x-access-token",
        "x-amz-security-token",
        "cookie",
        "set-cookie",
    }
)
# Header names matching any of these (searched, case-insensitive) carry credentials too:
# App Service / Container Apps authentication injects the caller's identity and Entra
# tokens as `x-ms-client-principal*` and `x-ms-token-aad-*`; the rest catch the names
# gateways and applications invent ("x-custom-token", "x-client-secret", "x-tenant-key").
CREDENTIAL_HEADER_PATTERNS = (
    r"^x-ms-client-principal",
    r"^x-ms-token-",
    r"(^|[-_])(api[-_]?)?key$",
    r"(^|[-_])token$",
    r"(^|[-_])auth($|[-_])",
    r"secret",
    r"passw(or)?d",
    r"signature",
    r"credential",
    r"cookie",
)
# Names a pattern catches that carry no secret, and that clients read: Azure's
# `x-ratelimit-key` names the rate-limit bucket (the model, in every real recording),
# `idempotency-key` is a client-chosen request id.
NOT_CREDENTIAL_HEADERS = frozenset({"x-ratelimit-key", "idempotency-key"})
# Correlation ids: clients fill them with a UUID's 32 hex digits, the shape of an Azure key,
# and look requests up by them in the journal. They are ids by name, so that shape alone
# does not mask them (a JWT or `sk-` key inside one still does). The mock's own `x-mock-*`
# control headers (a fault id, a scenario) are treated alike; its admin token is a
# credential by name and is masked before this is asked.
CORRELATION_HEADERS = frozenset(
    {
        "x-ms-client-request-id",
        "x-request-id",
        "apim-request-id",
        "x-ms-request-id",
        "x-correlation-id",
        "request-id",
        "traceparent",
    }
)

# Query parameters that carry credentials: `api-key` (Azure OpenAI behind some proxies),
# `subscription-key` (API Management), `code` (Azure Functions' function key), `sig` (the
# signature of an Azure Storage SAS URL; its `se`, `sv`, `sp` are dates and versions),
# OAuth's `access_token`/`id_token`/`refresh_token`/`client_secret`.
CREDENTIAL_QUERY = frozenset(
    {
        "api-key",
        "api_key",
        "apikey",
        "key",
        "subscription-key",
        "code",
        "sig",
        "access_token",
        "id_token",
        "refresh_token",
        "token",
        "client_secret",
        "password",
    }
)
CREDENTIAL_QUERY_PATTERNS = (
    r"(^|[-_])(api[-_]?)?key$",
    r"(^|[-_])token$",
    r"secret",
    r"passw(or)?d",
    r"signature",
)

# Request body fields that may identify an end user; fixture files replace them by default.
DEFAULT_BODY_PATHS = ("user", "safety_identifier", "metadata")

# The keys Azure has issued for its AI services since 2024: 84 characters with a fixed
# signature ("JQQJ9" at 52), Microsoft's "common annotated security key" (its
# security-utilities, rule SEC101/200, whose pattern this is).
ANNOTATED_KEY = (
    r"[A-Za-z0-9]{52}JQQJ9[9DH][A-Za-z0-9][A-L][A-Za-z0-9]{16}[A-Za-z][A-Za-z0-9]{7}"
    r"(?:[A-Za-z0-9]{2}==)?"
)
# Secrets recognised by the shape of their value, in any text: the `s` group is replaced.
VALUE_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "a JWT",
        re.compile(
            r"(?<![A-Za-z0-9_-])(?P<s>eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)"
        ),
    ),
    (
        "an sk- key",
        re.compile(
            r"(?<![A-Za-z0-9_-])(?P<s>sk-(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])"
            r"[A-Za-z0-9_-]{20,})"
        ),
    ),
    (
        "a credential in a URL query (sig=, code=, api-key=...)",
        re.compile(
            r"[?&;](?i:" + "|".join(re.escape(name) for name in sorted(CREDENTIAL_QUERY)) + r")="
            r"(?P<s>[^&\s\"'#<>\\]+)"
        ),
    ),
    (
        "a bearer token",
        re.compile(r"(?i:\bbearer)\s+(?P<s>(?=[A-Za-z0-9._~+/-]*[0-9])[A-Za-z0-9._~+/-]{16,}=*)"),
    ),
    (
        "an account key",
        re.compile(r"(?i:AccountKey|SharedAccessKey|AccessKey)=(?P<s>[A-Za-z0-9+/]{20,}=*)"),
    ),
    ("a password in a URL", re.compile(r"://[^/\s:@\"']+:(?P<s>[^/\s@\"']+)@")),
    (
        "an annotated Azure key (84 characters)",
        re.compile(r"(?<![A-Za-z0-9])(?P<s>" + ANNOTATED_KEY + r")(?![A-Za-z0-9])"),
    ),
)
# A whole header or query value of this shape is a key whatever its name: Azure's
# resource keys are 32 hexadecimal characters, or annotated keys of 84.
WHOLE_VALUE_SHAPES = (
    ("an Azure key (32 hex)", re.compile(r"[0-9a-fA-F]{32}")),
    ("an annotated Azure key (84 characters)", re.compile(ANNOTATED_KEY)),
)


def is_identifier_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in CORRELATION_HEADERS or lowered.startswith("x-mock-")


# How many header and query names, and clean header values, a policy remembers; past
# that it forgets them all and starts again (names a client invents cannot grow it).
MEMO_SIZE = 1024


@dataclass(frozen=True)
class RedactionPolicy:
    """The built-in deny list plus what the user added, compiled once.

    It remembers its answers: a client sends the same header names (and mostly the same
    values) on every request, and a dict hit costs far less than the ~10 pattern searches
    a name takes. Only values found clean are remembered, so no secret is kept."""

    header_patterns: tuple[re.Pattern[str], ...]
    query_patterns: tuple[re.Pattern[str], ...]
    body_paths: tuple[str, ...] = DEFAULT_BODY_PATHS
    secret_headers: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)
    secret_queries: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)
    clean_values: dict[tuple[str, str], None] = field(
        default_factory=dict, compare=False, repr=False
    )
    clean_query_values: dict[tuple[str, str], None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def secret_header(self, name: str) -> bool:
        known = self.secret_headers.get(name)
        if known is None:
            known = remembered(self.secret_headers, name, self.header_name_is_secret(name))
        return known

    def header_name_is_secret(self, name: str) -> bool:
        lowered = name.lower()
        if lowered in CREDENTIAL_HEADERS:
            return True
        if lowered in NOT_CREDENTIAL_HEADERS:
            return False
        return any(pattern.search(lowered) for pattern in self.header_patterns)

    def secret_query(self, name: str) -> bool:
        known = self.secret_queries.get(name)
        if known is None:
            known = remembered(self.secret_queries, name, self.query_name_is_secret(name))
        return known

    def query_name_is_secret(self, name: str) -> bool:
        lowered = name.lower()
        return lowered in CREDENTIAL_QUERY or any(p.search(lowered) for p in self.query_patterns)

    def headers(self, headers: Mapping[str, str], replacement: str = REDACTED) -> dict[str, str]:
        """Lower-cased names; credentials and secret-shaped values replaced."""
        return {
            name.lower(): self.header_value(name, value, replacement)
            for name, value in headers.items()
        }

    def header_value(self, name: str, value: str, replacement: str = REDACTED) -> str:
        if self.secret_header(name):
            return replacement
        if (name, value) in self.clean_values:
            return value
        if is_identifier_header(name):
            scrubbed = scrub_text(value, replacement)
        else:
            scrubbed = scrub_value(value, replacement)
        if scrubbed == value:  # found clean: whatever the replacement, it stays as it is
            remembered(self.clean_values, (name, value), None)
        return scrubbed

    def query(self, query: Mapping[str, str], replacement: str = REDACTED) -> dict[str, str]:
        return {name: self.query_value(name, value, replacement) for name, value in query.items()}

    def query_value(self, name: str, value: str, replacement: str = REDACTED) -> str:
        if self.secret_query(name):
            return replacement
        if (name, value) in self.clean_query_values:
            return value
        scrubbed = scrub_value(value, replacement)
        if scrubbed == value:
            remembered(self.clean_query_values, (name, value), None)
        return scrubbed

    def body(self, body: Any, replacement: str = REDACTED) -> Any:
        """A copy of a JSON body: `body_paths` replaced, secret-shaped text scrubbed."""
        return scrub_json(replace_paths(body, self.body_paths, replacement), replacement)


Key = TypeVar("Key")
Known = TypeVar("Known")


def remembered(memo: dict[Key, Known], key: Key, answer: Known) -> Known:
    """`answer`, kept in `memo` under `key`; a full memo is emptied first."""
    if len(memo) >= MEMO_SIZE:
        memo.clear()
    memo[key] = answer
    return answer


@cache
def policy(
    extra_headers: tuple[str, ...] = (),
    extra_query: tuple[str, ...] = (),
    body_paths: tuple[str, ...] = DEFAULT_BODY_PATHS,
) -> RedactionPolicy:
    """The deny list with the user's additions (regular expressions searched in names)."""
    return RedactionPolicy(
        header_patterns=_compiled((*CREDENTIAL_HEADER_PATTERNS, *extra_headers)),
        query_patterns=_compiled((*CREDENTIAL_QUERY_PATTERNS, *extra_query)),
        body_paths=body_paths,
    )


def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)


DEFAULT_POLICY = policy()


def fixture_policy(settings: Settings) -> RedactionPolicy:
    """What fixture files leave out: the deny list, the user's names, `redact_body_paths`."""
    return policy(
        tuple(settings.redaction.headers),
        tuple(settings.redaction.query),
        tuple(settings.redaction.body_paths),
    )


def journal_policy(settings: Settings) -> RedactionPolicy:
    """What the journal masks: the same credentials; body fields only when configured.
    Asked on every request: kept for the settings' redaction group, which a change of the
    settings replaces (`Settings.with_changes`)."""
    group = settings.redaction
    known = _JOURNAL_POLICY.get(group)
    if known is None:
        known = policy(tuple(group.headers), tuple(group.query), tuple(group.journal_body_paths))
        _JOURNAL_POLICY.put(group, known)
    return known


_JOURNAL_POLICY: ByIdentity[object, RedactionPolicy] = ByIdentity(entries=16)


# A credential shorter than this is not searched for in answers (a test's key "k" would
# mask every k); real keys and tokens are 32 characters and more.
MIN_LITERAL_SECRET = 8


def sent_secrets(headers: Mapping[str, str], rules: RedactionPolicy) -> list[str]:
    """The credentials a request carried (the api-key, a bearer token), as sent: an upstream
    that echoes one in its answer must not put it in a fixture, whatever its shape."""
    secrets: set[str] = set()
    for name, value in headers.items():
        if rules.secret_header(name):
            secrets.update(part for part in value.split() if len(part) >= MIN_LITERAL_SECRET)
    return sorted(secrets, key=len, reverse=True)  # the longest first: none is left in part


def without_literals(text: str, secrets: list[str]) -> str:
    """`text` with each of `secrets` replaced wherever it stands."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _secret_bytes(secrets: list[str]) -> list[bytes]:
    """`secrets` as a client sent them on the wire (header values: UTF-8, surrogates for
    bytes that were not), longest first as `sent_secrets` ordered them."""
    return [secret.encode("utf-8", "surrogateescape") for secret in secrets]


_REDACTED_BYTES = REDACTED.encode()


def without_literal_bytes(data: bytes, secrets: list[str]) -> bytes:
    """`without_literals` for bytes that are not text (a body kept as base64): each of
    `secrets`, as bytes, replaced by the bytes of REDACTED wherever it stands."""
    for secret in _secret_bytes(secrets):
        if secret in data:
            data = data.replace(secret, _REDACTED_BYTES)
    return data


def literal_bytes_scrub(secrets: list[str]) -> Callable[[Iterable[bytes]], Iterator[bytes]]:
    """What `without_literal_bytes` does, over bytes that come a piece at a time: each piece
    is scrubbed with the tail of the one before it (a secret may be cut between two), and
    that tail, too short to hold a whole secret, waits for the next piece."""
    needles = _secret_bytes(secrets)
    held_back = max((len(needle) for needle in needles), default=1) - 1

    def scrubbed(pieces: Iterable[bytes]) -> Iterator[bytes]:
        carried = b""
        for piece in pieces:
            carried = without_literal_bytes(carried + piece, secrets) if needles else piece
            cut = max(0, len(carried) - held_back)
            if cut:
                yield carried[:cut]
            carried = carried[cut:]
        if carried:
            yield carried

    return scrubbed


class LiteralScrub:
    """`scrub_text`, after replacing each of `secrets` wherever it stands; the secrets are
    kept for a stream's frames, over which an echoed one may be spelt out piece by piece
    (`stream_changes`)."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = secrets

    def __call__(self, text: str) -> str:
        return scrub_text(without_literals(text, self.secrets) if self.secrets else text)


def literal_scrub(secrets: list[str]) -> LiteralScrub:
    return LiteralScrub(secrets)


def redact_interaction(
    interaction: Interaction, rules: RedactionPolicy, secrets: list[str] | None = None
) -> Interaction:
    """An interaction as it may be written to a fixture file: no credential left in, nor
    any of `secrets` (what the request sent) that the answer echoes."""
    request = interaction.request
    clean_request = request.model_copy(
        update={
            "headers": rules.headers(request.headers),
            "query": rules.query(request.query),
            "body": rules.body(request.body),
            "path": scrub_text(request.path),
        }
    )
    return interaction.model_copy(
        update={
            "request": clean_request,
            "response": _redact_response(interaction.response, rules, secrets or []),
        }
    )


def _redact_response(
    response: RecordedResponse, rules: RedactionPolicy, secrets: list[str]
) -> RecordedResponse:
    scrub = literal_scrub(secrets)
    headers = {
        name: without_literals(value, secrets)
        for name, value in rules.headers(response.headers).items()
    }
    if getattr(response, "encoding", "utf-8") != "utf-8":  # base64 of bytes: only literals
        return _without_sent_bytes(response.model_copy(update={"headers": headers}), secrets)
    frames = response.frames
    datas = scrub_stream([scrub(frame.data) for frame in frames or []], secrets=secrets)
    return response.model_copy(
        update={
            "headers": headers,
            "body": None if response.body is None else scrub(response.body),
            "frames": None
            if frames is None
            else [f.model_copy(update={"data": d}) for f, d in zip(frames, datas, strict=True)],
        }
    )


def _without_sent_bytes(response: RecordedResponse, secrets: list[str]) -> RecordedResponse:
    """A base64 answer with the bytes of each of `secrets` replaced in its body and frames
    (decoded, scrubbed, encoded again). No secret spans two frames: a frame ends with a
    blank line, and a secret holds no white space."""
    if not secrets:
        return response

    def scrubbed(text: str) -> str:
        data = base64.b64decode(text)
        clean = without_literal_bytes(data, secrets)
        return text if clean == data else base64.b64encode(clean).decode()

    frames = response.frames
    return response.model_copy(
        update={
            "body": None if response.body is None else scrubbed(response.body),
            "frames": None
            if frames is None
            else [f.model_copy(update={"data": scrubbed(f.data)}) for f in frames],
        }
    )


# --- values ------------------------------------------------------------------------------


class _Candidate:
    """A text to scrub, and its lower-cased form, made once if a gate asks for it."""

    __slots__ = ("lowered_text", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.lowered_text: str | None = None

    def lowered(self) -> str:
        if self.lowered_text is None:
            self.lowered_text = self.text.lower()
        return self.lowered_text

    def holds(self, rare: str, literal: str) -> bool:
        """`literal` in the text; `rare` (one of its characters) is looked for first,
        by memchr, which on most text says no at once."""
        return rare in self.text and literal in self.text

    def holds_before(self, rare: str, prefix: str) -> bool:
        """`prefix + rare` in the text, looked for at each `rare` (by memchr) while they
        are few: a substring search costs ~0.7 ns a character (80 us on a 115 KB prompt
        with one hyphen in it), memchr a few hundred times less."""
        text, width = self.text, len(prefix)
        at = text.find(rare)
        for _ in range(_RARE_STEPS):
            if at < 0:
                return False
            if at >= width and text.startswith(prefix, at - width):
                return True
            at = text.find(rare, at + 1)
        return at >= 0 and prefix + rare in text


# How many occurrences of a gate's rare character are checked one by one before the
# gate searches for its whole literal (text full of hyphens: one search, not thousands
# of steps).
_RARE_STEPS = 16


# One gate per VALUE_SHAPES entry, in the same order: a literal every match of that shape
# contains, so when its gate says no the shape cannot match and is not run. Literal tests
# cost ~1 ns a character; the shapes' case-insensitive alternatives defeat the regex
# engine's own literal scan (28 ns a character). A gate may say yes where its shape finds
# nothing: the shape then decides. Case-insensitive literals are looked for in the text
# lower-cased, which is sound because no character but ASCII ones folds to b, e, a, r, k,
# y (the Kelvin sign lower-cases to "k"; tests/unit/test_redaction_gates.py checks it all).
_SHAPE_GATES: tuple[Callable[[_Candidate], bool], ...] = (
    lambda t: t.holds("J", "eyJ"),  # a JWT
    lambda t: t.holds_before("-", "sk"),  # an sk- key
    lambda t: "=" in t.text and ("?" in t.text or "&" in t.text or ";" in t.text),  # [?&;]name=
    lambda t: ("b" in t.text or "B" in t.text) and "bearer" in t.lowered(),  # (?i:bearer)
    lambda t: "=" in t.text and "key=" in t.lowered(),  # (?i:...AccessKey|AccountKey)=
    lambda t: "@" in t.text and t.holds(":", "://"),  # ://user:password@
    lambda t: t.holds("Q", "JQQJ9"),  # an annotated key
)


def scrub_text(text: str, replacement: str = REDACTED) -> str:
    """`text` with every secret-shaped part replaced (the rest kept byte for byte)."""
    if text in _UNGATED_TEXTS:
        return text
    candidate = _Candidate(text)
    gated = False
    for (_, shape), may_match in zip(VALUE_SHAPES, _SHAPE_GATES, strict=True):
        if may_match(candidate):  # asked of the text as the shapes before left it
            gated = True
            scrubbed = shape.sub(lambda match: _replaced(match, replacement), candidate.text)
            candidate = candidate if scrubbed == candidate.text else _Candidate(scrubbed)
    if not gated and len(text) <= UNGATED_TEXT_SIZE:
        remembered(_UNGATED_TEXTS, text, None)
    return candidate.text


# Short texts no gate let through: no shape can match them, whatever the replacement, so
# they hold no secret. The same paths and small bodies come back on every request.
UNGATED_TEXT_SIZE = 1024
_UNGATED_TEXTS: dict[str, None] = {}


def shapes_that_may_match(text: str) -> list[tuple[str, re.Pattern[str]]]:
    """The VALUE_SHAPES whose gate lets `text` through: the others cannot match it."""
    candidate = _Candidate(text)
    return [
        shape
        for shape, may_match in zip(VALUE_SHAPES, _SHAPE_GATES, strict=True)
        if may_match(candidate)
    ]


def _replaced(match: re.Match[str], replacement: str) -> str:
    whole, start, end = match.group(0), match.start("s"), match.end("s")
    return whole[: start - match.start()] + replacement + whole[end - match.start() :]


def scrub_bytes(data: bytes, replacement: str = MASK) -> bytes:
    """An error body with secret-shaped text masked (Azure echoes a rejected value, and a
    key pasted into the wrong field must not come back); `data` itself if none is found."""
    text = data.decode("utf-8", "surrogateescape")
    scrubbed = _mask_quoted_keys(scrub_text(text, replacement), replacement)
    return data if scrubbed == text else scrubbed.encode("utf-8", "surrogateescape")


# A key-shaped value as an error message quotes it (`Invalid value: '<32 hex>'`) or as
# `param` holds it: quoted on both sides, so a key-shaped part of a longer word is kept.
_QUOTED_WHOLE_VALUES = tuple(
    re.compile(r"(?<=['\"])(?:" + shape.pattern + r")(?=['\"])") for _, shape in WHOLE_VALUE_SHAPES
)


def _mask_quoted_keys(text: str, replacement: str) -> str:
    for quoted in _QUOTED_WHOLE_VALUES:
        text = quoted.sub(replacement, text)
    return text


def scrub_value(value: str, replacement: str = REDACTED) -> str:
    """A header or query value: a key-shaped whole value goes, or secret-shaped parts."""
    if any(shape.fullmatch(value) for _, shape in WHOLE_VALUE_SHAPES):
        return replacement
    return scrub_text(value, replacement)


def scrub_json(node: Any, replacement: str = REDACTED) -> Any:
    """A JSON value with every string scrubbed (keys included); `node` itself when nothing
    was found. Scrubbed as its serialized text: no secret shape spans a JSON quote, and
    one pass of the expressions over the text is cheaper than a walk in Python."""
    try:
        data = orjson.dumps(node)
    except (orjson.JSONEncodeError, TypeError):
        # Nested deeper than orjson serializes (255 levels), or not JSON: nothing in it is
        # looked at, so nothing of it is kept.
        return replacement
    scrubbed = scrub_serialized(data, replacement)
    return node if scrubbed is None else scrubbed


def scrub_serialized(data: bytes, replacement: str = REDACTED) -> Any | None:
    """JSON as orjson wrote it, scrubbed: the value with every secret-shaped string
    replaced, or None when there was none (a replaced value is never null: the replacement
    lands inside a string)."""
    text = data.decode()
    scrubbed = scrub_text(text, replacement)
    return None if scrubbed == text else orjson.loads(scrubbed)


def replace_paths(body: Any, paths: tuple[str, ...], replacement: str = REDACTED) -> Any:
    """A copy of `body` whose values at dotted paths (`metadata.user_email`) are replaced."""
    for path in paths:
        body = _replace_path(body, path.split("."), replacement)
    return body


def _replace_path(node: Any, parts: list[str], replacement: str) -> Any:
    if not parts or not isinstance(node, dict) or parts[0] not in node:
        return node
    head, rest = parts[0], parts[1:]
    value = _replace_path(node[head], rest, replacement) if rest else replacement
    return {**node, head: value}


def shapes_in(text: str) -> list[str]:
    """The kinds of secret-shaped text in `text` (never the text itself)."""
    return [
        name
        for name, shape in shapes_that_may_match(text)
        if any(_unredacted(m) for m in shape.finditer(text))
    ]


def _unredacted(match: re.Match[str]) -> bool:
    return match.group("s") not in (REDACTED, MASK)


def value_shapes_in(value: str) -> list[str]:
    """`shapes_in` for a header or query value, whose whole value may be a key."""
    whole = [name for name, shape in WHOLE_VALUE_SHAPES if shape.fullmatch(value)]
    return whole + shapes_in(value)


def strings_in(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string of a JSON value with its path (`body.messages[0].content`)."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}.{key}", str(key)
            yield from strings_in(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from strings_in(item, f"{path}[{index}]")


# --- streams: a secret spelled out over several frames -------------------------------------


Where = tuple[str | int, ...]  # the path to a string inside a frame's JSON


@dataclass(frozen=True)
class Piece:
    """One delta of streamed text: in which frame, where in its event, what it says."""

    frame: int
    where: Where
    text: str


def stream_pieces(frames: Iterable[str]) -> dict[str, list[Piece]]:
    """The texts a stream spells out (a chat choice's content, a Responses item's text),
    each as its pieces in order: a key the model repeats arrives token by token."""
    texts: dict[str, list[Piece]] = {}
    for index, frame in enumerate(frames):
        for which, where, text in _deltas(_event(frame)):
            texts.setdefault(which, []).append(Piece(index, where, text))
    return texts


def _event(frame: str) -> Any:
    data = frame.strip()
    if not data.startswith("data:"):
        return None
    try:
        return orjson.loads(data.removeprefix("data:").strip())
    except orjson.JSONDecodeError:
        return None


def _deltas(event: Any) -> list[tuple[str, Where, str]]:
    if not isinstance(event, dict):
        return []
    if isinstance(event.get("delta"), str):  # Responses: response.output_text.delta, ...
        return [(f"item {event.get('item_id')}", ("delta",), event["delta"])]
    found: list[tuple[str, Where, str]] = []
    for position, choice in enumerate(event.get("choices") or []):
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict) and isinstance(delta.get("content"), str):
            where: Where = ("choices", position, "delta", "content")
            found.append((f"choice {choice.get('index')}", where, delta["content"]))
    return found


def scrub_stream(
    frames: list[str], replacement: str = REDACTED, secrets: Sequence[str] = ()
) -> list[str]:
    """SSE frames with a secret spread over several deltas replaced: the piece where it
    starts says `replacement`, the pieces after lose its characters; other frames as they were.
    A secret is secret-shaped text, or any of `secrets` (what the request sent)."""
    changes = stream_changes(frames, replacement, secrets)
    return [rewrite_frame(f, changes[i]) if i in changes else f for i, f in enumerate(frames)]


def stream_changes(
    frames: Iterable[str], replacement: str = REDACTED, secrets: Sequence[str] = ()
) -> dict[int, dict[Where, str]]:
    """What `scrub_stream` changes, by frame number: one pass over the frames (which a
    recorder may keep on disk) to learn it, `rewrite_frame` on the second to apply it."""
    changed: dict[int, dict[Where, str]] = {}
    for pieces in stream_pieces(frames).values():
        spans = _secret_spans("".join(piece.text for piece in pieces), secrets)
        for piece, text in _cut(pieces, spans, replacement):
            changed.setdefault(piece.frame, {})[piece.where] = text
    return changed


def _secret_spans(text: str, secrets: Sequence[str] = ()) -> list[tuple[int, int]]:
    shaped = [
        (match.start("s"), match.end("s"))
        for _, shape in shapes_that_may_match(text)
        for match in shape.finditer(text)
        if _unredacted(match)
    ]
    return shaped + [span for secret in secrets for span in _literal_spans(text, secret)]


def _literal_spans(text: str, secret: str) -> Iterator[tuple[int, int]]:
    at = text.find(secret)
    while at >= 0:
        yield at, at + len(secret)
        at = text.find(secret, at + len(secret))


def _cut(
    pieces: list[Piece], spans: list[tuple[int, int]], replacement: str
) -> Iterator[tuple[Piece, str]]:
    secrets = _Secrets.of(spans)
    offset = 0
    for piece in pieces:
        kept = secrets.kept(piece.text, offset, replacement)
        offset += len(piece.text)
        if kept != piece.text:
            yield piece, kept


@dataclass(frozen=True)
class _Secrets:
    """Where secrets lie in a joined stream text: what they cover (merged, in order) and
    where each begins. Sorted once, so a piece finds its own by bisection: the cut is
    linear in the text and the secrets, however many of them a long stream holds."""

    covered: list[tuple[int, int]]
    ends: list[int]
    starts: list[int]

    @classmethod
    def of(cls, spans: list[tuple[int, int]]) -> _Secrets:
        covered: list[tuple[int, int]] = []
        for start, end in sorted(span for span in spans if span[0] < span[1]):
            if covered and start <= covered[-1][1]:
                covered[-1] = (covered[-1][0], max(covered[-1][1], end))
            else:
                covered.append((start, end))
        starts = sorted({start for start, end in spans if start < end})
        return cls(covered, [end for _, end in covered], starts)

    def kept(self, text: str, offset: int, replacement: str) -> str:
        """A piece's text (at `offset` in the joined text) without the secrets' characters,
        `replacement` where each secret begins."""
        end, position = offset + len(text), offset
        parts = []
        index = bisect_right(self.ends, offset)  # the first secret ending after `offset`
        while index < len(self.covered) and self.covered[index][0] < end:
            low, high = max(self.covered[index][0], offset), min(self.covered[index][1], end)
            parts.append(text[position - offset : low - offset])
            parts.append(replacement * self._starts_within(low, high))
            position, index = high, index + 1
        parts.append(text[position - offset :])
        return "".join(parts)

    def _starts_within(self, low: int, high: int) -> int:
        return bisect_left(self.starts, high) - bisect_left(self.starts, low)


def rewrite_frame(frame: str, texts: dict[Where, str]) -> str:
    event = _event(frame)
    for where, text in texts.items():
        node = event
        for step in where[:-1]:
            node = node[step]
        node[where[-1]] = text
    return "data: " + json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n\n"


# --- finding what was left in ------------------------------------------------------------


def leaks(interaction: Interaction, rules: RedactionPolicy = DEFAULT_POLICY) -> list[str]:
    """Everything in a fixture this deny list would have taken out, named by field and
    kind (never by value): what `fixtures check` reports."""
    request, response = interaction.request, interaction.response
    found = _named_leaks("request header", request.headers, rules.secret_header)
    found += _named_leaks("response header", response.headers, rules.secret_header)
    found += _named_leaks("query parameter", request.query, rules.secret_query)
    found += _body_field_leaks(request.body, rules)
    texts = [("request path", request.path), *strings_in(request.body, "request body")]
    if getattr(response, "encoding", "utf-8") == "utf-8":  # base64 of bytes: no text
        datas = [frame.data for frame in response.frames or []]
        texts.append(("response body", response.body or ""))
        texts += [(f"response frame {i}", data) for i, data in enumerate(datas)]
        texts += [
            (f"response stream ({which}, over several frames)", "".join(p.text for p in pieces))
            for which, pieces in stream_pieces(datas).items()
        ]
    return found + _text_leaks(texts)


def _named_leaks(
    what: str, values: Mapping[str, str], is_secret: Callable[[str], bool]
) -> list[str]:
    """A credential by its name, or a value of a secret shape whatever the name."""
    found = []
    for name, value in values.items():
        if value == REDACTED:
            continue
        if is_secret(name):
            kinds = ["a credential"]
        elif is_identifier_header(name):
            kinds = shapes_in(value)
        else:
            kinds = value_shapes_in(value)
        found += [f"{what} {name!r} holds {kind}" for kind in kinds]
    return found


def _body_field_leaks(body: Any, rules: RedactionPolicy) -> list[str]:
    return [
        f"request body field {path!r} is not redacted"
        for path in rules.body_paths
        if _at(body, path.split(".")) not in (None, REDACTED)
    ]


def _at(node: Any, parts: list[str]) -> Any:
    for part in parts:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _text_leaks(texts: list[tuple[str, str]]) -> list[str]:
    return [f"{where} holds {shape}" for where, text in texts for shape in shapes_in(text)]


# --- logs --------------------------------------------------------------------------------


class SecretFilter(logging.Filter):
    """Scrubs secret-shaped text from log records (message, arguments and traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub_text(_message(record), MASK), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub_text(record.exc_text, MASK)
        return True


def _message(record: logging.LogRecord) -> str:
    """The record's message; for a bad call (`log.warning("%s %s", "one")`) its format and
    arguments side by side: a log call never raises, and no argument goes unscrubbed."""
    try:
        return record.getMessage()
    except (TypeError, ValueError, KeyError):
        return f"{record.msg} {record.args!r}"


def install_log_filter(*targets: logging.Logger | logging.Handler) -> None:
    """Put a `SecretFilter` on each target (once): on a handler it sees every record
    written through it, a library's included; on a logger, that logger's own records."""
    for target in targets:
        if not any(isinstance(f, SecretFilter) for f in target.filters):
            target.addFilter(SecretFilter())
