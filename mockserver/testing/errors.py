"""What the admin API answers when it refuses a call, as exceptions a test can catch."""

from __future__ import annotations

from typing import Any

from mockserver.stores.journal import VerificationError


class AdminError(RuntimeError):
    """The admin API refused a call: its HTTP `status` and Azure-shaped `body`
    (`{"error": {"code": ..., "message": ...}}`), with `code` and `message` read from it."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        error = body.get("error")
        fields = error if isinstance(error, dict) else {}
        self.status = status
        self.body = body
        self.code = str(fields.get("code") or "")
        self.message = str(fields.get("message") or "")
        super().__init__(f"{status} {self.code}: {self.message}")


class VerificationFailedError(VerificationError, AdminError):
    """`verify()` found other requests than expected: an AssertionError (pytest shows the
    nearest requests and what differed) that is also the admin API's 409."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        AdminError.__init__(self, status, body)
        self.args = (self.message,)  # the message alone: it is what a failed test shows
