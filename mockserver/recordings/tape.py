"""Replay: which recorded interaction answers a request, and why none did.

A request is matched on its normalised form: the route, the deployment, the api-version
family (dated or v1) and the JSON body without the fields that do not decide an answer
(`user`, `metadata` by default; on dated routes also `model`, which Azure ignores there),
with volatile text (UUIDs, timestamps) replaced by placeholders before comparing.
Identical requests replay in recorded order, so a conversation that repeats itself
replays turn by turn; with `allow_repeats` the last one answers again once they run out.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from mockserver.recordings.fixtures import (
    CompactFrames,
    Found,
    Frame,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    read_for_replay,
)
from mockserver.redaction.rules import DEFAULT_POLICY, RedactionPolicy
from mockserver.stores.journal import ReplayMiss

DEFAULT_TRANSFORMS = (
    (r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", "<uuid>"),
    (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", "<timestamp>"),
)
_DEPLOYMENT_PATH = re.compile(r"^/openai/deployments/([^/]+)(/.*)$")


@dataclass(frozen=True)
class ReplayRules:
    ignore_body_fields: tuple[str, ...] = ("user", "metadata")
    transforms: tuple[tuple[str, str], ...] = DEFAULT_TRANSFORMS
    allow_repeats: bool = False
    # Fixture files hold bodies redacted: a request is compared as it would be written.
    redaction: RedactionPolicy = DEFAULT_POLICY


def normalized(request: RecordedRequest, rules: ReplayRules) -> dict[str, Any]:
    """What decides the answer to `request`, redacted, volatile text replaced."""
    body = rules.redaction.body(request.body)
    body = body if isinstance(body, dict) else {"<raw>": body}
    match = _DEPLOYMENT_PATH.match(request.path)
    if match:
        deployment, route, family = match.group(1), match.group(2), "dated"
        ignored = {*rules.ignore_body_fields, "model"}
    else:
        deployment, route = str(body.get("model")), request.path.removeprefix("/openai/v1")
        family, ignored = "v1", set(rules.ignore_body_fields)
    kept = {key: value for key, value in body.items() if key not in ignored}
    compiled = _compiled(rules.transforms)
    return {
        "method": request.method.upper(),
        "route": route,
        "deployment": deployment,
        "api_family": family,
        "body": _transform(kept, compiled),
    }


@functools.lru_cache(maxsize=64)
def _compiled(transforms: tuple[tuple[str, str], ...]) -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile(pattern), replacement) for pattern, replacement in transforms]


def _transform(value: Any, compiled: list[tuple[re.Pattern[str], str]]) -> Any:
    if isinstance(value, str):
        for pattern, replacement in compiled:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, dict):
        return {key: _transform(item, compiled) for key, item in value.items()}
    if isinstance(value, list):
        return [_transform(item, compiled) for item in value]
    return value


def _key(form: dict[str, Any]) -> bytes:
    return orjson.dumps(form, option=orjson.OPT_SORT_KEYS)


# Requests whose matching form the tape remembers, by method, path and body bytes as sent
# (the same request replayed again is neither decoded nor normalised again); bodies over
# MEMO_BODY_BYTES are normalised every time, so the memo holds at most ~MEMO_FORMS x
# MEMO_BODY_BYTES.
MEMO_FORMS = 1024
MEMO_BODY_BYTES = 16 * 1024

# An answer larger than this stays on disk until it is replayed: the tape keeps requests
# (to match) and small answers, so its memory does not grow with the answers' sizes.
KEPT_IN_MEMORY = 1024 * 1024


@dataclass(frozen=True)
class Recorded:
    """An interaction and where it came from: the file and its position there."""

    interaction: Interaction
    source: str  # "examples.json#3" (a single file) or "recordings#3" (a cassette)
    on_disk: Path | None = None  # the file its answer is read from when it replays
    position: int = 0

    async def answer(self) -> RecordedResponse:
        if self.on_disk is None:
            return self.interaction.response
        return await asyncio.to_thread(_read_answer, self.on_disk, self.position)


def _read_answer(path: Path, position: int) -> RecordedResponse:
    """The answer read again (on a thread: read_for_replay lets the loop run meanwhile)."""
    return read_for_replay(path).interactions[position].response


def _light(found: Found) -> Recorded:
    """What the tape keeps of a found interaction: all of it, or its request alone."""
    response = found.interaction.response
    size = len(response.body or "") + _frames_size(response.frames)
    if size <= KEPT_IN_MEMORY:
        return Recorded(found.interaction, found.where)
    bare = response.model_copy(update={"body": None, "frames": None})
    interaction = found.interaction.model_copy(update={"response": bare})
    return Recorded(interaction, found.where, found.path, found.position)


def _frames_size(frames: Sequence[Frame] | None) -> int:
    if isinstance(frames, CompactFrames):
        return frames.text_bytes
    return sum(len(frame.data) for frame in frames or [])


class Query(Protocol):
    """A request as the tape is asked it: its bytes, and its recorded form when needed."""

    @property
    def sent_as(self) -> tuple[str, str, bytes]:
        """The method, the path and the body as sent (they decide the matching form)."""
        ...

    @property
    def recorded(self) -> RecordedRequest:
        """The request as a recording holds it (made only when the form is not known)."""
        ...


@dataclass(frozen=True)
class Candidates:
    """The recordings of one request, in recorded order, and the key they are counted by."""

    key: str  # a hash of the request's matching form (what the replay ledger counts)
    recorded: tuple[Recorded, ...]


@dataclass
class Tape:
    """The recorded interactions, found by their request's matching form. Read-only once
    loaded: which of them a session used up is the replay ledger's (a store)."""

    rules: ReplayRules
    _by_form: dict[bytes, list[Recorded]] = field(default_factory=dict)
    _all: list[tuple[dict[str, Any], Recorded]] = field(default_factory=list)
    _forms: dict[tuple[str, str, bytes], tuple[bytes, str]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def from_fixtures(cls, found: Iterable[Found], rules: ReplayRules) -> Tape:
        """`found`: interactions in recorded order (find_fixtures), read a file at a time."""
        tape = cls(rules)
        for item in found:
            tape.add(_light(item))
        return tape

    def add(self, recorded: Recorded) -> None:
        form = normalized(recorded.interaction.request, self.rules)
        self._by_form.setdefault(_key(form), []).append(recorded)
        self._all.append((form, recorded))

    def __len__(self) -> int:
        return len(self._all)

    def find(self, query: Query) -> Candidates | None:
        """The recordings that match the request, or None."""
        form, key = self._form_of(query)
        found = self._by_form.get(form)
        if not found:
            return None
        return Candidates(key, tuple(found))

    def _form_of(self, query: Query) -> tuple[bytes, str]:
        """The request's matching form and its hash, remembered for small bodies."""
        sent = query.sent_as
        if len(sent[2]) > MEMO_BODY_BYTES:
            return self._form(query.recorded)
        known = self._forms.get(sent)
        if known is None:
            if len(self._forms) >= MEMO_FORMS:
                self._forms.clear()
            known = self._forms[sent] = self._form(query.recorded)
        return known

    def _form(self, request: RecordedRequest) -> tuple[bytes, str]:
        form = _key(normalized(request, self.rules))
        return form, hashlib.sha256(form).hexdigest()

    def explain_miss(self, request: RecordedRequest) -> str:
        """The nearest recorded interaction and the fields that differ from it."""
        miss = self.nearest(request)
        if miss is None:
            return "No interaction is recorded."
        fields = ", ".join(miss.differs[:8]) or "nothing (its replays are used up)"
        return f"The nearest recorded interaction is {miss.nearest}; it differs in: {fields}."

    def nearest(self, request: RecordedRequest) -> ReplayMiss | None:
        """The recorded interaction nearest `request` and every field that differs, or None."""
        if not self._all:
            return None
        wanted = normalized(request, self.rules)
        ranked = sorted(self._all, key=lambda item: len(differences(wanted, item[0])))
        form, nearest = ranked[0]
        return ReplayMiss(nearest.source, differences(wanted, form))


def differences(wanted: Any, recorded: Any, path: str = "") -> list[str]:
    """The paths at which two normalised requests differ, shallowest first."""
    if isinstance(wanted, dict) and isinstance(recorded, dict):
        found: list[str] = []
        for key in sorted(set(wanted) | set(recorded)):
            found += differences(wanted.get(key), recorded.get(key), f"{path}.{key}".lstrip("."))
        return found
    if isinstance(wanted, list) and isinstance(recorded, list) and len(wanted) == len(recorded):
        found = []
        for index, (a, b) in enumerate(zip(wanted, recorded, strict=True)):
            found += differences(a, b, f"{path}[{index}]")
        return found
    return [] if wanted == recorded else [path or "<request>"]
