"""Hostile but well-framed HTTP for fuzzing the server: what to send, what every answer must be.

    from hypothesis import given
    from tests.fuzzing import hostile_requests, problems, send

    @given(request=hostile_requests())
    def test_my_server(request):
        assert problems(request, send(port, request)) == []

Each `HostileRequest` is HTTP/1.1 with correct framing (a true Content-Length, or valid
chunks) and hostile contents: odd methods and paths, huge, many or non-UTF-8 headers,
wrong content types and encodings, bodies deeply nested, full of huge numbers, not UTF-8,
or valid chat requests with one field replaced. `problems` says what is wrong with an
answer: a 5xx nobody asked for with `x-mock-fault`, an error body outside Azure's
envelope, no answer at all.

`python -m bench.fuzz` sends 10,000 of them to `mockserver serve`; the suite sends a few
hundred (tests/property/test_server_fuzz.py). Needs hypothesis, a dev dependency.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import socket
import string
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

try:
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover - depends on the installation
    raise ImportError("tests.fuzzing needs hypothesis: pip install 'mockserver[dev]'") from error

from tests.strategies import chat_requests

# Faults that end a request without a whole answer, on purpose (see mockserver.faults.kinds;
# garbage garbles a stream, then cuts it).
DROPPING_FAULTS = frozenset({"reset", "truncate", "cut-stream", "garbage"})
DATED = "/openai/deployments/{deployment}/chat/completions"


@dataclass(frozen=True)
class HostileRequest:
    method: str
    target: str  # path and query, as sent
    headers: tuple[tuple[str, bytes], ...] = ()
    body: bytes = b""
    chunked: bool = False

    @property
    def fault(self) -> str:
        """The x-mock-fault asked for ('' for none)."""
        for name, value in self.headers:
            if name.lower() == "x-mock-fault":
                return value.decode("latin-1").strip().lower()
        return ""

    def to_bytes(self) -> bytes:
        head = [f"{self.method} {self.target} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
        head += [name.encode() + b": " + value for name, value in self.headers]
        framing = b"Transfer-Encoding: chunked" if self.chunked else b"Content-Length: %d"
        head += [framing if self.chunked else framing % len(self.body), b"Connection: close"]
        payload = _chunks(self.body) if self.chunked else self.body
        return b"\r\n".join(head) + b"\r\n\r\n" + payload


def _chunks(body: bytes, size: int = 1000) -> bytes:
    pieces = [body[start : start + size] for start in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no whole answer (see `error`)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""


def send(port: int, request: HostileRequest, timeout: float = 60.0) -> Answer:
    """Send `request` on a new connection to 127.0.0.1:`port`; the answer, or why none."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        # An answer may come, and the connection close, before all is sent (a 400 on the
        # headers): what it said is still read below.
        with contextlib.suppress(OSError):
            sock.sendall(request.to_bytes())
        response = http.client.HTTPResponse(sock, method=request.method)
        try:
            response.begin()
            body = response.read()
        except (http.client.HTTPException, OSError) as error:
            return Answer(0, error=f"{type(error).__name__}: {error}")
        headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, headers, body)


def problems(request: HostileRequest, answer: Answer) -> list[str]:
    """What is wrong with `answer` to `request` (nothing: an empty list)."""
    fault = request.fault
    if answer.status == 0:
        return [] if fault in DROPPING_FAULTS else [f"no answer: {answer.error}"]
    found = []
    if answer.status >= 500 and fault != str(answer.status):
        found.append(f"{answer.status} without an x-mock-fault asking for it")
    if answer.status >= 400 and request.method != "HEAD" and not is_error_body(answer.body):
        found.append(f"{answer.status} with a body outside Azure's envelope: {answer.body[:300]!r}")
    return found


