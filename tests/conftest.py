"""Shared fixtures: every storage test runs against SQLite and PostgreSQL.

PostgreSQL is taken from ``TEST_POSTGRES_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/``); each test session creates its own throwaway
database and drops it at the end. When the server is unreachable the PostgreSQL cases skip with
the reason, unless ``REQUIRE_POSTGRES=1``, where they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from models.db import create_all, make_engine
from settings import get_settings

# pytest-xdist starts its workers with COLUMNS and LINES set (80 x 24), and rich fixes the
# size of a console created while both are set: the CLI's consoles would ignore the COLUMNS a
# test sets. Without them, rich reads COLUMNS at each print, as in a serial run.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)

# The longest tests, first. pytest-xdist hands the first tests out one per worker, then the
# rest as workers free up: a long test collected late runs alone at the end of the suite while
# the other worker idles (the simulated world's two tests were 40 % of the suite's time).
LONGEST_FIRST = (
    "tests/cli/test_simulate.py::test_a_small_world_scores_exactly_on_both_databases",
    "tests/deploy/test_deploy_all.py::",
    "tests/cli/test_demo.py::test_demo_runs_end_to_end",
)


def _longest_first(item: pytest.Item) -> int:
    return next(
        (rank for rank, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)),
        len(LONGEST_FIRST),
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_longest_first)  # stable: the others keep their order


PG_SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
T = TypeVar("T")

# Tests never read a developer's .env or environment for API settings.
_SETTINGS_ENV = (
    "DATABASE_URL",
    "SPOTIFY_CLIENT_ID",
    "SPOTIFY_CLIENT_SECRET",
    "TICKETMASTER_API_KEY",
    "SETLISTFM_API_KEY",
    "CRON_SECRET",
)


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in _SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def untuned_gc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As if ``tasks.heap.tune_gc`` had not run in this process yet, nothing frozen; the
    collector's thresholds and frozen heap restored afterwards."""
    import gc

    import tasks.heap

    thresholds, was_frozen = gc.get_threshold(), gc.get_freeze_count()
    monkeypatch.setattr(tasks.heap, "_tuned", None)
    gc.unfreeze()
    yield
    gc.set_threshold(*thresholds)
    if was_frozen:
        gc.freeze()
    else:
        gc.unfreeze()


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a private loop in a worker thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _create_database(admin_url: str, name: str) -> None:
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()


async def _drop_database(admin_url: str, name: str) -> None:
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def _create_tables(url: str) -> None:
    engine = make_engine(url)
    try:
        await create_all(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session, with every table created."""
    server = make_url(PG_SERVER_URL)
    admin_url = server.set(database="postgres").render_as_string(hide_password=False)
    name = f"mysetlist_test_{uuid.uuid4().hex[:12]}"
    try:
        _run(_create_database(admin_url, name))
    except Exception as exc:  # pragma: no cover - depends on the machine
        reason = f"PostgreSQL unreachable at {server.render_as_string()}: {exc!r}"
        if REQUIRE_POSTGRES:
            pytest.fail(f"REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(f"SKIPPING POSTGRESQL TESTS: {reason}")
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        _run(_create_tables(url))
        yield url
    finally:
        _run(_drop_database(admin_url, name))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database of the parametrised dialect (SQLite file or the session's PG db)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every table created, once per session (per xdist worker): each test's
    database is a copy of it (~3 ms) rather than a ``create_all`` of its own (~70 ms CPU)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"

    async def build() -> None:
        eng = make_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await create_all(eng)
        finally:
            await eng.dispose()  # the last connection's close checkpoints the WAL into the file

    _run(build())
    return path


def _truncation_probe() -> str:
    """One query naming every table that a TRUNCATE ... RESTART IDENTITY would change: it holds
    a row, or a sequence it owns has been used."""
    names = [t.name for t in SQLModel.metadata.sorted_tables]
    exists = [f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in names]
    used_sequences = (
        "SELECT t.relname::text FROM pg_sequences q"
        " JOIN pg_class s ON s.relname = q.sequencename AND s.relkind = 'S'"
        " JOIN pg_namespace n ON n.oid = s.relnamespace AND n.nspname = q.schemaname"
        " JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid"
        " AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')"
        " JOIN pg_class t ON t.oid = d.refobjid"
        " WHERE q.schemaname = current_schema() AND q.last_value IS NOT NULL"
        f" AND t.relname IN ({', '.join(repr(name) for name in names)})"
    )
    return " UNION ".join([*exists, used_sequences])


async def empty_postgres(eng: AsyncEngine) -> None:
    """Empty every table of the metadata and restart their sequences, as ``TRUNCATE <all>
    RESTART IDENTITY CASCADE`` does, truncating only the tables a test touched: truncating all
    21 costs 0.2-0.4 s per test (new files for every table and index), the probe ~5 ms."""
    async with eng.begin() as conn:
        touched = sorted(str(row[0]) for row in await conn.execute(text(_truncation_probe())))
        if touched:
            tables = ", ".join(f'"{name}"' for name in touched)
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def _copy_if_absent(template: Path, path: Path) -> bool:
    if path.exists():
        return False
    shutil.copyfile(template, path)
    return True


@pytest.fixture
async def engine(database_url: str, request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty, fully created database of each dialect (SQLite and PostgreSQL)."""
    eng = make_engine(database_url)
    if eng.dialect.name == "sqlite":
        path = make_url(database_url).database
        if not (path and _copy_if_absent(request.getfixturevalue("sqlite_template"), Path(path))):
            await create_all(eng)
    else:
        await empty_postgres(eng)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[str]:
    """One throwaway Prefect server for the whole test session; yields its API URL.

    Like production, the server keeps its state in PostgreSQL (a throwaway database of this
    session): on SQLite its global concurrency limits stall under concurrent acquisition, which
    is what the flows do (see ``tests/prefect_server.py``). Without PostgreSQL (and without
    ``REQUIRE_POSTGRES=1``) it falls back to Prefect's own SQLite test harness.

    Starting it costs ~10 s, so every Prefect test shares it. Tests that change server state
    (limits, work pools, deployments) restore it. Under ``respx`` route this URL
    ``pass_through()``, or respx intercepts Prefect's own API calls.
    """
    from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_URL, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from cli.simulate import one_certificate_bundle
    from tests.prefect_server import prefect_server

    server = make_url(PG_SERVER_URL)
    admin_url = server.set(database="postgres").render_as_string(hide_password=False)
    name = f"mysetlist_prefect_{uuid.uuid4().hex[:12]}"
    try:
        _run(_create_database(admin_url, name))
    except Exception as exc:  # pragma: no cover - depends on the machine
        if REQUIRE_POSTGRES:
            pytest.fail(f"REQUIRE_POSTGRES=1 but PostgreSQL is unreachable: {exc!r}")
        name = ""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        if not name:
            with (
                prefect_test_harness(server_startup_timeout=120),
                tempfile.TemporaryDirectory() as directory,
                temporary_settings(
                    {PREFECT_API_SSL_CERT_FILE: one_certificate_bundle(Path(directory))}
                ),
            ):
                yield str(PREFECT_API_URL.value())
            return
        url = server.set(database=name).render_as_string(hide_password=False)
        try:
            with prefect_server(url):
                yield str(PREFECT_API_URL.value())
        finally:
            _run(_drop_database(admin_url, name))
