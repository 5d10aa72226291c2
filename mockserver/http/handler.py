"""The one handler of every inference operation, and the one of every resource route.

Each reads the HTTP request into a `Call`, hands it to the pipeline (or the resource),
and lets the writer carry out the outcome. Nothing else about HTTP happens here.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver import pipeline
from mockserver.contract.headers import json_content_type
from mockserver.faults import plan as fault_plan
from mockserver.faults.kinds import mock_header_error
from mockserver.http import writer
from mockserver.http.keys import BODY, REQUEST_ID, STATE, TRACE
from mockserver.operations.base import Call, Operation, Resource, Surface
from mockserver.pipeline import Trace
from mockserver.stores.sessions import SessionError, session_of


def inference(operation: Operation, surface: Surface) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]  # the routes' app
        trace = request[TRACE] = Trace()
        outcome = await pipeline.run(state, operation, await _call(request, surface), trace)
        hang_seconds = state.settings.faults.hang_seconds
        return await writer.write(request, outcome, surface, hang_seconds)

    return handle


def resource(served: Resource) -> Handler:
    """A route that reads what an operation stored; x-mock-fault applies to it too."""
    surface = served.route.surface

    async def handle(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]  # the routes' app
        trace = request[TRACE] = Trace(surface=surface)
        call = await _call(request, surface)
        plan = await fault_plan.from_headers(call.headers, state.stores(call.session).faults)
        trace.fault = plan.described
        if plan.acts_now:
            outcome = pipeline.act_now(state, call, plan)
            return await writer.write(request, outcome, surface, state.settings.faults.hang_seconds)
        body = await served.serve(state, call)
        response = web.Response(body=body, headers={"Content-Type": json_content_type(surface)})
        return await writer.whole(request, response, plan.on_body)

    return handle


async def _call(request: web.Request, surface: Surface) -> Call:
    body = request.get(BODY)  # read by the body step within its deadline (b"" included)
    if body is None:
        body = await request.read()
    return Call(
        surface=surface,
        method=request.method,
        path=request.path,
        path_qs=request.path_qs,
        query=request.query,
        headers=request.headers,
        body=body,
        path_params=request.match_info,
        request_id=request[REQUEST_ID],
        session=session_for(request.headers),
    )


def session_for(headers: Mapping[str, str]) -> str:
    """The session a request names; a bad id is the mock's header error (a 400)."""
    try:
        return session_of(headers)
    except SessionError as error:
        raise mock_header_error(str(error)) from None