def is_error_body(body: bytes) -> bool:
    """Azure's envelope {"error": {"message": ...}}, or the flat 401 of a bad Entra token."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    if not isinstance(parsed, dict):
        return False
    error = parsed.get("error", parsed)  # the flat one: {"statusCode": 401, "message": ...}
    return isinstance(error, dict) and isinstance(error.get("message"), str)


# --- the requests ---------------------------------------------------------------------------

_WEIRD_TEXT = st.text(max_size=30) | st.sampled_from(["", " ", "\u0000", "\ud7ff", "é" * 40])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _WEIRD_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_WEIRD_TEXT, inner, max_size=4),
    max_leaves=15,
)
# Numbers JSON allows and no 64-bit type holds, and spellings some parsers reject.
HUGE_NUMBERS = [
    b"1e400",
    b"-1e400",
    b"1E+99999",
    b"123456789012345678901234567890123456789",
    b"-0",
    b"0.0000000000000000000000000000000000000001",
    b"9" * 5000,
    b"1" + b"0" * 400 + b".5",
]


def _dumped(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def _replaced_field(draw: st.DrawFn) -> bytes:
    """A valid chat request with one field (existing or not) set to something hostile."""
    body = draw(chat_requests(max_n=2))
    name = draw(st.sampled_from(sorted(body)) | st.sampled_from(_PARAMETERS))
    raw = draw(st.sampled_from(HUGE_NUMBERS) | _JSON.map(_dumped) | _nested())
    body[name] = "\x00placeholder\x00"
    return _dumped(body).replace(b'"\\u0000placeholder\\u0000"', raw)


_PARAMETERS = [
    "messages",
    "max_completion_tokens",
    "n",
    "seed",
    "stop",
    "tools",
    "tool_choice",
    "response_format",
    "reasoning_effort",
    "stream",
    "stream_options",
    "model",
    "user",
    "metadata",
    "temperature",
]


def _nested() -> st.SearchStrategy[bytes]:
    depths = st.sampled_from([10, 100, 1000, 5000, 100_000])
    arrays = depths.map(lambda depth: b"[" * depth + b"]" * depth)
    objects = depths.map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth)
    return arrays | objects


def _in_content(raw: bytes) -> bytes:
    return b'{"messages":[{"role":"user","content":' + raw + b"}]}"


_NOT_UTF8 = st.sampled_from(
    [
        _in_content(b'"\xff\xfe"'),
        _in_content(b'"\xc0\xaf"'),  # an overlong '/'
        _in_content(b'"\xed\xa0\x80"'),  # a surrogate, encoded
        _in_content(b'"\\ud800"'),  # a lone surrogate, escaped
        b'\xef\xbb\xbf{"messages":[{"role":"user","content":"hi"}]}',  # a BOM
        '{"messages":[{"role":"user","content":"hé"}]}'.encode("utf-16"),
        '{"messages":[{"role":"user","content":"hé"}]}'.encode("latin-1"),
    ]
)


def bodies() -> st.SearchStrategy[bytes]:
    """Half valid chat requests, some with a field replaced; half hostile shapes."""
    valid = chat_requests(max_n=2).map(_dumped) | chat_requests(max_n=2, model="o3-mini").map(
        _dumped
    )
    return st.one_of(
        *[valid] * 8,
        _replaced_field(),
        _replaced_field(),
        _nested(),
        _nested().map(_in_content),
        st.sampled_from(HUGE_NUMBERS).map(_in_content),
        _NOT_UTF8,
        _JSON.map(_dumped),
        st.binary(max_size=2000),
        st.integers(1, 200_000).map(lambda size: _in_content(_dumped("a" * size))),
        st.just(b""),
    )


_DEPLOYMENTS = st.sampled_from(["o3-mini", "", "..", "%00", "%ff", "a" * 300, "o3-mini%2F..", "ß"])
_VERSIONS = st.sampled_from(
    ["2025-04-01-preview", "2024-10-21", "v1", "", "2025-13-45", "%00", "a" * 2000, "preview"]
)


PLAUSIBLE_TARGETS = [
    DATED.format(deployment="o3-mini") + "?api-version=2025-04-01-preview",
    DATED.format(deployment="o3-mini") + "?api-version=2024-12-01-preview",
    "/openai/v1/chat/completions",
]


def targets() -> st.SearchStrategy[str]:
    """Mostly the chat routes as clients call them; else odd paths, versions and queries."""
    plausible = st.sampled_from(PLAUSIBLE_TARGETS)
    return st.one_of(plausible, plausible, plausible, _odd_targets())


@st.composite
def _odd_targets(draw: st.DrawFn) -> str:
    deployment = quote(draw(_DEPLOYMENTS), safe="%")
    version = quote(draw(_VERSIONS), safe="%")
    path = draw(
        st.sampled_from(
            [
                DATED.format(deployment=deployment),
                "/openai/v1/chat/completions",
                "/openai/v1/responses",
                "/openai/v1/models",
                f"/openai/deployments/{deployment}/completions",
                f"/openai/deployments/{deployment}/embeddings",
                "/",
                "/__admin/health",
                "/openai/../__admin/health",
            ]
        )
        | st.text(string.ascii_letters + "/%.-_~", max_size=200).map(lambda text: "/" + text)
        | st.integers(100, 7000).map(lambda size: "/openai/" + "a" * size)
    )
    query = draw(
        st.sampled_from(
            [f"?api-version={version}", "", f"?api-version={version}&api-version=v1", "?"]
        )
        | st.integers(1, 1000).map(lambda n: "?" + "&".join(f"p{i}=1" for i in range(n)))
    )
    return path + query


_METHODS = st.sampled_from(
    ["POST"] * 24
    + ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    + ["TRACE", "PROPFIND", "QUERY", "post", "X-CUSTOM", "M-SEARCH"]
)
_CONTENT_TYPES = st.sampled_from(
    [
        b"application/json",
        b"text/plain",
        b"application/x-www-form-urlencoded",
        b"multipart/form-data; boundary=x",
        b"application/json; charset=utf-16",
        b"application/json; charset=latin-1",
        b"",
        b"*/*",
        b"application/xml",
        b"\xff\xfe",
    ]
)
_KEYS = st.sampled_from([b"any-key"] * 6 + [b"", b" ", b"\xff\xfe", b"k" * 8000])
_FAULTS = st.sampled_from(
    [
        *(b"429", b"500", b"503", b"408", b"400", b"599", b"capacity", b"reset", b"truncate"),
        *(b"garbage", b"cut-stream", b"stream-error", b"nonsense", b"600", b"-1", b"\xff"),
    ]
)
_HEADER_VALUES = st.binary(max_size=50).filter(
    lambda value: b"\r" not in value and b"\n" not in value
)


@st.composite
def header_sets(draw: st.DrawFn) -> tuple[tuple[str, bytes], ...]:
    headers: list[tuple[str, bytes]] = []
    if draw(st.integers(0, 9)):
        headers.append(("api-key", draw(_KEYS)))
    if draw(st.integers(0, 2)):
        headers.append(("Content-Type", b"application/json"))
    elif draw(st.booleans()):
        headers.append(("Content-Type", draw(_CONTENT_TYPES)))
    optional = {
        "Authorization": st.sampled_from([b"Bearer x", b"Basic eDp5", b"Bearer " + b"t" * 5000]),
        "x-mock-fault": _FAULTS,
        "x-ms-client-request-id": _HEADER_VALUES,
        "Accept": st.sampled_from([b"text/event-stream", b"*/*", b"\xff"]),
        "Expect": st.just(b"100-continue"),
        "X-Big": st.sampled_from([100, 4000, 8100, 9000, 70_000]).map(lambda size: b"a" * size),
        "x-mock-latency": st.sampled_from([b"ttft_ms=1", b"nonsense", b"ttft_ms=-5", b"jitter=2"]),
    }
    for name in draw(st.lists(st.sampled_from(sorted(optional)), max_size=2, unique=True)):
        headers.append((name, draw(optional[name])))
    many = draw(st.sampled_from([0] * 12 + [20, 200]))
    headers += [(f"X-Many-{index}", b"v") for index in range(many)]
    return tuple(headers)


@st.composite
def hostile_requests(draw: st.DrawFn) -> HostileRequest:
    """One hostile but well-framed request (see the module's docstring)."""
    method = draw(_METHODS)
    headers = draw(header_sets())
    body = draw(bodies())
    if draw(st.integers(0, 19)) == 0:
        return _encoded(method, draw(targets()), headers, body, draw(st.booleans()))
    return HostileRequest(method, draw(targets()), headers, body, chunked=draw(st.booleans()))


def _encoded(
    method: str, target: str, headers: tuple[tuple[str, bytes], ...], body: bytes, honest: bool
) -> HostileRequest:
    """Content-Encoding: gzip, on a gzipped body (honest) or a plain one (not)."""
    payload = gzip.compress(body) if honest else body
    return HostileRequest(method, target, (*headers, ("Content-Encoding", b"gzip")), payload)
