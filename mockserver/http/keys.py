"""Typed keys for what lives on the app and on each request."""

from __future__ import annotations

from aiohttp import web

from mockserver.pipeline import Trace
from mockserver.state import AppState

STATE = web.AppKey("state", AppState)
REQUEST_ID = web.RequestKey("apim_request_id", str)
# Set on an error response that Azure sends without any Content-Type.
NO_CONTENT_TYPE = web.ResponseKey("no_content_type", bool)
# The catalogue name of the error a response carries: some gateway errors send fewer headers.
ERROR_NAME = web.ResponseKey("error_name", str)
# What the pipeline learnt of an inference request, for the journal and the metrics.
TRACE = web.RequestKey("trace", Trace)
# The body, once read within its deadline (http/body.py): the route and the journal take it.
BODY = web.RequestKey("body", bytes)
# Set on an answer whose body is orjson's own bytes of a JSON value (Rendered.written_by_orjson).
WRITTEN_BY_ORJSON = web.ResponseKey("written_by_orjson", bool)
# Set by the writers when the client went away, or the connection was dropped on purpose.
DISCONNECTED = web.RequestKey("disconnected", bool)
# The mock's own APIs (admin, metrics): no x-mock-fault, no journal, their own token.
OWN_API_PREFIXES = ("/__admin", "/metrics")
