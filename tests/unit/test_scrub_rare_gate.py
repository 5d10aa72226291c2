"""The sk- gate looks at each hyphen while they are few, then searches the whole text:
a key is found wherever it stands, however many hyphens come before it."""

from __future__ import annotations

import pytest

from mockserver.redaction.rules import MASK, scrub_text

KEY = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t"


@pytest.mark.parametrize("hyphens", [0, 1, 15, 16, 17, 200])
@pytest.mark.parametrize("where", ["start", "end"])
def test_an_sk_key_is_masked_after_any_number_of_hyphens(hyphens: int, where: str) -> None:
    filler = "a-b " * hyphens
    text = KEY + " " + filler if where == "start" else filler + KEY
    scrubbed = scrub_text(text, MASK)
    assert KEY not in scrubbed and MASK in scrubbed


@pytest.mark.parametrize("text", ["-", "--", "k-", "s-k-", "-sk", "sk", "x" * 50 + "-"])
def test_text_without_a_key_is_kept(text: str) -> None:
    assert scrub_text(text, MASK) == text
