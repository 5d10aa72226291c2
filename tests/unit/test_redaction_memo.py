"""A redaction policy remembers names and clean values: the same answers, a bounded
memory, and no secret kept in it."""

from __future__ import annotations

from mockserver.redaction.rules import MASK, MEMO_SIZE, REDACTED, policy

SK_KEY = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t"
AZURE_KEY = "0123456789abcdef0123456789abcdef"
HEADERS = {
    "Authorization": "Bearer abc",
    "api-key": AZURE_KEY,
    "x-custom-token": "t",
    "User-Agent": "wrk",
    "x-trace": f"call {SK_KEY}",
    "x-other": AZURE_KEY,
    "x-ms-client-request-id": AZURE_KEY,
    "x-ratelimit-key": "o3-mini",
}


def test_remembered_answers_are_the_first_answers() -> None:
    rules = policy(("x-team-",))
    first = rules.headers({**HEADERS, "X-Team-Id": "7"}, MASK)
    assert rules.headers({**HEADERS, "X-Team-Id": "7"}, MASK) == first
    assert rules.headers(HEADERS, REDACTED) == {
        name.lower(): value.replace(MASK, REDACTED)
        for name, value in first.items()
        if name != "x-team-id"
    }
    assert first["x-team-id"] == MASK and first["authorization"] == MASK
    assert first["x-trace"] == f"call {MASK}" and first["x-other"] == MASK
    assert first["x-ms-client-request-id"] == AZURE_KEY  # an id by name
    assert first["x-ratelimit-key"] == "o3-mini" and first["user-agent"] == "wrk"
    query = {"api-version": "2025-04-01-preview", "sig": "abc", "q": AZURE_KEY}
    assert rules.query(query, MASK) == rules.query(query, MASK)
    assert rules.query(query, MASK) == {"api-version": "2025-04-01-preview", "sig": MASK, "q": MASK}


def test_no_secret_is_kept_in_what_is_remembered() -> None:
    rules = policy(("x-kept-apart-",))
    rules.headers(HEADERS, MASK)
    rules.query({"q": AZURE_KEY, "u": f"x {SK_KEY}"}, MASK)
    # A correlation id of a key's shape is an id by name, shown as it is: kept too.
    kept = [*rules.clean_values, *rules.clean_query_values]
    kept.remove(("x-ms-client-request-id", AZURE_KEY))
    assert ("User-Agent", "wrk") in kept
    assert not [pair for pair in kept if SK_KEY in pair[1] or pair[1] in (AZURE_KEY, "Bearer abc")]


def test_a_full_memo_starts_again() -> None:
    rules = policy(("x-bounded-",))
    for number in range(MEMO_SIZE * 3):
        rules.header_value(f"x-name-{number}", str(number))
    assert 0 < len(rules.secret_headers) <= MEMO_SIZE
    assert 0 < len(rules.clean_values) <= MEMO_SIZE
    assert rules.secret_header("x-bounded-1") and not rules.secret_header("x-name-1")
