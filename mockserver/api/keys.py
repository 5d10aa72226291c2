"""Typed keys for what lives on the app and on each request."""

from __future__ import annotations

from aiohttp import web

from mockserver.state import AppState

STATE = web.AppKey("state", AppState)
REQUEST_ID = "mockserver.apim_request_id"
