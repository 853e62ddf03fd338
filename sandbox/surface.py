"""What each fake API provides to the app: its endpoints and how it says no."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.core import Sandbox
from sandbox.limits import Refusal

__all__ = ["Endpoint", "Handler", "Surface", "json_response"]

Handler = Callable[[Request], Awaitable[Response]]


def json_response(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse(payload, status_code=status, headers=dict(headers or {}))


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One route. ``path`` is also the endpoint template the stats count under."""

    method: str
    path: str
    handler: Handler
    api: str | None = None  # None: the surface's api
    capped: bool = True
    authenticated: bool = True
    token_endpoint: bool = False  # faults only with ``faults_on_token``


class Surface:
    """Base of the three fake APIs."""

    api: str = ""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def endpoints(self) -> list[Endpoint]:
        raise NotImplementedError

    def authenticate(self, request: Request) -> Response | None:
        """None when the credentials are good, else the refusal."""
        raise NotImplementedError

    def refused(self, request: Request, refusal: Refusal) -> Response:
        """The answer to a request over a rate cap or quota."""
        raise NotImplementedError

    def server_error(self, request: Request, status: int) -> Response:
        """An injected 5xx."""
        raise NotImplementedError

    def finish(self, response: Response) -> None:
        """Last touches on every answer (Ticketmaster's quota headers)."""
