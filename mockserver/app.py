"""The application factory: one aiohttp app per Settings, its state under one AppKey."""

from __future__ import annotations

from aiohttp import web

from mockserver import tokens
from mockserver.admin.routes import create_admin_app
from mockserver.api.faults import inject_faults
from mockserver.api.journal import record_requests
from mockserver.api.keys import STATE
from mockserver.api.middlewares import azure_envelope, finish_headers
from mockserver.api.routes import add_routes
from mockserver.config import Settings
from mockserver.contract.model_card import load_model_card
from mockserver.contract.request import checker_for
from mockserver.state import AppState
from mockserver.stubs import load_stub_files


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[azure_envelope, record_requests, inject_faults],
    )
    app[STATE] = AppState.from_settings(settings)
    if settings.stubs_dir is not None:
        for stub in load_stub_files(settings.stubs_dir):
            app[STATE].stubs.add(stub)
    add_routes(app)
    app.add_subapp("/__admin/", create_admin_app())
    app.on_startup.append(_warm_up)
    app.on_response_prepare.append(finish_headers)
    app.on_cleanup.append(_close)
    return app


async def _warm_up(app: web.Application) -> None:
    """Load the tokenizer, model cards and schemas before the first request needs them."""
    tokens.encoding()
    for deployment in app[STATE].settings.deployments.values():
        load_model_card(deployment.model)
    checker_for("2025-04-01-preview")
    checker_for("2024-10-21")


async def _close(app: web.Application) -> None:
    await app[STATE].close()
