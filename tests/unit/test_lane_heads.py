"""A head made after an answer's own headers written once (`wire.head_after`), or from an
answer's plain dict of headers (`wire.head_of`), is the head `wire.head_bytes` makes of the
whole set: the same bytes, whatever the answer's headers, status, length, connection and
asker."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from mockserver.contract.headers import PER_ANSWER_MODEL_HEADERS, model_headers
from mockserver.http.lane import wire
from mockserver.http.lane.wire import (
    Asker,
    Status,
    head_after,
    head_bytes,
    head_of,
    own_head,
    stream_head,
)
from mockserver.stores.quota import QuotaSnapshot

# Names an answer may carry, in any case: those the head adds or keeps from the gateway
# among them, so every "already there" branch is taken.
NAMES = st.sampled_from(
    [
        "Content-Type",
        "date",
        "Connection",
        "apim-request-id",
        "X-Ms-Region",
        "strict-transport-security",
        "x-ms-client-request-id",
        "x-request-id",
        "X-Ratelimit-Remaining-Tokens",
        "azureml-model-session",
        "Retry-After",
    ]
).flatmap(lambda name: st.sampled_from([name, name.lower(), name.upper()]))
VALUES = st.text(
    st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_categories=["Cc"]), max_size=20
)
STATUSES = st.builds(
    Status,
    st.sampled_from([200, 201, 400, 404, 408, 429, 500, 503]),
    st.none() | st.sampled_from(["OK", "Custom Reason"]),
    st.sampled_from(["", "rate_limit", "server_error", "deployment_not_found"]),
)
ASKERS = st.builds(
    Asker,
    st.just("0f0e0d0c-0b0a-4908-8706-050403020100"),
    st.dictionaries(
        st.sampled_from(["x-ms-client-request-id", "api-key"]), VALUES.filter(bool), max_size=2
    ).map(CIMultiDict),
    st.sampled_from(["East US 2", "Sweden Central"]),
    st.booleans(),
)


@pytest.fixture(autouse=True)
def fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    # Both heads are made within the same second in use; here, always.
    monkeypatch.setattr(wire, "rfc822_formatted_time", lambda: "Sat, 05 Dec 2026 22:00:00 GMT")


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(NAMES, VALUES, max_size=8), STATUSES, ASKERS, st.integers(0, 5000))
def test_the_head_after_own_headers_is_the_whole_head(
    own: dict[str, Any], status: Status, asker: Asker, length: int
) -> None:
    made = own_head(own)
    assert made is not None
    keeps_type = status._replace(no_content_type=False)
    assert head_after(keeps_type, made, asker, length) == head_bytes(
        keeps_type, CIMultiDict(own), asker, length
    )


@settings(max_examples=500, deadline=None)
@given(
    st.dictionaries(
        NAMES | st.sampled_from(["Content-Length", "content-length"]), VALUES, max_size=8
    ),
    STATUSES,
    ASKERS,
    st.integers(0, 5000),
)
def test_the_head_of_a_dict_is_the_whole_head(
    headers: dict[str, str], status: Status, asker: Asker, length: int
) -> None:
    keeps_type = status._replace(no_content_type=False)
    assert head_of(keeps_type, headers, asker, length) == head_bytes(
        keeps_type, CIMultiDict(headers), asker, length
    )


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        NAMES | st.sampled_from(["Content-Length", "Transfer-Encoding", "transfer-encoding"]),
        VALUES,
        max_size=8,
    ),
    ASKERS,
)
def test_a_streams_head_is_the_whole_chunked_head(headers: dict[str, str], asker: Asker) -> None:
    """A stream's head from its dict (`stream_head`) is the chunked head the long way
    makes, a Transfer-Encoding of the dict's own among them."""
    assert stream_head(headers, asker) == head_bytes(Status(200), CIMultiDict(headers), asker, None)


