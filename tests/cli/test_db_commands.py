"""``mysetlist db upgrade`` and ``check db`` on SQLite and PostgreSQL databases of their own."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel
from typer.testing import CliRunner

from cli.main import app
from models.db import make_engine
from models.migrate import head_revision
from tests.conftest import PG_SERVER_URL, _create_database, _drop_database, _run

runner = CliRunner()
TABLES = len(SQLModel.metadata.sorted_tables)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """An empty database (no tables) of each dialect; DATABASE_URL points at it."""
    if request.param == "sqlite":
        (tmp_path / "fresh.db").touch()  # an empty file is an empty SQLite database
        url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        monkeypatch.setenv("DATABASE_URL", url)
        yield url
        return
    request.getfixturevalue("postgres_url")  # skips (or fails) like every PostgreSQL test
    server = make_url(PG_SERVER_URL)
    admin_url = server.set(database="postgres").render_as_string(hide_password=False)
    name = f"mysetlist_cli_{uuid.uuid4().hex[:12]}"
    _run(_create_database(admin_url, name))
    url = server.set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    try:
        yield url
    finally:
        _run(_drop_database(admin_url, name))


def _text(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")


def test_check_db_on_an_empty_database_fails_naming_migrations_and_tables(
    fresh_database_url: str,
) -> None:
    result = runner.invoke(app, ["check", "db"])

    assert result.exit_code == 1
    text_out = _text(result.output)
    assert f"failed: migrations (not applied), tables (0 of {TABLES} present)" in text_out
    assert "run `mysetlist db upgrade`" in text_out


def test_db_upgrade_then_check_db_passes_with_row_counts(fresh_database_url: str) -> None:
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert f"database at revision {head_revision()}" in _text(upgraded.output)

    result = runner.invoke(app, ["check", "db"])

    assert result.exit_code == 0, result.output
    text_out = _text(result.output)
    assert f"migrations │ at head │ {head_revision()}" in text_out
    assert f"tables │ {TABLES} of {TABLES} present" in text_out
    assert "indexes │ all present" in text_out
    assert "unique keys │ all present" in text_out
    assert "artists │ 0" in text_out
    assert "database OK" in text_out


def test_check_db_names_a_missing_index(fresh_database_url: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0

    async def drop_index() -> None:
        engine = make_engine(fresh_database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("DROP INDEX ix_shows_status_date"))
        finally:
            await engine.dispose()

    asyncio.run(drop_index())

    result = runner.invoke(app, ["check", "db"])

    assert result.exit_code == 1
    text_out = _text(result.output)
    assert "ix_shows_status_date" in text_out
    assert "failed: indexes (1 missing)" in text_out


def test_check_db_on_an_unreachable_server_hides_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    monkeypatch.setenv(
        "DATABASE_URL", f"postgresql+asyncpg://app:hunter2@127.0.0.1:{closed_port}/mysetlist"
    )

    result = runner.invoke(app, ["check", "db"])

    assert result.exit_code == 1
    assert "failed: connection (unreachable)" in _text(result.output)
    assert "hunter2" not in result.output


def test_check_db_on_a_missing_sqlite_file_says_so_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "typo.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("COLUMNS", "400")  # the whole path on one line, however long tmp_path is

    result = runner.invoke(app, ["check", "db"])

    assert result.exit_code == 1
    assert f"{path} does not exist: run `mysetlist db upgrade`, or fix DATABASE_URL" in _text(
        result.output
    )
    assert result.stderr == "Error: failed: connection (no database)\n"
    assert not path.exists()


def test_db_upgrade_json_names_the_database_and_revision(fresh_database_url: str) -> None:
    result = runner.invoke(app, ["db", "upgrade", "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "database": make_url(fresh_database_url).render_as_string(hide_password=True),
        "revision": head_revision(),
    }


def test_check_db_json_on_a_migrated_database(fresh_database_url: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0

    result = runner.invoke(app, ["check", "db", "--json"])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    dialect = make_url(fresh_database_url).get_backend_name()
    safe = make_url(fresh_database_url).render_as_string(hide_password=True)
    assert payload == {
        "ok": True,
        "database": safe,
        "checks": [
            {
                "part": "connection",
                "ok": True,
                "status": "OK",
                "detail": f"{dialect}: {safe}",
                "required": True,
            },
            {
                "part": "migrations",
                "ok": True,
                "status": "at head",
                "detail": head_revision(),
                "required": True,
            },
            {
                "part": "tables",
                "ok": True,
                "status": f"{TABLES} of {TABLES} present",
                "detail": "",
                "required": True,
            },
            {
                "part": "indexes",
                "ok": True,
                "status": "all present",
                "detail": "",
                "required": True,
            },
            {
                "part": "unique keys",
                "ok": True,
                "status": "all present",
                "detail": "",
                "required": True,
            },
        ],
        "rows": {table.name: 0 for table in SQLModel.metadata.sorted_tables},
        "failed": [],
    }
    assert list(payload["rows"]) == sorted(payload["rows"])


def test_check_db_json_on_an_empty_database_fails_with_the_report(
    fresh_database_url: str,
) -> None:
    result = runner.invoke(app, ["check", "db", "--json"])

    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert payload["failed"] == ["migrations", "tables"]
    assert payload["rows"] == {}
    assert result.stderr == ""
