"""The sandbox over loopback HTTP (uvicorn): blocking for the CLI, in a thread for demos and tests.

The access log is off: Ticketmaster keys travel in the query string.
"""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType
from typing import Final, Self

import uvicorn

from sandbox.app import create_app
from sandbox.catalog import Catalog
from sandbox.config import DEMO_CREDENTIALS, SandboxConfig
from sandbox.core import Sandbox
from sandbox.faults import SimulatedFaultFilter

__all__ = [
    "DEFAULT_PORT",
    "DEMO_CREDENTIALS",
    "SandboxServer",
    "demo_settings_overrides",
    "run_server",
    "sandbox_settings_overrides",
    "start_in_thread",
]

DEFAULT_PORT: Final = 8765
STARTUP_TIMEOUT: Final = 15.0


def sandbox_settings_overrides(url: str) -> dict[str, str]:
    """The ``Settings`` base-URL fields that point the clients at a sandbox served at ``url``."""
    origin = url.rstrip("/")
    return {
        "spotify_api_url": f"{origin}/v1",
        "spotify_accounts_url": origin,
        "ticketmaster_api_url": f"{origin}/discovery/v2",
        "setlistfm_api_url": f"{origin}/rest/1.0",
    }


def demo_settings_overrides(url: str) -> dict[str, str]:
    """``sandbox_settings_overrides`` plus the ``DEMO_CREDENTIALS``."""
    return {**sandbox_settings_overrides(url), **DEMO_CREDENTIALS}


def _quiet_injected_faults() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, SimulatedFaultFilter) for f in logger.filters):
        logger.addFilter(SimulatedFaultFilter())


def _uvicorn_config(
    config: SandboxConfig, *, host: str, port: int, log_level: str, catalog: Catalog | None
) -> tuple[uvicorn.Config, Sandbox]:
    _quiet_injected_faults()
    app = create_app(config, catalog=catalog)
    sandbox: Sandbox = app.state.sandbox
    uv_config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="off",
    )
    return uv_config, sandbox


def run_server(
    config: SandboxConfig,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    log_level: str = "info",
) -> None:
    """Serve the sandbox until interrupted (blocking)."""
    uv_config, _ = _uvicorn_config(config, host=host, port=port, log_level=log_level, catalog=None)
    uvicorn.Server(uv_config).run()


class SandboxServer:
    """A sandbox served from a background thread; a context manager that stops it on exit."""

    def __init__(
        self, server: uvicorn.Server, thread: threading.Thread, url: str, sandbox: Sandbox
    ) -> None:
        self._server = server
        self._thread = thread
        self.url = url
        self.sandbox = sandbox

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout=STARTUP_TIMEOUT)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_in_thread(
    config: SandboxConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    log_level: str = "warning",
    catalog: Catalog | None = None,
) -> SandboxServer:
    """Start serving in a daemon thread and return once it accepts connections.

    ``port=0`` picks a free port; the chosen one is in ``.url``.
    """
    uv_config, sandbox = _uvicorn_config(
        config, host=host, port=port, log_level=log_level, catalog=catalog
    )
    server = uvicorn.Server(uv_config)
    thread = threading.Thread(target=server.run, name="sandbox-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the sandbox server did not start on {host}:{port}")
        time.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    return SandboxServer(server, thread, f"http://{host}:{bound_port}", sandbox)
