"""`RepeatedChecks`: what the pipeline's checks found for a body sent before.

The checks of a request (its deployment and model gate, the body decoded, the operation's
parse, o3-mini's rules, the answer digest and prompt tokens, the token limits) are a pure
function of the settings, the surface, the api-version, the deployment in the path and
the body's bytes, for an operation whose parse reads nothing else (chat completions). A
body sent again under the same settings is then found here, not checked again; a body
the checks refuse is never kept (its error is made afresh each time). Settings changed
through the admin API are a new object: the first request under them empties the memo.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from mockserver.support.memo import Memo

Found = TypeVar("Found")
# The surface, the api-version, the deployment in the path, and the body's bytes: a plain
# tuple, hashed in C (the bytes' hash is kept on them), as a body seen once costs this too.
Key = tuple[str, str | None, str | None, bytes]
# Entries keep a body's decoded JSON (a few times its bytes): 1,024 of them, or 8 MiB of
# bodies, at most. Kept the second time a body is seen, so distinct prompts keep nothing.
MAX_ENTRIES = 1024
MAX_BODY_BYTES = 8 * 2**20


class RepeatedChecks(Generic[Found]):
    def __init__(self) -> None:
        self._found: Memo[Key, Found] = Memo(MAX_ENTRIES, MAX_BODY_BYTES, second_sighting=True)
        self._settings: object = None  # the settings the entries were found under

    def get(self, settings: object, key: Key) -> Found | None:
        if settings is not self._settings:
            return None
        return self._found.get(key)

    def put(self, settings: object, key: Key, found: Found) -> None:
        if settings is not self._settings:
            self._found.clear()
            self._settings = settings
        self._found.put(key, found, len(key[3]))  # sized by the body
