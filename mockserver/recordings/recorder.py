"""The recorder: asks the upstream, relays its answer as it comes, and writes it down.

A stream is passed on piece by piece as it arrives (recording adds no delay) and kept;
any other answer is taken whole (spooled, bounded) first, so that one too large, cut or
silent is answered with an Azure error instead of a torn body. Secrets are redacted
before anything reaches the cassette.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from datetime import UTC, datetime

import aiohttp
import orjson

from mockserver.config import Settings
from mockserver.contract.errors import AzureError, catalogue_error
from mockserver.engines.reply import AnswerBrokeError
from mockserver.recordings.capture import BodyTooLargeError, Capture
from mockserver.recordings.fixtures import (
    UNSENDABLE_HEADER,
    UPSTREAM_PLACEHOLDER,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)
from mockserver.recordings.library import RecordingLibrary
from mockserver.redaction.masking import scrub_urls
from mockserver.redaction.rules import (
    fixture_policy,
    literal_bytes_scrub,
    literal_scrub,
    redact_interaction,
    sent_secrets,
)
from mockserver.support.content_coding import (
    CorruptEncodingError,
    Decoder,
    UnsupportedEncodingError,
)

log = logging.getLogger("mockserver")
# Not forwarded either way: hop-by-hop, recomputed, or the mock's own control headers.
DROPPED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "accept-encoding",
        "content-encoding",
        "date",
        "server",
    }
)
# The upstream's answer failed: nothing of it is recorded.
_UPSTREAM_FAILURES = (aiohttp.ClientError, CorruptEncodingError, BodyTooLargeError, TimeoutError)


class Recorder:
    def __init__(self, library: RecordingLibrary) -> None:
        self.library = library

    async def exchange(self, asked: RecordedRequest, path_qs: str, body: bytes) -> RelayedAnswer:
        """Ask the upstream; the answer, recorded already unless it is a stream."""
        settings = self.library.settings
        started = time.perf_counter()
        upstream = await self._ask(asked, path_qs, body, settings)
        try:
            if not 100 <= upstream.status <= 599:  # nothing a client could be sent
                raise upstream_error(f"the upstream answered status {upstream.status}")
            _refuse_a_declared_excess(upstream, settings)
            decoder = _decoder(upstream)
            streamed = upstream.headers.get("Content-Type", "").startswith("text/event-stream")
            capture = Capture(settings.recording.upstream_max_body_bytes, streamed)
            answer = RelayedAnswer(self, asked, upstream, decoder, capture, started)
        except BaseException:
            upstream.close()
            raise
        if not streamed:
            try:
                await answer.take_whole()
            except BaseException:
                await answer.close()  # nothing of a failed answer is kept, on disk or open
                raise
        return answer

    async def _ask(
        self, asked: RecordedRequest, path_qs: str, body: bytes, settings: Settings
    ) -> aiohttp.ClientResponse:
        url = (settings.recording.upstream or "").rstrip("/") + path_qs
        headers = {
            k: v
            for k, v in asked.headers.items()
            if k.lower() not in DROPPED_HEADERS and not k.lower().startswith("x-mock-")
        }
        # What is only relayed is not transformed: ask for the bytes as they are.
        headers["Accept-Encoding"] = "identity"
        timeout = aiohttp.ClientTimeout(
            total=settings.recording.upstream_total_timeout_seconds,
            sock_connect=settings.recording.upstream_connect_timeout_seconds,
            sock_read=settings.recording.upstream_read_timeout_seconds,
        )
        try:
            return await self.library.http_session().request(
                asked.method, url, data=body, headers=headers, timeout=timeout
            )
        except aiohttp.ConnectionTimeoutError:
            raise upstream_error(
                f"the upstream {settings.recording.upstream} could not be reached within "
                f"{settings.recording.upstream_connect_timeout_seconds} s"
            ) from None
        except TimeoutError:
            raise silent_upstream(settings) from None
        except aiohttp.ClientError as error:
            raise upstream_error(
                # aiohttp's words can quote the answer (an oversized header: its bytes, an
                # echoed key among them): only the kind of failure is told.
                f"the upstream {settings.recording.upstream} could not be reached: "
                f"{type(error).__name__}"
            ) from None

    async def save(
        self, asked: RecordedRequest, response: RecordedResponse, capture: Capture
    ) -> None:
        """Redact, then write (on a thread: it syncs to disk): secrets never reach the file."""
        interaction = Interaction(
            request=asked.model_copy(update={"headers": _without_mock_headers(asked.headers)}),
            response=response.model_copy(update={"encoding": capture.encoding}),
            recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            upstream=UPSTREAM_PLACEHOLDER,
        )
        rules = fixture_policy(self.library.settings)
        secrets = sent_secrets(asked.headers, rules)  # an upstream may echo them back
        interaction = redact_interaction(interaction, rules, secrets)
        scrub, scrub_binary = literal_scrub(secrets), literal_bytes_scrub(secrets)
        cassette = self.library.cassette()
        await asyncio.to_thread(cassette.add, interaction, capture, scrub, scrub_binary)
        self.library.observer.recorded()


class RelayedAnswer:
    """The upstream's answer on its way to the client and to the cassette."""

    keeps_reading_alone = True  # a client that leaves early does not stop the recording

    def __init__(
        self,
        recorder: Recorder,
        asked: RecordedRequest,
        upstream: aiohttp.ClientResponse,
        decoder: Decoder,
        capture: Capture,
        started: float,
    ) -> None:
        self.recorder, self.asked, self.upstream = recorder, asked, upstream
        self.decoder, self.capture, self.started = decoder, capture, started
        self.status = upstream.status
        self.headers = kept_headers(upstream.headers)
        self.streamed = capture.streamed
        self.body: bytes | None = None  # spooled, sent a piece at a time
        self.size: int | None = None
        self._cut = False

    @property
    def cut(self) -> bool:
        return self._cut

    def since(self) -> float:
        """Milliseconds since the request went upstream: when each frame arrived."""
        return round((time.perf_counter() - self.started) * 1000, 1)

    async def take_whole(self) -> None:
        """Read the whole answer and record it: a client that has it whole knows it is on disk."""
        settings = self.recorder.library.settings
        try:
            async for piece in self._decoded():
                self.capture.add(piece)
            self.capture.finish()
        except TimeoutError:
            raise silent_upstream(settings) from None
        except BodyTooLargeError:
            raise too_large(settings) from None
        except (aiohttp.ClientError, CorruptEncodingError) as error:
            raise upstream_error(
                f"the upstream's answer broke off: {type(error).__name__}"
            ) from None
        self.size = self.capture.size
        await self.recorder.save(
            self.asked, RecordedResponse(status=self.status, headers=self.headers), self.capture
        )

    async def pieces(self) -> AsyncGenerator[bytes, None]:
        if not self.streamed:
            for piece in self.capture.pieces():
                yield piece
            return
        async for piece in self._relayed():
            yield piece
        self.capture.finish(self.since())
        recorded = RecordedResponse(status=self.status, headers=self.headers, cut=self._cut)
        await self.recorder.save(self.asked, recorded, self.capture)

    async def _relayed(self) -> AsyncIterator[bytes]:
        """The stream's pieces as they arrive, kept; a cut made by the upstream itself is
        recorded as cut, any other failure is not recorded at all."""
        try:
            async for piece in self._decoded():
                self.capture.add(piece, self.since())
                yield piece
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError):
            self._cut = True
        except _UPSTREAM_FAILURES as error:
            log.warning("a recorded stream failed, not recorded: %r", error)
            raise AnswerBrokeError(str(error)) from None

    async def _decoded(self) -> AsyncIterator[bytes]:
        async for chunk in self.upstream.content.iter_any():
            for piece in self.decoder.feed(chunk):
                yield piece
        self.decoder.finish()

    async def close(self) -> None:
        self.capture.close()
        self.upstream.close()