def test_a_dict_with_an_unsendable_header_is_refused_as_aiohttp_refuses_it() -> None:
    asker = Asker("0f0e0d0c-0b0a-4908-8706-050403020100", CIMultiDict(), "East US 2", True)
    for bad in ("a\x7fb", "a\r\nInjected: yes", "a\x00"):
        with pytest.raises(ValueError, match="control character"):
            head_of(Status(200), {"x-bad": bad}, asker, 3)
        # A value that changes per answer, once its shape's template is made: refused too.
        assert head_of(Status(200), {"x-request-id": "fine"}, asker, 3)
        with pytest.raises(ValueError, match="control character"):
            head_of(Status(200), {"x-request-id": bad}, asker, 3)
        client = asker._replace(headers=CIMultiDict({"x-ms-client-request-id": bad}))
        with pytest.raises(ValueError, match="control character"):
            head_of(Status(200), {"x-request-id": "fine"}, client, 3)
        with pytest.raises(ValueError, match="control character"):
            head_of(Status(200), {"x-request-id": "fine"}, asker._replace(request_id=bad), 3)
        with pytest.raises(ValueError, match="control character"):
            head_bytes(Status(200), CIMultiDict({"x-bad": bad}), asker, 3)


def test_framing_and_unsendable_headers_go_the_long_way() -> None:
    assert own_head({"Content-Length": "3"}) is None
    assert own_head({"transfer-encoding": "chunked"}) is None
    assert own_head({"x-bad": "a\x7fb"}) is None  # head_bytes refuses it, as aiohttp does
    assert own_head({}) == wire.OwnHead(b"", frozenset())


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(NAMES, VALUES, max_size=8),
    STATUSES,
    ASKERS,
    st.integers(0, 5000),
    st.lists(st.uuids().map(str), min_size=2, max_size=2),
    st.sampled_from(["", "client-1", "é-not-ascii", "tab\there"]),
)
def test_a_replayed_head_is_made_again_with_each_answers_date_and_ids(
    own: dict[str, Any],
    status: Status,
    asker: Asker,
    length: int,
    request_ids: list[str],
    client_id: str,
) -> None:
    """The same recording answered twice: the second head has its own Date, request id and
    client request id, as the head made the long way has them."""
    made = own_head(own)
    assert made is not None
    keeps_type = status._replace(no_content_type=False)
    headers = CIMultiDict({"x-ms-client-request-id": client_id} if client_id else {})
    for second, request_id in enumerate(request_ids):
        date = f"Sat, 05 Dec 2026 22:00:0{second} GMT"
        asking = asker._replace(request_id=request_id, headers=headers)
        with patch.object(wire, "rfc822_formatted_time", lambda date=date: date):
            assert head_after(keeps_type, made, asking, length) == head_bytes(
                keeps_type, CIMultiDict(own), asking, length
            )


def test_own_headers_holding_a_template_mark_are_written_the_long_way() -> None:
    asker = Asker("0f0e0d0c-0b0a-4908-8706-050403020100", CIMultiDict(), "East US 2", True)
    for own in (
        {"x-odd": "\ue100"},
        {"x-odd": "a\ue101b", "x-ms-region": "\ue102"},
        {"x-odd": "\ue1ff", "x-pct": "100% %s"},
        {"x-odd": "\ue000"},  # (not a mark)
    ):
        made = own_head(own)
        assert made is not None
        assert head_after(Status(200), made, asker, 12) == head_bytes(
            Status(200), CIMultiDict(own), asker, 12
        )


def test_a_region_from_undecodable_bytes_is_written_as_the_long_way_writes_it() -> None:
    asker = Asker("0f0e0d0c-0b0a-4908-8706-050403020100", CIMultiDict(), "East\udcff US", True)
    made = own_head({"x-kept": "1"})
    assert made is not None
    assert head_after(Status(200), made, asker, 5) == head_bytes(
        Status(200), CIMultiDict({"x-kept": "1"}), asker, 5
    )


