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


def model_headers(
    deployment: str, model_session: str, quota: QuotaSnapshot, surface: str
) -> dict[str, str]:
    """Sent when the request reached the model: a success or a backend error."""
    before_quota, after_quota = _constant_model_headers(deployment, model_session, surface)
    return {
        "x-request-id": new_request_id(),
        **before_quota,
        **rate_limit_headers(quota),
        **after_quota,
    }


@lru_cache(maxsize=256)
def _constant_model_headers(
    deployment: str, model_session: str, surface: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The model headers that are the same on every answer of a deployment, made once
    (read-only: the caller copies them), on either side of the quota's."""
    before_quota = {
        "azureml-model-session": model_session,
        "x-ms-rai-invoked": "true",
        "x-ms-deployment-name": deployment,
        "x-ms-is-spilled-over": "false",
        "skip-error-remapping": "true",
        "x-accel-buffering": "no",
    }
    after_quota = {
        # Since 2026-03/04: no abuse penalty, and quota counted per deployment.
        "x-ratelimit-abusepenalty-active": "False",
        "x-ratelimit-key": deployment,
    }
    if surface == "v1":
        after_quota["api-supported-versions"] = "1"
    return before_quota, after_quota


def rate_limit_headers(quota: QuotaSnapshot) -> dict[str, str]:
    return {
        "x-ratelimit-limit-requests": str(quota.limit_requests),
        "x-ratelimit-limit-tokens": str(quota.limit_tokens),
        "x-ratelimit-remaining-requests": str(quota.remaining_requests),
        "x-ratelimit-remaining-tokens": str(quota.remaining_tokens),
        "x-ratelimit-renewalperiod-requests": RATE_LIMIT_RENEWAL_SECONDS,
        "x-ratelimit-renewalperiod-tokens": RATE_LIMIT_RENEWAL_SECONDS,
        "x-ratelimit-reset-requests": str(quota.reset_requests_seconds),
        "x-ratelimit-reset-tokens": str(quota.reset_tokens_seconds),
    }


def json_content_type(surface: str) -> str:
    return V1_JSON if surface == "v1" else DATED_JSON
