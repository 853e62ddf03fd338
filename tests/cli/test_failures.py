"""Expected failures (bad settings, a database or Prefect API out of reach, a port in use) end
in one line on stderr naming the problem and its fix, exit code 1, and no traceback."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiosqlite.core
import pytest
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW,
    temporary_settings,
)
from typer.testing import CliRunner

import cli.main
from cli.main import app
from models.migrate import upgrade
from tasks.deps import MissingCredentials

runner = CliRunner()
EXAMPLES = (
    "use sqlite+aiosqlite:///path/to/mysetlist.db or "
    "postgresql+asyncpg://user:password@host:5432/mysetlist"
)
SQLITE_WORKER = "(_connection_worker_thread)"


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A local port something already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def migrated_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
    asyncio.run(upgrade(url))
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.fixture
def unreachable_prefect(closed_port: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """PREFECT_API_URL points at a closed port. Prefect's transport retries a refused connection
    3 times after 0.5 s and 1 s: here without the pauses (tests never sleep)."""
    import httpcore._async.connection

    monkeypatch.setattr(httpcore._async.connection, "exponential_backoff", _no_backoff)
    api = f"http://127.0.0.1:{closed_port}/api"
    with temporary_settings(updates={PREFECT_API_URL: api}):
        yield api


def _no_backoff(factor: float) -> Iterator[float]:
    while True:
        yield 0.0


# --- the database --------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["status"], ["db", "upgrade"], ["check", "db"], ["monitor"]])
@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("not a url", f"DATABASE_URL is not a database URL: {EXAMPLES}"),
        (
            "postgresql://app:hunter2@127.0.0.1/mysetlist",
            "DATABASE_URL uses 'postgresql', which mysetlist cannot use (it needs an async "
            f"driver): {EXAMPLES}",
        ),
        (
            "mysql+aiomysql://app:hunter2@127.0.0.1/mysetlist",
            "DATABASE_URL uses 'mysql+aiomysql', which mysetlist cannot use (it needs an async "
            f"driver): {EXAMPLES}",
        ),
    ],
)
def test_a_database_url_we_cannot_use_is_named_with_the_forms_we_can(
    command: list[str], url: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)

    result = runner.invoke(app, command)

    assert result.exit_code == 1
    assert result.stderr == f"Error: {problem}\n"
    assert result.stdout == ""


@pytest.mark.parametrize("command", [["status"], ["status", "--json"], ["seed"]])
def test_a_command_that_reads_never_creates_a_missing_sqlite_file(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "typo.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")

    result = runner.invoke(app, command)

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: no database at {path}: create it with `mysetlist db upgrade`, "
        "or point DATABASE_URL at yours\n"
    )
    assert result.stdout == ""
    assert not path.exists()


def test_an_unmigrated_database_names_db_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    (tmp_path / "empty.db").touch()
    monkeypatch.setenv("DATABASE_URL", url)

    result = runner.invoke(app, ["trigger", "trending", "--local"])

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the database at {url} is not migrated: run `mysetlist db upgrade`\n"
    )


def test_a_file_that_is_not_a_database_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database, just notes\n" * 100)
    url = f"sqlite+aiosqlite:///{path}"
    monkeypatch.setenv("DATABASE_URL", url)

    result = runner.invoke(app, ["status"])

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot open the database at {url}: DatabaseError: file is not a database; "
        "check DATABASE_URL\n"
    )


@pytest.mark.parametrize("command", [["status"], ["db", "upgrade"], ["seed", "--json"]])
def test_an_unreachable_postgresql_server_is_one_line_without_the_password(
    command: list[str], closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "DATABASE_URL", f"postgresql+asyncpg://app:hunter2@127.0.0.1:{closed_port}/mysetlist"
    )

    result = runner.invoke(app, command)

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot open the database at postgresql+asyncpg://app:***@127.0.0.1:"
        f"{closed_port}/mysetlist: ConnectionRefusedError: [Errno 111] Connect call failed "
        f"('127.0.0.1', {closed_port}); check DATABASE_URL and that the database server is "
        "running\n"
    )
    assert "hunter2" not in result.output


def test_a_missing_revision_is_named(migrated_sqlite: str) -> None:
    result = runner.invoke(app, ["db", "upgrade", "--revision", "0999"])

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: cannot migrate to '0999': CommandError: Can't locate revision identified by "
        "'0999'; leave --revision out for the newest (head)\n"
    )


def test_an_sqlite_file_that_cannot_be_opened_ends_without_an_event_loop_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiosqlite stops the worker of a connection that failed to open without awaiting it: the
    worker answered after ``asyncio.run`` had closed the loop ("Event loop is closed", 4 runs in
    5). Here the worker is held until someone joins it: the command must join it while its loop
    is open, so the worker is gone when the command returns and raised nothing."""
    gates: list[threading.Event] = []
    stop = aiosqlite.core.Connection.stop
    join = threading.Thread.join

    def held_stop(self: aiosqlite.core.Connection) -> Any:
        gate = threading.Event()
        gates.append(gate)
        self._tx.put_nowait((None, gate.wait))  # the worker waits here before it stops
        return stop(self)

    def releasing_join(self: threading.Thread, timeout: float | None = None) -> None:
        for gate in gates:
            gate.set()
        join(self, timeout)

    thread_errors: list[Any] = []
    monkeypatch.setattr(aiosqlite.core.Connection, "stop", held_stop)
    monkeypatch.setattr(threading.Thread, "join", releasing_join)
    monkeypatch.setattr(threading, "excepthook", thread_errors.append)
    url = f"sqlite+aiosqlite:///{tmp_path / 'no-such-directory' / 'mysetlist.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    before = set(threading.enumerate())

    result = runner.invoke(app, ["db", "upgrade"])

    left = [t for t in threading.enumerate() if t not in before and t.name.endswith(SQLITE_WORKER)]
    for gate in gates:  # release a worker left behind, and let it fail now if it does
        gate.set()
    for thread in left:
        join(thread, 10)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot open the database at {url}: OperationalError: unable to open database "
        "file; check DATABASE_URL\n"
    )
    assert len(gates) == 1
    assert left == []
    assert thread_errors == []


