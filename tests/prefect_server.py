"""A throwaway Prefect server for the test session, on PostgreSQL like production.

``prefect.testing.utilities.prefect_test_harness`` always puts its server on SQLite, where
global concurrency limits are slow under concurrent acquisition (measured: 8 tasks taking 160
slots waited 55 s; one at a time 0.1 s each), which is the very thing the flow tests exercise.
This is the same harness with the server's database URL as a parameter.

The clients also get a CA file of one certificate (``PREFECT_API_SSL_CERT_FILE``): Prefect builds
an SSL context for each client it creates, two per flow run, loading certifi's bundle of ~150
certificates each time (33 ms CPU, 0.1 s at load 8; 20 s of a 2-day simulation's 166 s). The
server is plain HTTP, so no certificate is ever checked.
"""

from __future__ import annotations

import inspect
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import prefect.context
import prefect.settings
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.server.api.server import SubprocessASGIServer
from prefect.server.database.dependencies import temporary_database_interface
from prefect.testing.utilities import _find_available_port
from prefect.utilities.asyncutils import run_coro_as_sync

from cli.simulate import one_certificate_bundle

__all__ = ["prefect_server"]


@contextmanager
def prefect_server(database_url: str, *, startup_timeout: int = 120) -> Iterator[str]:
    """Run a Prefect API server on ``database_url`` in a subprocess; yields its API URL."""
    with ExitStack() as stack:
        stack.enter_context(temporary_database_interface())
        stack.enter_context(
            prefect.settings.temporary_settings(
                updates={prefect.settings.PREFECT_SERVER_DATABASE_CONNECTION_URL: database_url}
            )
        )
        server = SubprocessASGIServer(port=_find_available_port())
        prior = SubprocessASGIServer._instances.get(None)
        SubprocessASGIServer._instances[None] = server
        server.start(timeout=startup_timeout)
        ca_file = one_certificate_bundle(Path(stack.enter_context(tempfile.TemporaryDirectory())))
        stack.enter_context(
            prefect.settings.temporary_settings(
                updates={
                    prefect.settings.PREFECT_API_URL: server.api_url,
                    prefect.settings.PREFECT_API_SSL_CERT_FILE: str(ca_file),
                }
            )
        )
        stack.enter_context(
            prefect.context._temporary_global_settings_context(
                prefect.context.get_settings_context()
            )
        )
        try:
            yield server.api_url
        finally:

            async def drain() -> None:
                try:
                    result = APILogWorker.instance().drain()
                    if inspect.isawaitable(result):
                        await result
                except RuntimeError:
                    pass
                result = EventsWorker.drain_all()
                if inspect.isawaitable(result):
                    await result

            run_coro_as_sync(drain())
            server.stop()
            if prior is not None:
                SubprocessASGIServer._instances[None] = prior
            else:
                SubprocessASGIServer._instances.pop(None, None)
