"""Injected faults that reach an httpx client as real transient errors, in-process and over TCP.

* ``timeout``: the status line and headers go out, the body never does. In-process
  (``httpx.ASGITransport`` re-raises app exceptions) the client gets ``httpx.ReadTimeout``;
  over loopback uvicorn drops the connection and the client gets ``httpx.RemoteProtocolError``.
* ``truncated_body``: the full ``Content-Length`` is announced, half the body is sent, then the
  connection drops: ``httpx.RemoteProtocolError`` both ways.
* ``malformed_json``: a complete 200-class answer whose body is cut in half (invalid JSON).
* ``500`` / ``503``: the API's own error body for that status.
"""

from __future__ import annotations

import logging

import httpx
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

__all__ = [
    "DroppedResponse",
    "SimulatedDisconnect",
    "SimulatedFault",
    "SimulatedFaultFilter",
    "SimulatedTimeout",
    "malformed",
]


class SimulatedFault(Exception):
    """Marker of the exceptions the sandbox raises on purpose."""


class SimulatedTimeout(httpx.ReadTimeout, SimulatedFault):
    """The sandbox stopped answering mid-response."""


class SimulatedDisconnect(httpx.RemoteProtocolError, SimulatedFault):
    """The sandbox dropped the connection before the body was complete."""


class DroppedResponse(Response):
    """Sends the status line, headers and ``partial`` body, then raises ``error``."""

    def __init__(
        self,
        *,
        status_code: int,
        raw_headers: list[tuple[bytes, bytes]],
        partial: bytes,
        error: SimulatedFault,
    ) -> None:
        super().__init__(status_code=status_code)
        self.raw_headers = raw_headers
        self._partial = partial
        self._error = error

    @classmethod
    def timeout(cls) -> DroppedResponse:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
        return cls(
            status_code=200,
            raw_headers=headers,
            partial=b"",
            error=SimulatedTimeout("sandbox: simulated read timeout (no body sent)"),
        )

    @classmethod
    def truncated(cls, response: Response) -> DroppedResponse:
        body = bytes(response.body)
        return cls(
            status_code=response.status_code,
            raw_headers=list(response.raw_headers),
            partial=body[: len(body) // 2],
            error=SimulatedDisconnect(
                "sandbox: peer closed connection without sending complete message body"
            ),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if self._partial:
            await send({"type": "http.response.body", "body": self._partial, "more_body": True})
        raise self._error


def malformed(response: Response) -> Response:
    """The same answer with its body cut in half (``Content-Length`` fixed): invalid JSON."""
    body = bytes(response.body)
    cut = body[: max(1, len(body) // 2)]
    headers = {
        key.decode("latin-1"): value.decode("latin-1")
        for key, value in response.raw_headers
        if key.lower() != b"content-length"
    }
    return Response(content=cut, status_code=response.status_code, headers=headers)


class SimulatedFaultFilter(logging.Filter):
    """Drops the server's "Exception in ASGI application" records for injected faults."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, SimulatedFault)
