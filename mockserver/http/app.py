"""The application factory: one aiohttp app per Settings, its state under one AppKey."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from mockserver.admin.metrics import install_metrics
from mockserver.admin.routes import create_admin_app
from mockserver.config import Settings
from mockserver.contract.model_card import load_model_card
from mockserver.contract.request import checker_for
from mockserver.engines import jsonschema_gen
from mockserver.engines.stubs import Stub, load_stub_files
from mockserver.engines.vocabulary import vocabulary
from mockserver.http.keys import STATE
from mockserver.http.middlewares import every_request, header_finisher
from mockserver.http.routes import add_routes
from mockserver.redaction.rules import install_log_filter
from mockserver.state import AppState
from mockserver.tokens import counting as tokens

# The stubs of `stubs_dir`, read when the app is made and stored when it starts.
STUB_FILES = web.AppKey("stub_files", list[Stub])


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings()
    app = web.Application(
        client_max_size=settings.server.max_body_bytes,
        # Metrics, envelope, journal, gateway (the key is checked before faults and before
        # any route answers), body deadline: in that order, in one middleware.
        middlewares=[every_request],
    )
    app[STATE] = AppState.from_settings(settings)
    install_log_filter(logging.getLogger("mockserver"))  # secrets never logged
    if settings.answers.stubs_dir is not None:
        # Read (and refused if wrong) now; stored once the loop runs.
        app[STUB_FILES] = load_stub_files(settings.answers.stubs_dir)
        app.on_startup.append(_add_stub_files)
    add_routes(app)
    install_metrics(app)  # GET /metrics
    app.add_subapp("/__admin/", create_admin_app())
    app.on_startup.append(_warm_up)
    app.on_response_prepare.append(header_finisher(app[STATE]))
    app.on_cleanup.append(_close)
    if settings.store.shared:  # first: the stub files are stored into it
        app.on_startup.insert(0, _open_shared_store)
    return app


async def _open_shared_store(app: web.Application) -> None:
    """The stores on Redis, opened in the process that serves (after a fork, per worker).
    Imported here: redis-py takes a tenth of a second to import, for memory state too."""
    from mockserver.stores.redis import RedisBackend, open_client

    state = app[STATE]
    store = state.settings.store
    client = await open_client(store.url)  # StoreConnectError: one line, no password
    await state.backend.close()
    state.backend = RedisBackend(client, state.settings, store.prefix)
    await state.start_backend()  # settings PATCHed on any process apply here; idle sessions expire


async def _add_stub_files(app: web.Application) -> None:
    for stub in app[STUB_FILES]:
        await app[STATE].stores().stubs.add(stub)  # the default session's


async def _warm_up(app: web.Application) -> None:
    """Model cards and schemas now; the tokenizer and word lists on a thread.

    Building o200k_base and importing Faker take most of a second, so the server answers
    (its health check first) while they load. A request that needs them sooner waits
    for them; nothing is answered from a half-built tokenizer.
    """
    for deployment in app[STATE].settings.deployments.values():
        load_model_card(deployment.model)
    checker_for("2025-04-01-preview")
    checker_for("2024-10-21")
    warm_up = asyncio.get_running_loop().run_in_executor(None, _load_slow_parts)
    # Run on the loop as soon as the tokenizer is built, before any request waiting for
    # it resumes (callbacks run in the order they were added).
    warm_up.add_done_callback(_claim_fast_path)
    app[STATE].warm_up = warm_up


def _claim_fast_path(built: asyncio.Future[None]) -> None:
    if not built.cancelled() and built.exception() is None:
        tokens.claim_fast_path()


def _load_slow_parts() -> None:
    tokens.encoding()
    vocabulary()
    jsonschema_gen.warm_up()


async def warmed(app: web.Application) -> None:
    """Return once the warm-up is over (raises what it raised)."""
    warm_up = app[STATE].warm_up
    if warm_up is not None:
        await warm_up


async def _close(app: web.Application) -> None:
    warm_up = app[STATE].warm_up
    if warm_up is not None:  # its thread ends before the loop does
        await asyncio.gather(warm_up, return_exceptions=True)
    await app[STATE].close()