def _refuse_a_declared_excess(upstream: aiohttp.ClientResponse, settings: Settings) -> None:
    """An answer that says it is too large is refused before any of it is read."""
    encoded = upstream.headers.get("Content-Encoding", "identity").lower() != "identity"
    if not encoded and (upstream.content_length or 0) > settings.recording.upstream_max_body_bytes:
        raise too_large(settings)


def _decoder(upstream: aiohttp.ClientResponse) -> Decoder:
    """How to undo the answer's Content-Encoding, or a 502 if the recorder cannot."""
    declared = upstream.headers.get("Content-Encoding", "")
    try:
        return Decoder(declared)
    except UnsupportedEncodingError:
        raise upstream_error(
            f"the upstream answered in Content-Encoding {declared!r}, which is not recorded"
        ) from None


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """An answer's headers as relayed or replayed: hop-by-hop and recomputed ones left out."""
    return {
        k: v
        for k, v in headers.items()
        # A header with a control character cannot be sent on (aiohttp refuses it).
        if k.lower() not in DROPPED_HEADERS and not UNSENDABLE_HEADER.search(k + v)
    }


def _without_mock_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if not k.lower().startswith("x-mock-")}


def silent_upstream(settings: Settings) -> AzureError:
    """Azure's own answer to an operation that takes too long (408 "Timeout")."""
    log.warning(
        "the upstream was silent for %s s or took over %s s in all; answered 408",
        settings.recording.upstream_read_timeout_seconds,
        settings.recording.upstream_total_timeout_seconds,
    )
    return catalogue_error("request_timeout")


def too_large(settings: Settings) -> AzureError:
    message = (
        f"The upstream's answer is larger than {settings.recording.upstream_max_body_bytes} bytes "
        "(upstream_max_body_bytes); it was neither relayed nor recorded."
    )
    body = orjson.dumps({"error": {"code": "UpstreamResponseTooLarge", "message": message}})
    return AzureError(502, body, name="UpstreamResponseTooLarge")


def upstream_error(message: str) -> AzureError:
    # The upstream URL (and aiohttp's text about it) may carry credentials: never echoed.
    masked = scrub_urls(message)
    body = orjson.dumps({"error": {"code": "UpstreamUnavailable", "message": masked}})
    return AzureError(502, body, name="UpstreamUnavailable")