# --- Prefect -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "printed"),
    [
        (["setup"], "Setting up Prefect at {api} ...\n"),
        (["setup", "--json"], ""),
        (["serve"], ""),
        (["trigger", "master-sync", "--mode", "daily"], ""),
        (["trigger", "trending", "--wait", "--json"], ""),
    ],
)
def test_an_unreachable_prefect_api_is_one_line_naming_the_fix(
    command: list[str],
    printed: str,
    unreachable_prefect: str,
    migrated_sqlite: str,
) -> None:
    result = runner.invoke(app, command)

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot reach the Prefect API at {unreachable_prefect}: ConnectError: All "
        "connection attempts failed; start it (`prefect server start`) or set PREFECT_API_URL "
        "to its /api URL\n"
    )
    assert result.stdout == printed.format(api=unreachable_prefect)


def test_a_local_run_with_prefect_out_of_reach_is_one_line(
    unreachable_prefect: str, migrated_sqlite: str
) -> None:
    result = runner.invoke(app, ["seed", "--limit", "2", "--json"])

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot reach the Prefect API at {unreachable_prefect}: ConnectError: All "
        "connection attempts failed; start it (`prefect server start`) or set PREFECT_API_URL "
        "to its /api URL\n"
    )
    assert result.stdout == ""


@pytest.mark.prefect
def test_a_prefect_url_without_api_is_answered_404_and_named(
    prefect_harness: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = prefect_harness.removesuffix("/api")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")

    with temporary_settings(updates={PREFECT_API_URL: server}):
        result = runner.invoke(app, ["trigger", "master-sync"])

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: the Prefect API at {server} answered 404 to ")
    assert result.stderr.endswith(
        "; is PREFECT_API_URL the server's /api URL (http://host:4200/api)?\n"
    )
    assert result.stderr.count("\n") == 1


def test_a_run_refused_for_its_set_up_is_logged_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused = MissingCredentials("missing settings: SETLISTFM_API_KEY")
    crashed = RuntimeError("a defect")
    logger = logging.getLogger("prefect.flow_runs")

    with (
        temporary_settings(updates={PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW: "ignore"}),
        caplog.at_level(logging.ERROR, logger="prefect.flow_runs"),
    ):
        with cli.main._refusals_untraced():
            logger.error("Encountered exception during execution: %r", refused, exc_info=refused)
            logger.error("Encountered exception during execution: %r", crashed, exc_info=crashed)
        logger.error("after the run: %r", refused, exc_info=refused)

    assert [(r.getMessage().split(":")[0], r.exc_info is None) for r in caplog.records] == [
        ("Encountered exception during execution", True),
        ("Encountered exception during execution", False),
        ("after the run", False),
    ]


# --- servers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["sandbox", "monitor"])
def test_a_port_in_use_is_named_before_the_server_starts(
    command: str, listening_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitor.api
    import sandbox.server

    started: list[str] = []
    monkeypatch.setattr(sandbox.server, "run_server", lambda *a, **k: started.append("sandbox"))
    monkeypatch.setattr(monitor.api, "serve", lambda *a, **k: started.append("monitor"))

    result = runner.invoke(app, [command, "--port", str(listening_port)])

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot listen on 127.0.0.1:{listening_port}: Address already in use; "
        "choose another --port, or stop what listens there\n"
    )
    assert started == []
