"""The bytes of an answer, as aiohttp's front writes them.

Each head is built in the order aiohttp builds it: the answer's own headers, the
framing (Content-Length, or Transfer-Encoding for chunks), Date, Connection when the
connection closes after it, then the gateway's headers (`header_finisher`), without
aiohttp's `Server`. The serializer is aiohttp's own, so a header that would be refused
there is refused here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple, Protocol

from aiohttp.helpers import EMPTY_BODY_STATUS_CODES, rfc822_formatted_time
from aiohttp.http_writer import _serialize_headers
from aiohttp.web_response import REASON_PHRASES
from multidict import CIMultiDict

from mockserver.contract.headers import PER_ANSWER_MODEL_HEADERS, gateway_headers

OCTET_STREAM = "application/octet-stream"  # aiohttp's Content-Type for a body with none
LAST_CHUNK = b"0\r\n\r\n"


class Wire(Protocol):
    """What a lane connection offers the writers."""

    def write(self, data: bytes) -> None:
        """Send; raises ConnectionResetError once the client has gone."""

    def write_all(self, pieces: list[bytes]) -> None:
        """Send the pieces in order as one write, on uvloop without joining them first (a
        stream's blocks are ~100 KB); raises ConnectionResetError once the client has gone."""

    def write_soon(self, data: bytes) -> None:
        """Send a whole answer with the others the event loop has in hand, in order with
        anything else sent; raises ConnectionResetError once the client has gone."""

    async def drain(self) -> None:
        """Return once the client has read enough of what was sent."""

    def abort(self) -> None:
        """Drop the connection at once: the client sees it cut."""

    def is_closing(self) -> bool: ...


class Asker(NamedTuple):
    """What every head says of the request it answers."""

    request_id: str
    headers: Mapping[str, str]
    region: str
    keep_alive: bool


class Status(NamedTuple):
    """An answer's status line, and what of it changes the gateway's headers."""

    code: int
    reason: str | None = None
    error_name: str = ""  # the catalogue error it carries: some carry fewer headers
    no_content_type: bool = False  # Azure sends some answers with no Content-Type at all


OK = Status(200)


class OwnHead(NamedTuple):
    """An answer's own headers as they are written at the top of every head it goes out
    with (a recording replayed again and again): made once, and what the head adds after
    them goes by their names."""

    lines: bytes  # "name: value\r\n" each, as aiohttp's serializer writes them
    names: frozenset[str]  # lower-cased


def own_head(headers: Mapping[str, str]) -> OwnHead | None:
    """None for headers the head would change themselves (framing) or refuse (a control
    character), which go the long way: `head_bytes`, and its error."""
    names = frozenset(name.lower() for name in headers)
    if names & FRAMING:
        return None
    try:
        return OwnHead(_serialize_headers("", CIMultiDict(headers))[2:-2], names)
    except ValueError:
        return None


FRAMING = frozenset({"content-length", "transfer-encoding"})


@dataclass(slots=True)
class Ready:
    """A whole answer, made but not yet sent: the journal and the metrics see it first."""

    status: Status
    body: bytes
    # A CIMultiDict, or the plain dict of an answer the mock made (`head_of`) or of a
    # recording's own headers (`head_after`): never changed here (`writable` copies it).
    headers: Mapping[str, str]
    chunked: bool = False  # Azure sends some errors in chunks, with no Content-Length
    written_by_orjson: bool = False  # for the journal: the bytes are orjson's own
    own: OwnHead | None = None  # `headers` written already, when they are an answer's own


class Sent(NamedTuple):
    """An answer carried out as it went (a stream, a relayed answer, a cut, a reset):
    nothing is left to write."""

    code: int
    headers_sent: bool  # False: the connection ended before any answer


def bodiless(code: int) -> bool:
    """A status whose answer has no body (aiohttp's `must_be_empty_body` for a POST)."""
    return code in EMPTY_BODY_STATUS_CODES


def ready_bytes(ready: Ready, asker: Asker) -> bytes:
    """The whole answer on the wire: its head and its body (one chunk, when chunked)."""
    body, status = ready.body, ready.status
    if bodiless(status.code):
        return head_bytes(status, writable(ready.headers), asker, 0)
    whole_with_type = not ready.chunked and not status.no_content_type
    if whole_with_type and ready.own is not None:
        return head_after(status, ready.own, asker, len(body)) + body
    if whole_with_type and type(ready.headers) is dict:
        return head_of(status, ready.headers, asker, len(body)) + body
    if not ready.chunked:
        return head_bytes(status, writable(ready.headers), asker, len(body)) + body
    head = head_bytes(status, writable(ready.headers), asker, None)
    return head + (b"%x\r\n%b\r\n%b" % (len(body), body, LAST_CHUNK) if body else LAST_CHUNK)


def head_bytes(
    status: Status, headers: CIMultiDict[str], asker: Asker, length: int | None
) -> bytes:
    """The status line and headers; `length`: the body's, or None for chunks."""
    if bodiless(status.code):  # (a recorded or relayed 204, 304, 1xx: no framing at all)
        headers.popall("Content-Length", None)
        headers.popall("Transfer-Encoding", None)
    elif length is None:
        headers["Transfer-Encoding"] = "chunked"
    headers.extend(_added(status, asker, length, headers.__contains__))
    if status.no_content_type:
        headers.popall("Content-Type", None)
    return _serialize_headers(_status_line(status), headers)


def stream_head(headers: dict[str, str], asker: Asker) -> bytes:
    """The head of a 200 stream: from the dict (`head_of`) unless it names a
    Transfer-Encoding of its own (a stub may), which only the long way replaces."""
    if "transfer-encoding" in _lowered_names(headers):
        return head_bytes(OK, CIMultiDict(headers), asker, None)
    return head_of(OK, headers, asker, None)


def writable(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """Headers `head_bytes` can complete: the CIMultiDict itself, or a copy of a dict."""
    return headers if isinstance(headers, CIMultiDict) else CIMultiDict(headers)


def head_of(status: Status, headers: dict[str, str], asker: Asker, length: int | None) -> bytes:
    """`head_bytes` for a body of `length` bytes (None: in chunks) whose headers are a
    plain dict (an answer the mock made) that names no Transfer-Encoding, when the status
    keeps a Content-Type: the same bytes (tested). An answer the mock made has the same
    head as the last one but for a few values (its Date, length, request ids, rate-limit
    counts): made once as a `_Template` for each shape (the names, the values that stay,
    status, framing, connection, region, and whether the client sent an id), and filled
    with the values of this answer."""
    shape = _shape_of(tuple(headers))
    values = tuple(headers.values())
    changing = shape.changing(values)
    client_id = asker.headers.get(CLIENT_REQUEST_ID, "")
    if not _sendable("".join(changing) + client_id + asker.request_id):  # the long way
        return _head_of(status, headers, asker, length)
    framing = (length is None, length == 0, asker.keep_alive)
    key = (shape, shape.staying(values), status, framing, asker.region, bool(client_id))
    template = _DICT_HEADS.get(key)
    if template is None:
        if len(_DICT_HEADS) >= HEAD_TEMPLATES:
            _DICT_HEADS.clear()
        template = _DICT_HEADS[key] = _made_head(status, headers, shape, asker, length)
    if template is None:  # a text that stays holds a mark, or too many holes: the long way
        return _head_of(status, headers, asker, length)
    length_text = "" if length is None else str(length)
    return template.fill(
        (rfc822_formatted_time(), asker.request_id, client_id, length_text, *changing)
    )


def _head_of(
    status: Status,
    headers: dict[str, str],
    asker: Asker,
    length: int | None,
    marks: tuple[str, str] | None = None,
) -> bytes:
    """`head_of` the long way; `marks`: the Date and the length to write (a template's)."""
    names = _lowered_names(headers)
    date, length_text = marks or (None, None)
    added = _added(status, asker, length, names.__contains__, date, length_text)
    whole = dict(headers)
    if length is None:
        whole["Transfer-Encoding"] = "chunked"
    whole.update(added)  # none of their names is among the dict's, whatever its case
    # aiohttp's serializer reads `items()` of whatever it is given; its stub says CIMultiDict.
    return _serialize_headers(_status_line(status), whole)  # type: ignore[arg-type]


class _Shape(NamedTuple):
    """A dict's names: lowered, and which of its values change from one answer to the
    next (`PER_ANSWER_MODEL_HEADERS`) or stay."""

    lowered: frozenset[str]
    changing: Callable[[tuple[str, ...]], tuple[str, ...]]
    staying: Callable[[tuple[str, ...]], tuple[str, ...]]
    changing_at: tuple[int, ...]

    @classmethod
    def of(cls, names: tuple[str, ...]) -> _Shape:
        lowered = tuple(name.lower() for name in names)
        at = tuple(n for n, name in enumerate(lowered) if name in PER_ANSWER_MODEL_HEADERS)
        kept = tuple(n for n in range(len(names)) if n not in at)
        return cls(frozenset(lowered), _picker(at), _picker(kept), at)


def _picker(positions: tuple[int, ...]) -> Callable[[tuple[str, ...]], tuple[str, ...]]:
    """The values at `positions`, as a tuple, picked in C."""
    if len(positions) >= 2:
        return itemgetter(*positions)
    if positions:
        at = positions[0]
        return lambda values: (values[at],)
    return lambda values: ()


def _shape_of(names: tuple[str, ...]) -> _Shape:
    """A dict's `_Shape`: an answer's names are the same from one answer to the next (only
    their values change), so each set of names is looked at once."""
    shape = _SHAPES.get(names)
    if shape is None:
        if len(_SHAPES) >= LOWERED_NAME_SETS:
            _SHAPES.clear()
        shape = _SHAPES[names] = _Shape.of(names)
    return shape


class _Template(NamedTuple):
    """A head as text with `%s` for its holes, and how to pick the holes' values from
    (Date, request id, client's request id, length, then a made answer's changing values)."""

    text: str
    pick: Callable[[tuple[str, ...]], tuple[str, ...]]

    @classmethod
    def cut(cls, head: str) -> _Template:
        """A head written with `_MARKS` where its values go, cut at them."""
        pieces = _ANY_MARK.split(head)
        holes = tuple(ord(mark) - _FIRST_MARK for mark in pieces[1::2])
        return cls("%s".join(piece.replace("%", "%%") for piece in pieces[0::2]), _picker(holes))

    def fill(self, values: tuple[str, ...]) -> bytes:
        return (self.text % self.pick(values)).encode()


def _made_head(
    status: Status, headers: dict[str, str], shape: _Shape, asker: Asker, length: int | None
) -> _Template | None:
    """A made answer's `_Template`; None when a text that stays (a name, a value, the
    reason, the region) holds a mark, which would be taken for a hole, or there are more
    holes than marks. Raises the serializer's refusal."""
    if 4 + len(shape.changing_at) > len(_MARKS):
        return None
    staying = "".join(headers) + "".join(shape.staying(tuple(headers.values())))
    if _ANY_MARK.search(staying + asker.region + (status.reason or "")):
        return None
    marked = dict(headers)
    names = tuple(headers)
    for n, at in enumerate(shape.changing_at):
        marked[names[at]] = _MARKS[4 + n]
    head = _head_of(status, marked, _marked(asker), length, (_MARKS[0], _MARKS[3]))
    return _Template.cut(head.decode())


def _marked(asker: Asker) -> Asker:
    """The asker with marks for its request id and the client's, if it sent one."""
    client = asker.headers.get(CLIENT_REQUEST_ID, "")
    return asker._replace(
        request_id=_MARKS[1], headers={CLIENT_REQUEST_ID: _MARKS[2]} if client else {}
    )


# Marks for a template's holes (the Date, the request id, the client's request id, the
# length, a made answer's changing values): private use characters, which the serializer
# writes as UTF-8 like any other, and none of which an answer the mock made holds.
_FIRST_MARK = 0xE100
_MARKS = tuple(chr(_FIRST_MARK + n) for n in range(256))
_ANY_MARK = re.compile("([\ue100-\ue1ff])")
_DICT_HEADS: dict[tuple[object, ...], _Template | None] = {}


def _lowered_names(headers: dict[str, str]) -> frozenset[str]:
    """The dict's names in lower case."""
    return _shape_of(tuple(headers)).lowered


LOWERED_NAME_SETS = 256
_SHAPES: dict[tuple[str, ...], _Shape] = {}


def head_after(status: Status, own: OwnHead, asker: Asker, length: int) -> bytes:
    """`head_bytes` for a body of `length` bytes whose answer's own headers are `own` (and
    which keeps a Content-Type): the same bytes (tested). A recording replayed again and
    again has the same head but for its Date and request ids: made once as a `_Template`
    for each shape (its own headers, status, length, connection, region, and whether the
    client sent an id), and filled with them."""
    client_id = asker.headers.get(CLIENT_REQUEST_ID, "")
    if not _sendable(client_id + asker.request_id):  # the long way, and its refusal
        return _head_after(status, own, asker, length)
    shape = (own, status, length, asker.keep_alive, asker.region, bool(client_id))
    template = _HEAD_TEMPLATES.get(shape)
    if template is None:
        if len(_HEAD_TEMPLATES) >= HEAD_TEMPLATES:
            _HEAD_TEMPLATES.clear()
        template = _HEAD_TEMPLATES[shape] = _replayed_head(status, own, asker, length)
    if template is None:  # own headers that hold a hole's mark: the long way
        return _head_after(status, own, asker, length)
    return template.fill((rfc822_formatted_time(), asker.request_id, client_id))


def _replayed_head(status: Status, own: OwnHead, asker: Asker, length: int) -> _Template | None:
    """A recording's `_Template`; None when its own headers, region or reason hold a mark."""
    if _ANY_MARK.search(own.lines.decode() + asker.region + (status.reason or "")):
        return None
    head = _head_after(status, own, _marked(asker), length, _MARKS[0])
    return _Template.cut(head.decode())


def _head_after(
    status: Status, own: OwnHead, asker: Asker, length: int, date: str | None = None
) -> bytes:
    names = own.names
    added = _added(status, asker, length, names.__contains__, date)
    status_line = _status_line(status)
    head = _serialize_headers(status_line, CIMultiDict(added))
    cut = len(status_line.encode()) + 2
    return head[:cut] + own.lines + head[cut:]


CLIENT_REQUEST_ID = "x-ms-client-request-id"
_UNSENDABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f]")  # what aiohttp refuses in a header


def _sendable(value: str) -> bool:
    """Written by the serializer as its ASCII bytes (others take the long way)."""
    return value.isascii() and _UNSENDABLE.search(value) is None


# Head templates by shape: at most this many, then emptied and made again.
HEAD_TEMPLATES = 256
_HEAD_TEMPLATES: dict[tuple[object, ...], _Template | None] = {}


def _added(
    status: Status,
    asker: Asker,
    length: int | None,
    has: Callable[[str], bool],
    date: str | None = None,
    length_text: str | None = None,
) -> list[tuple[str, str]]:
    """What a head adds after the answer's own headers, in aiohttp's order: the length,
    a Content-Type, Date and Connection when the answer has none, then the gateway's
    headers it does not carry (`has`: whether it carries a name, asked in lower case: a
    set of lowered names answers in C, a CIMultiDict in any case).
    `date`, `length_text`: the Date and length to write (a template's marks), or now's and
    `length`."""
    added = []
    framed = not bodiless(status.code)
    if framed and length is not None and not has("content-length"):
        added.append(("Content-Length", str(length) if length_text is None else length_text))
    if framed and length != 0 and not has("content-type"):
        added.append(("Content-Type", OCTET_STREAM))
    if not has("date"):
        added.append(("Date", date or rfc822_formatted_time()))
    if not asker.keep_alive and not has("connection"):
        added.append(("Connection", "close"))
    gateway = gateway_headers(asker.request_id, asker.headers, asker.region, status.error_name)
    added.extend(item for item in gateway.items() if not has(item[0].lower()))
    return added


def _status_line(status: Status) -> str:
    phrase = status.reason if status.reason is not None else REASON_PHRASES.get(status.code, "")
    return f"HTTP/1.1 {status.code} {phrase}"


def chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunk, as aiohttp frames a write; nothing for no bytes (aiohttp sends
    nothing for an empty write: a "0" chunk would end the body)."""
    return b"%x\r\n%b\r\n" % (len(data), data) if data else b""
