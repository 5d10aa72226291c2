"""Authentication as Azure's gateway does it: an `api-key` header or a bearer token."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from mockserver.config import Settings
from mockserver.contract.errors import catalogue_error

_BEARER = "bearer "


def authenticate(headers: Mapping[str, str], settings: Settings) -> None:
    """Raise Azure's 401 unless the request carries an accepted credential.

    With no keys configured any non-empty credential passes. An `api-key` is checked
    against the configured keys; a bearer token against the keys (the v1 API takes the
    key as a bearer token) and the configured Entra tokens. A bad key gets the gateway
    body, a bad bearer token the flat Entra body.
    """
    api_key = headers.get("api-key")
    if api_key is not None:
        if not _accepted(api_key, settings.auth.api_keys):
            raise catalogue_error("InvalidSubscriptionKey")
        return
    token = _bearer_token(headers.get("authorization", ""))
    if token is None:
        raise catalogue_error("InvalidSubscriptionKey")
    if not _accepted(token, [*settings.auth.api_keys, *settings.auth.entra_tokens]):
        raise catalogue_error("InvalidBearerToken")


def _accepted(credential: str, configured: list[str]) -> bool:
    credential = credential.strip()
    if not credential:
        return False
    if not configured:
        return True
    # Every configured key is compared, so the time taken says nothing of which came close.
    matches = [same_secret(credential, key) for key in configured]
    return any(matches)


def same_secret(given: str, expected: str) -> bool:
    """Equal, compared in constant time (any text: a header value can hold surrogates)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def _bearer_token(authorization: str) -> str | None:
    if not authorization.lower().startswith(_BEARER):
        return None
    return authorization[len(_BEARER) :]
