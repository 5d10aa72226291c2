"""Faults a test asks for with headers, since clients resend the same headers on retries.

    x-mock-fault: <status code | reset | hang | truncate | garbage | cut-stream | stream-error>
    x-mock-fault-count: N      only the first N requests carrying the same x-mock-fault-id
    x-mock-fault-id: <token>

"429 once, then success" is `x-mock-fault: 429`, `x-mock-fault-count: 1` and a fresh id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from http import HTTPStatus

import orjson

from mockserver.contract.errors import AzureError, catalogue_error, encode_body

FAULT_HEADER = "x-mock-fault"
COUNT_HEADER = "x-mock-fault-count"
ID_HEADER = "x-mock-fault-id"
CONNECTION_FAULTS = ("reset", "hang")
BODY_FAULTS = ("truncate", "garbage")
STREAM_FAULTS = ("cut-stream", "stream-error")
CAPACITY = "capacity"  # the 429 of a region at peak load, not of the deployment's quota
KINDS = (*CONNECTION_FAULTS, *BODY_FAULTS, *STREAM_FAULTS, CAPACITY)


class UnknownFaultError(ValueError):
    """A fault name or status that is not one of the kinds."""


@dataclass(frozen=True)
class Fault:
    kind: str  # "status" or one of KINDS
    status: int = 0


def parse_fault(value: str) -> Fault:
    if value in KINDS:
        return Fault(value)
    if value.isdigit() and 400 <= int(value) <= 599:
        return Fault("status", int(value))
    choices = ", ".join(("<status code 400-599>", *KINDS))
    raise UnknownFaultError(f"{value!r} is not one of {choices}")


def mock_header_error(message: str) -> AzureError:
    """A bad control header is the test's mistake: say so plainly, in Azure's envelope."""
    body = orjson.dumps({"error": {"code": "InvalidMockHeader", "message": message}})
    return AzureError(400, body, name="InvalidMockHeader")


def capacity_error(retry_after_ms: int) -> AzureError:
    seconds = max(1, math.ceil(retry_after_ms / 1000))
    return with_retry_after(
        catalogue_error("capacity_exceeded", retry_after=seconds), seconds, retry_after_ms
    )


def status_error(status: int, request_id: str, api_version: str, retry_after_ms: int) -> AzureError:
    """The error Azure sends with this status; 429 and 503 say when to retry."""
    if status == 429:
        seconds = max(1, math.ceil(retry_after_ms / 1000))
        error = catalogue_error("rate_limit_tokens", api_version=api_version, retry_after=seconds)
        return with_retry_after(error, seconds, retry_after_ms)
    named = {500: "server_error", 503: "service_unavailable", 408: "request_timeout"}
    if status in named:
        error = catalogue_error(named[status], request_id=request_id)
        return with_retry_after(error, 1, retry_after_ms) if status == 503 else error
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = encode_body({"error": {"code": str(status), "message": phrase}}, "compact")
    return AzureError(status, body, name=str(status))


def with_retry_after(error: AzureError, seconds: int, milliseconds: int) -> AzureError:
    """Azure's 429s and 503s say when to retry, in both units (the SDKs read either)."""
    error.headers.update({"retry-after": str(seconds), "retry-after-ms": str(milliseconds)})
    return error
