"""The `encrypted_content` of reasoning items: opaque to clients, checked and read back here.

Azure hands out Fernet tokens (`gAAAAAB...`: version byte 0x80, a big-endian timestamp,
then the sealed bytes and a MAC, base64url). The mock keeps that outer shape so clients
that sniff it are satisfied, but derives everything from the server seed and the request:
the same request on the same seed gets the same token, and a token from another seed, or
one altered by a single character, fails its MAC like a foreign token does on Azure.

Not security: the mask only keeps the payload from being read as plain JSON, as Azure's
is not readable; the HMAC is what decides whether a token is ours.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import orjson

from mockserver.contract.errors import AzureError, invalid_request

VERSION = b"\x80"  # Fernet's version byte, why real tokens start with "gAAAAA"
STAMP_BYTES = 8
NONCE_BYTES = 16
MAC_BYTES = 32
HEADER_BYTES = len(VERSION) + STAMP_BYTES + NONCE_BYTES
SHOWN_CHARACTERS = 4  # Azure's message shows the first and last four characters


@dataclass(frozen=True)
class ReasoningSeal:
    """Seals a reasoning item's payload into a token, and opens tokens it sealed."""

    key: bytes

    @classmethod
    def for_seed(cls, seed: int) -> ReasoningSeal:
        return cls(hashlib.sha256(b"mockserver reasoning seal:" + str(seed).encode()).digest())

    def seal(self, payload: dict[str, Any], created: int) -> str:
        plain = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
        nonce = self._mac(b"nonce" + plain)[:NONCE_BYTES]  # deterministic, unlike Fernet's IV
        stamp = (created % 2**64).to_bytes(STAMP_BYTES, "big")
        sealed = VERSION + stamp + nonce + _masked(self.key, nonce, plain)
        return base64.urlsafe_b64encode(sealed + self._mac(sealed)).decode()

    def open(self, token: str) -> dict[str, Any] | None:
        """The payload of a token this seal made; None for anything else."""
        raw = _decoded(token)
        if raw is None or len(raw) < HEADER_BYTES + MAC_BYTES or raw[:1] != VERSION:
            return None
        sealed, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(sealed)):
            return None
        nonce = sealed[len(VERSION) + STAMP_BYTES : HEADER_BYTES]
        payload = orjson.loads(_masked(self.key, nonce, sealed[HEADER_BYTES:]))
        return payload if isinstance(payload, dict) else None

    def _mac(self, data: bytes) -> bytes:
        return hmac.new(self.key, data, hashlib.sha256).digest()


def _masked(key: bytes, nonce: bytes, data: bytes) -> bytes:
    """XOR with a keystream: the same call masks and unmasks."""
    stream = hashlib.shake_256(key + nonce).digest(len(data))
    # One XOR of two big integers: a tenth of the time of a byte-by-byte loop.
    mixed = int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")
    return mixed.to_bytes(len(data), "big")


def _decoded(token: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, ValueError):  # not base64, or not ASCII at all
        return None


def invalid_encrypted_content(token: str) -> AzureError:
    """Azure's 400 for a token it did not make or that was altered (codex#9045, #8145)."""
    shown = token
    if len(token) > 2 * SHOWN_CHARACTERS:
        shown = f"{token[:SHOWN_CHARACTERS]}...{token[-SHOWN_CHARACTERS:]}"
    return invalid_request(
        f"The encrypted content {shown} could not be verified.", None, "invalid_encrypted_content"
    )