# The model headers that change from one answer to the next, and some that stay.
CHANGING = sorted(PER_ANSWER_MODEL_HEADERS)
STAYING = ["azureml-model-session", "x-ms-deployment-name", "Content-Type", "x-odd-%s"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(CHANGING + STAYING), min_size=1, max_size=9, unique=True),
    STATUSES,
    ASKERS,
    st.lists(
        st.tuples(
            st.lists(VALUES, min_size=9, max_size=9),
            st.none() | st.integers(0, 5000),
            st.uuids().map(str),
        ),
        min_size=2,
        max_size=3,
    ),
)
def test_a_made_answers_head_is_made_again_with_each_answers_values(
    names: list[str],
    status: Status,
    asker: Asker,
    answers: list[tuple[list[str], int | None, str]],
) -> None:
    """Answers of one shape, one after the other (a head made from the first one's
    template): each head has its own Date, length, request ids and changing values (some
    unsendable, some not ASCII: the long way), and the values that stay, as the head made
    the long way has them."""
    keeps_type = status._replace(no_content_type=False)
    staying = {name: f"{name} kept" for name in names if name not in CHANGING}
    for second, (values, length, request_id) in enumerate(answers):
        headers = {
            name: staying.get(name, value)
            for name, value in zip(names, values[: len(names)], strict=True)
        }
        asking = asker._replace(request_id=request_id)
        date = f"Sat, 05 Dec 2026 22:00:0{second} GMT"
        with patch.object(wire, "rfc822_formatted_time", lambda date=date: date):
            if length is None:  # a stream's
                whole = head_bytes(Status(200), CIMultiDict(headers), asking, None)
                assert stream_head(headers, asking) == whole
            else:
                whole = head_bytes(keeps_type, CIMultiDict(headers), asking, length)
                assert head_of(keeps_type, headers, asking, length) == whole


def test_a_model_headers_value_that_changes_per_answer_is_a_hole_of_the_template() -> None:
    """Two answers of a deployment differ only in `PER_ANSWER_MODEL_HEADERS` (so their
    heads share one template) and not in the others (kept in the template's key)."""
    quotas = [QuotaSnapshot(100, 1000, 99, 900), QuotaSnapshot(100, 1000, 98, 880)]
    first, second = (model_headers("o3-mini", "session", quota, "dated") for quota in quotas)
    assert list(first) == list(second)
    differing = {name for name in first if first[name] != second[name]}
    assert differing == PER_ANSWER_MODEL_HEADERS


def test_a_made_answers_head_holding_a_mark_is_written_the_long_way() -> None:
    asker = Asker("0f0e0d0c-0b0a-4908-8706-050403020100", CIMultiDict(), "East US 2", True)
    for headers in ({"x-odd": "\ue100"}, {"x-ms-deployment-name": "a\ue105b"}):
        assert head_of(Status(200), headers, asker, 12) == head_bytes(
            Status(200), CIMultiDict(headers), asker, 12
        )
    marked_region = asker._replace(region="East \ue101 US")
    assert head_of(Status(200), {"x-kept": "1"}, marked_region, 5) == head_bytes(
        Status(200), CIMultiDict({"x-kept": "1"}), marked_region, 5
    )


def test_a_made_answers_head_with_more_holes_than_marks_is_written_the_long_way() -> None:
    """253 spellings of a changing name: more holes than the template has marks for."""
    name = "x-ratelimit-remaining-requests"
    spellings = {
        "".join(c.upper() if bits >> n & 1 else c for n, c in enumerate(name))
        for bits in range(2**12)
    }
    headers = {spelt: f"v{n}" for n, spelt in enumerate(sorted(spellings)[:253])}
    asker = Asker("0f0e0d0c-0b0a-4908-8706-050403020100", CIMultiDict(), "East US 2", True)
    for _ in range(2):
        assert head_of(Status(200), headers, asker, 3) == head_bytes(
            Status(200), CIMultiDict(headers), asker, 3
        )


def test_a_replayed_head_with_an_unsendable_request_id_is_refused_as_aiohttp_refuses_it() -> None:
    made = own_head({"x-kept": "1"})
    assert made is not None
    asker = Asker("0f0e0d0c-0b0a-4908-8706-050403020100", CIMultiDict(), "East US 2", True)
    assert head_after(Status(200), made, asker, 5)  # its template made
    for bad in ("a\r\nInjected: yes", "a\x00"):
        with pytest.raises(ValueError, match="control character"):
            head_after(Status(200), made, asker._replace(request_id=bad), 5)
