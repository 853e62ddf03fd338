"""The failures a user causes with their settings, as one line: what is wrong and how to fix it.

The ``mysetlist`` command turns these into ``Error: <line>`` and exit code 1 instead of a
traceback. Anything not named here is a defect and keeps its traceback. No line holds a secret:
URLs lose their passwords and texts pass through ``redact``.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cli.checks import safe_url, sqlite_file
from clients.errors import redact

if TYPE_CHECKING:
    import httpx

__all__ = [
    "SUPPORTED_DATABASES",
    "database_problem",
    "database_url_problem",
    "first_line",
    "listen_problem",
    "missing_database_problem",
    "prefect_problem",
    "revision_problem",
]

#: The driver names ``DATABASE_URL`` may use (the engine is async).
SUPPORTED_DATABASES: Final = ("sqlite+aiosqlite", "postgresql+asyncpg")
_EXAMPLES: Final = (
    "use sqlite+aiosqlite:///path/to/mysetlist.db or "
    "postgresql+asyncpg://user:password@host:5432/mysetlist"
)


def first_line(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """``Type: first line of the message``, redacted."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return redact(text, list(secrets))


def database_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be our ``DATABASE_URL`` (unparseable, a driver we cannot use), or None."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"DATABASE_URL is not a database URL: {_EXAMPLES}"
    if parsed.drivername not in SUPPORTED_DATABASES:
        return (
            f"DATABASE_URL uses {parsed.drivername!r}, which mysetlist cannot use "
            f"(it needs an async driver): {_EXAMPLES}"
        )
    return None


def missing_database_problem(url: str) -> str | None:
    """For a command that only reads: the SQLite file ``url`` names does not exist (connecting
    would create an empty one)."""
    path = sqlite_file(url)
    if path is None or path.exists():
        return None
    return (
        f"no database at {path}: create it with `mysetlist db upgrade`, "
        "or point DATABASE_URL at yours"
    )


def database_problem(exc: BaseException, url: str, secrets: Iterable[str] = ()) -> str | None:
    """A database that cannot be opened or reached, or None for any other failure."""
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, DBAPIError | OSError) and not _is_asyncpg_error(exc):
        return None
    where = "check DATABASE_URL" + (
        "" if sqlite_file(url) is not None else " and that the database server is running"
    )
    shown: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:  # the driver's own error
        shown = exc.orig.__cause__ or exc.orig  # asyncpg's, behind SQLAlchemy's adapter
    return f"cannot open the database at {safe_url(url)}: {first_line(shown, secrets)}; {where}"


def _is_asyncpg_error(exc: BaseException) -> bool:
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - a dependency
        return False
    return isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError)


def revision_problem(exc: BaseException, revision: str) -> str | None:
    """An Alembic revision that does not exist, or None."""
    from alembic.util import CommandError

    if not isinstance(exc, CommandError):
        return None
    return (
        f"cannot migrate to {revision!r}: {first_line(exc)}; "
        "leave --revision out for the newest (head)"
    )


def prefect_problem(exc: BaseException, api: str | None) -> str | None:
    """A Prefect API that cannot be reached or refuses us, or None for any other failure."""
    import httpx

    where = f"the Prefect API at {_safe_http_url(api)}" if api else "the local Prefect server"
    exc = _httpx_cause(exc) or exc  # Prefect wraps some: "RuntimeError: Failed to reach API"
    if isinstance(exc, httpx.HTTPStatusError):
        return _status_problem(exc, where)
    if isinstance(exc, httpx.HTTPError):
        fix = (
            "start it (`prefect server start`) or set PREFECT_API_URL to its /api URL"
            if api
            else "see `prefect config view`, or set PREFECT_API_URL to a running server"
        )
        return f"cannot reach {where}: {first_line(exc)}; {fix}"
    return None


def _httpx_cause(exc: BaseException) -> BaseException | None:
    """The httpx error ``exc`` is, or was raised from (a few links deep at most)."""
    import httpx

    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None or isinstance(seen, httpx.HTTPError):
            return seen
        seen = seen.__cause__
    return None


def _status_problem(exc: httpx.HTTPStatusError, where: str) -> str:
    status = exc.response.status_code
    request = f"{exc.request.method} {exc.request.url.path}"
    if status in (401, 403):
        fix = "check PREFECT_API_KEY or PREFECT_API_AUTH_STRING"
    elif status == 404:
        fix = "is PREFECT_API_URL the server's /api URL (http://host:4200/api)?"
    else:
        fix = "see the Prefect server's log"
    return f"{where} answered {status} to {request}; {fix}"


def _safe_http_url(url: str) -> str:
    import httpx

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "<unparseable URL>"
    if parsed.password:
        return str(parsed.copy_with(password="***"))
    return str(parsed)


def listen_problem(host: str, port: int) -> str | None:
    """Why a server cannot listen on ``host:port`` (in use, unknown host), or None."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror or exc}; check --host"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind(address)
        except OSError as exc:
            fix = (
                "choose another --port, or stop what listens there"
                if exc.errno == errno.EADDRINUSE
                else "check --host and --port"
            )
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}; {fix}"
    return None
