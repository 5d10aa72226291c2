"""Response ids and timestamps: new for every response, or reproducible for snapshots."""

from __future__ import annotations

import hashlib
import os
import random
import string
import time

from mockserver.support.values import value

_BASE62 = string.ascii_letters + string.digits
# Random bytes to base62 characters: the 248 values below 4 x 62 map to each character
# four times (uniform); the 8 above are dropped, and the few ids left short drawn again.
_BASE62_OF_BYTE = bytes(ord(_BASE62[value % 62]) for value in range(248)) + bytes(8)
_BYTES_OVER_BASE62 = bytes(range(248, 256))
_SPARE_BYTES = 8  # at 1/32 dropped per byte, a draw of length + 8 is rarely short
CHAT_ID_LENGTH = 29  # chatcmpl- + 29 base62 characters, in every recording
TOOL_CALL_ID_LENGTH = 24  # call_ + 24
# A version 4 UUID: the version nibble is 4 and the variant's two bits are 10.
UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62))
UUID4_SET = (0x4 << 76) | (0x2 << 62)


@value
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


# Ids need to be unique, not secret: a Mersenne Twister seeded from the OS draws a whole
# id in one call, where `secrets` pays a system call per character. Reseeded in a forked
# worker, so two workers never draw the same ids.
_ID_RANDOM = random.Random()
os.register_at_fork(after_in_child=_ID_RANDOM.seed)


def _random_base62(length: int) -> str:
    """`length` uniform base62 characters, from one draw of bytes (`random.choices` made
    them one by one in Python: 3 us an id, now 0.5)."""
    while True:
        drawn = _ID_RANDOM.randbytes(length + _SPARE_BYTES)
        kept = drawn.translate(_BASE62_OF_BYTE, _BYTES_OVER_BASE62)
        if len(kept) >= length:
            return kept[:length].decode("ascii")


def random_uuid4() -> str:
    """A random (version 4, RFC 4122) UUID in its text form, as `str(uuid.uuid4())` gives,
    without building a UUID object: two go out with every answer."""
    digits = (_ID_RANDOM.getrandbits(128) & UUID4_CLEAR | UUID4_SET).to_bytes(16).hex()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _base62_from(digest: bytes, salt: bytes, length: int) -> str:
    number = int.from_bytes(hashlib.sha256(salt + digest).digest(), "big")
    chars = []
    for _ in range(length):
        number, remainder = divmod(number, 62)
        chars.append(_BASE62[remainder])
    return "".join(chars)
