"""Response ids and timestamps: new for every response, or reproducible for snapshots."""

from __future__ import annotations

import hashlib
import secrets
import string
import time
from dataclasses import dataclass

_BASE62 = string.ascii_letters + string.digits
CHAT_ID_LENGTH = 29  # chatcmpl- + 29 base62 characters, in every recording
TOOL_CALL_ID_LENGTH = 24  # call_ + 24


@dataclass(frozen=True)
class ResponseIdentity:
    id: str
    created: int


class IdSource:
    """Random ids as Azure's; with `deterministic`, ids derive from the request digest."""

    def __init__(self, deterministic: bool, fixed_created: int) -> None:
        self.deterministic = deterministic
        self.fixed_created = fixed_created

    def chat_completion(self, digest: bytes) -> ResponseIdentity:
        if self.deterministic:
            return ResponseIdentity(
                "chatcmpl-" + _base62_from(digest, b"chatcmpl", CHAT_ID_LENGTH),
                self.fixed_created,
            )
        return ResponseIdentity("chatcmpl-" + _random_base62(CHAT_ID_LENGTH), int(time.time()))

    def tool_call(self, digest: bytes, position: int) -> str:
        if self.deterministic:
            salt = b"call" + position.to_bytes(4, "big")
            return "call_" + _base62_from(digest, salt, TOOL_CALL_ID_LENGTH)
        return "call_" + _random_base62(TOOL_CALL_ID_LENGTH)


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def _base62_from(digest: bytes, salt: bytes, length: int) -> str:
    number = int.from_bytes(hashlib.sha256(salt + digest).digest(), "big")
    chars = []
    for _ in range(length):
        number, remainder = divmod(number, 62)
        chars.append(_BASE62[remainder])
    return "".join(chars)
