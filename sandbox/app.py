"""The sandbox ASGI app: Spotify, Ticketmaster and setlist.fm under one origin.

Every request goes through the same steps, in this order:

1. credentials (a refused key or token is not counted against any cap, as upstream);
2. rate caps: a request that finds a bucket empty is refused the way the API says so and
   counted in ``stats.over_cap``; an admitted request takes a token whether or not a fault
   follows (the clients' limiter also spends one per attempt);
3. the fault draw (before any work, so injection never changes what the data is);
4. latency, slept on the sandbox clock;
5. the handler, then hostile mode (``sandbox/hostile.py``: bad records, error bodies, inflated
   totals), then any corruption the fault asks for, then accounting in ``stats``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.catalog import Catalog
from sandbox.config import SandboxConfig
from sandbox.core import Sandbox
from sandbox.faults import DroppedResponse, malformed
from sandbox.setlistfm import SetlistFmSurface
from sandbox.spotify import SpotifySurface
from sandbox.stats import DROPPED
from sandbox.surface import Endpoint, Handler, Surface
from sandbox.ticketmaster import TicketmasterSurface

__all__ = ["create_app"]


def _pipeline(sandbox: Sandbox, surface: Surface, endpoint: Endpoint) -> Handler:
    api = endpoint.api or surface.api
    template = endpoint.path
    faultable = not endpoint.token_endpoint or sandbox.config.faults_on_token

    def done(response: Response) -> Response:
        surface.finish(response)
        sandbox.stats.record(api, template, response.status_code)
        return response

    async def handle(request: Request) -> Response:
        if endpoint.authenticated:
            denied = surface.authenticate(request)
            if denied is not None:
                return done(denied)
        if endpoint.capped:
            refusal = sandbox.admit(api)
            if refusal is not None:
                sandbox.stats.refused(api, refusal.reason)
                return done(surface.refused(request, refusal))
        fault = sandbox.decide_fault() if faultable else None
        await sandbox.delay()
        if fault is not None:
            sandbox.stats.faulted(api, fault)
        if fault == "500" or fault == "503":
            return done(surface.server_error(request, int(fault)))
        if fault == "timeout":
            sandbox.stats.record(api, template, DROPPED)
            return DroppedResponse.timeout()
        response = await endpoint.handler(request)
        if sandbox.hostility.enabled:
            response = sandbox.hostility.apply(template, request, response)
        surface.finish(response)
        if fault == "truncated_body":
            sandbox.stats.record(api, template, DROPPED)
            return DroppedResponse.truncated(response)
        if fault == "malformed_json":
            response = malformed(response)
        sandbox.stats.record(api, template, response.status_code)
        return response

    return handle


def create_app(config: SandboxConfig, *, catalog: Catalog | None = None) -> Starlette:
    """The sandbox app; its state is ``app.state.sandbox`` (a ``Sandbox``).

    ``catalog`` lets tests share one prebuilt catalogue between sandboxes (it must have been
    built from the same seed, size and date as ``config``).
    """
    sandbox = Sandbox(config, catalog=catalog)
    surfaces: list[Surface] = [
        SpotifySurface(sandbox),
        TicketmasterSurface(sandbox),
        SetlistFmSurface(sandbox),
    ]
    routes = [
        Route(
            endpoint.path,
            _pipeline(sandbox, surface, endpoint),
            methods=[endpoint.method],
            name=f"{endpoint.api or surface.api}:{endpoint.path}",
        )
        for surface in surfaces
        for endpoint in surface.endpoints()
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = sandbox
    return app
