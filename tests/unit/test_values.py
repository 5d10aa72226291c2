"""`support.values.value`: frozen to mypy, slotted at run time, equal and hashed by fields."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mypy import api

from mockserver.engines.reply import Reply
from mockserver.support.values import value


@value
class Point:
    x: int
    y: int = 0


def test_a_value_is_equal_and_hashed_by_its_fields_and_has_no_dict() -> None:
    assert Point(1) == Point(1, 0) and hash(Point(1)) == hash(Point(1, 0))
    assert Point(1) != Point(2) and {Point(1), Point(1)} == {Point(1)}
    assert dataclasses.replace(Point(1), y=5) == Point(1, 5)
    assert not hasattr(Point(1), "__dict__")  # slotted: nothing else can be set on it
    assert not hasattr(Reply("a", "b", "c"), "__dict__")
    assert [field.name for field in dataclasses.fields(Point)] == ["x", "y"]


def test_mypy_refuses_an_assignment_to_a_value_field(tmp_path: Path) -> None:
    source = tmp_path / "assigns.py"
    source.write_text(
        "from mockserver.engines.reply import Reply\n"
        "reply = Reply('generator', 'generator', 'why')\n"
        "reply.why = 'changed'\n"
    )
    out, _, status = api.run(["--strict", "--no-incremental", str(source)])
    assert status == 1 and 'Property "why" defined in "Reply" is read-only' in out
