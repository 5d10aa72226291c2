"""Typed keys for what lives on the app and on each request."""

from __future__ import annotations

from aiohttp import web

from mockserver.faults import Fault
from mockserver.state import AppState

STATE = web.AppKey("state", AppState)
REQUEST_ID = web.RequestKey("apim_request_id", str)
# Set on an error response that Azure sends without any Content-Type.
NO_CONTENT_TYPE = web.ResponseKey("no_content_type", bool)
# The fault x-mock-fault asked for, for the stream writer.
FAULT = web.RequestKey("fault", Fault)
