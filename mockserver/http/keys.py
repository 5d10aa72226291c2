"""Typed keys for what lives on the app and on each request."""

from __future__ import annotations

from aiohttp import web

from mockserver.engines.base import Effects
from mockserver.faults.kinds import Fault
from mockserver.state import AppState

STATE = web.AppKey("state", AppState)
REQUEST_ID = web.RequestKey("apim_request_id", str)
# Set on an error response that Azure sends without any Content-Type.
NO_CONTENT_TYPE = web.ResponseKey("no_content_type", bool)
# The catalogue name of the error a response carries: some gateway errors send fewer headers.
ERROR_NAME = web.ResponseKey("error_name", str)
# The fault x-mock-fault asked for, for the stream writer.
FAULT = web.RequestKey("fault", Fault)
# Set by the chat routes for the journal: the surface and deployment, what answered.
SURFACE = web.RequestKey("surface", str)
DEPLOYMENT = web.RequestKey("deployment", str)
EFFECTS = web.RequestKey("effects", Effects)
# The JSON body as the route decoded it, so the journal does not decode it again.
JSON_BODY = web.RequestKey("json_body", dict)
# The kind of fault (x-mock-fault, chaos, a stub's) that acted on the request, for the metrics.
FAULT_KIND = web.RequestKey("fault_kind", str)
# Set by the stream writer when the client went away mid-stream.
DISCONNECTED = web.RequestKey("disconnected", bool)
# The mock's own APIs (admin, metrics): no x-mock-fault, no journal, their own token.
OWN_API_PREFIXES = ("/__admin", "/metrics")
