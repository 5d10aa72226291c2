"""The response headers Azure sends (real recordings, 2024-2026)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from mockserver.serialize.ids import random_uuid4
from mockserver.stores.quota import QuotaSnapshot

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
    "x-content-type-options": "nosniff",
}
DATED_JSON = "application/json"
V1_JSON = "application/json; charset=utf-8"
RATE_LIMIT_RENEWAL_SECONDS = "60"


def new_request_id() -> str:
    return random_uuid4()


# Gateway errors that come back with fewer headers (recordings 2025-08 to 2026-03): a
# rejected key carries only apim-request-id; a wrong path adds the security pair, no region.
BARE_ERRORS = frozenset({"InvalidSubscriptionKey", "InvalidBearerToken"})
REGIONLESS_ERRORS = BARE_ERRORS | {"ResourceNotFound"}


def gateway_headers(
    apim_request_id: str, request_headers: Mapping[str, str], region: str, error: str = ""
) -> dict[str, str]:
    """Sent on every response, errors included; `error` names the catalogue error, if any."""
    headers = {"apim-request-id": apim_request_id}
    if error not in REGIONLESS_ERRORS:
        headers["x-ms-region"] = region
    if error not in BARE_ERRORS:
        headers.update(SECURITY_HEADERS)
    # Since 2025 the client request id comes back only when the client sent one.
    client_id = request_headers.get("x-ms-client-request-id")
    if client_id:
        headers["x-ms-client-request-id"] = client_id
    return headers


# The model headers whose values change from one answer to the next (`model_headers` sets
# them on each answer); the others stay the same for a deployment: a head is written from a
# template of those (`http.lane.wire.head_of`).
PER_ANSWER_MODEL_HEADERS = frozenset(
    {
        "x-request-id",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-requests",
        "x-ratelimit-reset-tokens",
    }
)


def model_headers(
    deployment: str, model_session: str, quota: QuotaSnapshot, surface: str
) -> dict[str, str]:
    """Sent when the request reached the model: a success or a backend error. A copy of
    the deployment's kept headers, in Azure's order, with this answer's own values set."""
    limits = (quota.limit_requests, quota.limit_tokens)
    headers = _kept_model_headers(deployment, model_session, surface, *limits).copy()
    headers["x-request-id"] = new_request_id()
    headers["x-ratelimit-remaining-requests"] = str(quota.remaining_requests)
    headers["x-ratelimit-remaining-tokens"] = str(quota.remaining_tokens)
    headers["x-ratelimit-reset-requests"] = str(quota.reset_requests_ms)
    headers["x-ratelimit-reset-tokens"] = str(quota.reset_tokens_ms)
    return headers


@lru_cache(maxsize=256)
def _kept_model_headers(
    deployment: str, model_session: str, surface: str, limit_requests: int, limit_tokens: int
) -> dict[str, str]:
    """The model headers of a deployment's answers, made once (read-only: the caller
    copies it): the per-answer values are set on the copy, in the places kept here."""
    headers = {
        "x-request-id": "",
        "azureml-model-session": model_session,
        "x-ms-rai-invoked": "true",
        "x-ms-deployment-name": deployment,
        "x-ms-is-spilled-over": "false",
        "skip-error-remapping": "true",
        "x-accel-buffering": "no",
        "x-ratelimit-limit-requests": str(limit_requests),
        "x-ratelimit-limit-tokens": str(limit_tokens),
        "x-ratelimit-remaining-requests": "",
        "x-ratelimit-remaining-tokens": "",
        "x-ratelimit-renewalperiod-requests": RATE_LIMIT_RENEWAL_SECONDS,
        "x-ratelimit-renewalperiod-tokens": RATE_LIMIT_RENEWAL_SECONDS,
        "x-ratelimit-reset-requests": "",
        "x-ratelimit-reset-tokens": "",
        # Since 2026-03/04: no abuse penalty, and quota counted per deployment.
        "x-ratelimit-abusepenalty-active": "False",
        "x-ratelimit-key": deployment,
    }
    if surface == "v1":
        headers["api-supported-versions"] = "1"
    return headers


def json_content_type(surface: str) -> str:
    return V1_JSON if surface == "v1" else DATED_JSON
