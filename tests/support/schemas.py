"""JSON Schema checks of what the mock generated: Draft 2020-12, formats included."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")
_TIME = re.compile(r"\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)?")
_DURATION = re.compile(r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")


def is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.fullmatch(value):
        return False
    datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))  # raises if impossible
    return True


def is_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_TIME.fullmatch(value))


def is_duration(value: object) -> bool:
    return not isinstance(value, str) or bool(_DURATION.fullmatch(value))


# jsonschema checks no format by default, and its own date-time/time/duration checks need
# optional packages: these are the RFC 3339 / ISO 8601 shapes the generator promises.
FORMAT_CHECKER = FormatChecker()
FORMAT_CHECKER.checks("date-time", raises=ValueError)(is_date_time)
FORMAT_CHECKER.checks("time")(is_time)
FORMAT_CHECKER.checks("duration")(is_duration)


def assert_valid(instance: Any, schema: dict[str, Any]) -> None:
    """`instance` validates against `schema`; raises jsonschema's ValidationError if not."""
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema, format_checker=FORMAT_CHECKER).validate(instance)
