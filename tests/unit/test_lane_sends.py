"""What the lane's writer hands the connection: a head made and not yet sent goes out with
the first bytes after it, in the same write; a stream's blocks go out as one write of
their pieces, in order, not joined into a new buffer first (on uvloop; elsewhere joined);
whole answers held until the loop has run what it has in hand, then all sent."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any, cast

from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

from mockserver.admin.metrics import ServerMetrics
from mockserver.http.exchange import Exchange
from mockserver.http.lane.answer import Served
from mockserver.http.lane.connection import Lane, LaneConnection
from mockserver.http.lane.outcome import Answering
from mockserver.http.lane.wire import Asker
from mockserver.http.streaming import write_pieces

PIECES = st.lists(st.binary(min_size=1, max_size=64), min_size=1, max_size=8)


class RecordingWire:
    """A wire that keeps each write as the list of pieces it was given."""

    def __init__(self) -> None:
        self.writes: list[list[bytes]] = []

    def write(self, data: bytes) -> None:
        self.writes.append([data])

    def write_all(self, pieces: list[bytes]) -> None:
        self.writes.append(list(pieces))

    def write_soon(self, data: bytes) -> None:
        self.writes.append([data])

    async def drain(self) -> None:
        return None

    def abort(self) -> None:
        return None

    def is_closing(self) -> bool:
        return False


def answering(wire: RecordingWire) -> Answering:
    asker = Asker("request-id", {}, "East US 2", keep_alive=True)
    empty = CIMultiDictProxy(CIMultiDict[str]())
    seen = Exchange("POST", "/", MultiDictProxy(MultiDict[str]()), empty, "unmatched", "")
    return Answering(wire, asker, seen)


@given(head=st.binary(min_size=1, max_size=64), first=PIECES, later=PIECES)
def test_the_head_goes_in_the_first_write_of_pieces_and_only_there(
    head: bytes, first: list[bytes], later: list[bytes]
) -> None:
    wire = RecordingWire()
    sending = answering(wire)
    sending.open_with(head)
    sending.send_all(first)
    sending.send_all(later)
    assert wire.writes == [[head, *first], later]


@given(pieces=PIECES)
def test_pieces_without_a_head_waiting_are_written_as_given(pieces: list[bytes]) -> None:
    wire = RecordingWire()
    answering(wire).send_all(pieces)
    assert wire.writes == [pieces]


@given(head=st.binary(min_size=1, max_size=64), data=st.binary(min_size=1, max_size=64))
def test_a_single_send_carries_the_head_before_its_bytes(head: bytes, data: bytes) -> None:
    wire = RecordingWire()
    sending = answering(wire)
    sending.open_with(head)
    sending.send(data)
    sending.send(data)
    assert wire.writes == [[head + data], [data]]


class RecordingTransport(asyncio.WriteTransport):
    """A transport that keeps how it was written to."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, list[bytes]]] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.calls.append(("write", [bytes(data)]))

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self.calls.append(("writelines", [bytes(data) for data in list_of_data]))


class UvloopTransport(RecordingTransport):
    """Named as uvloop's transports are."""


UvloopTransport.__module__ = "uvloop.loop"


@given(pieces=PIECES)
def test_only_uvloops_transport_is_handed_the_pieces_unjoined(pieces: list[bytes]) -> None:
    # asyncio's own writelines does not pause a protocol on some Python versions
    # (CVE-2024-12254): there the pieces are joined and written.
    elsewhere, uvloop = RecordingTransport(), UvloopTransport()
    write_pieces(elsewhere, pieces)
    write_pieces(uvloop, pieces)
    assert elsewhere.calls == [("write", [b"".join(pieces)])]
    assert uvloop.calls == [("writelines", pieces)]


class ClosableTransport(RecordingTransport):
    """A recording transport that can be closed and aborted, as a connection's is."""

    def __init__(self) -> None:
        super().__init__()
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.calls.append(("close", []))
        self.closing = True

    def abort(self) -> None:
        self.calls.append(("abort", []))
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def _lane_connections(count: int) -> tuple[list[LaneConnection], list[ClosableTransport]]:
    loop = asyncio.get_running_loop()
    settings = SimpleNamespace(server=SimpleNamespace(idle_timeout_seconds=60.0))
    state = SimpleNamespace(settings=settings)
    served = cast(Served, SimpleNamespace(state=state, metrics=ServerMetrics()))
    lane = Lane(loop, served, (), lambda: None)
    connections, transports = [], []
    for _ in range(count):
        connection, transport = LaneConnection(lane), ClosableTransport()
        connection.connection_made(transport)
        connections.append(connection)
        transports.append(transport)
    return connections, transports


def test_whole_answers_are_held_until_the_loop_has_run_what_it_had_in_hand() -> None:
    async def scenario() -> None:
        (first, second), (one, two) = _lane_connections(2)
        first.write_soon(b"answer 1")
        second.write_soon(b"answer 2")
        assert one.calls == two.calls == []  # held: other requests' steps run first
        await asyncio.sleep(0)
        assert one.calls == [("write", [b"answer 1"])]
        assert two.calls == [("write", [b"answer 2"])]
        first.close()
        second.close()

    asyncio.run(scenario())


def test_anything_else_done_with_a_connection_sends_its_held_answer_first() -> None:
    async def scenario() -> None:
        (writes, streams, aborts, closes), transports = _lane_connections(4)
        for connection in (writes, streams, aborts, closes):
            connection.write_soon(b"held")
        writes.write(b"a head")
        streams.write_all([b"frame 1", b"frame 2"])
        aborts.abort()
        closes.close()
        await asyncio.sleep(0)  # nothing held is sent twice, nor after the others
        assert [transport.calls for transport in transports] == [
            [("write", [b"held"]), ("write", [b"a head"])],
            [("write", [b"held"]), ("write", [b"frame 1frame 2"])],
            [("write", [b"held"]), ("abort", [])],
            [("write", [b"held"]), ("close", [])],
        ]

    asyncio.run(scenario())
