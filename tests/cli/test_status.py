"""``mysetlist status``: the monitor's health report, as the API's JSON or rendered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

import cli.main
from cli.main import app
from monitor.api import create_app
from settings import Settings
from tests.monitor.factories import (
    ARTIST_TRENDS,
    ARTISTS,
    RUNS,
    artist,
    artist_trend,
    insert_rows,
    run,
)

runner = CliRunner()
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SECRET = "status-test-secret-0123456789abcdef"


@pytest.fixture
async def api_answer(engine: AsyncEngine) -> tuple[str, dict[str, Any]]:
    """A database with artists and ledger rows, and the monitor API's answer for 48 hours."""
    hour = timedelta(hours=1)
    await insert_rows(
        engine,
        (
            ARTISTS,
            [
                artist(1, last_synced_at=NOW - 2 * hour),
                artist(2, last_synced_at=NOW - 100 * hour),
                artist(3),
            ],
        ),
        (ARTIST_TRENDS, [artist_trend(1, 71.5, at=NOW)]),
        (
            RUNS,
            [
                run(
                    1,
                    job="master-sync",
                    started_at=NOW - 30 * hour,
                    status="success",
                    finished_at=NOW - 29 * hour,
                    mode="daily",
                ),
                run(
                    2,
                    job="master-sync",
                    started_at=NOW - 6 * hour,
                    status="failed",
                    finished_at=NOW - 5 * hour,
                    mode="daily",
                ),
                run(
                    3,
                    job="autonomous-sync",
                    started_at=NOW - hour,
                    status="success",
                    finished_at=NOW - hour / 2,
                    mode="discovery",
                    counts={"artists_found": 9, "artists_added": 4},
                ),
            ],
        ),
    )
    settings = Settings(cron_secret=SecretStr(SECRET))
    monitor = create_app(settings, engine=engine, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=monitor)
    async with httpx.AsyncClient(transport=transport, base_url="http://monitor") as client:
        response = await client.get(
            "/api/sync/monitor",
            params={"hours": 48},
            headers={"Authorization": f"Bearer {SECRET}"},
        )
    assert response.status_code == 200
    return engine.url.render_as_string(hide_password=False), response.json()


def test_status_json_is_exactly_the_monitor_api_answer(
    api_answer: tuple[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, expected = api_answer
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(cli.main, "now", lambda: NOW)

    result = runner.invoke(app, ["status", "--hours", "48", "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == expected
    assert expected["syncSummary"]["masterSync"]["runs"] == 2
    assert expected["syncSummary"]["discovery"] == {"found": 9, "added": 4}
    assert expected["window"]["hours"] == 48


def test_status_renders_the_report_for_people(
    api_answer: tuple[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = api_answer
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.setattr(cli.main, "now", lambda: NOW)

    result = runner.invoke(app, ["status", "--hours", "48"])

    assert result.exit_code == 0, result.output
    assert "Sync health, last 48 h" in result.output
    assert "Discovery: 9 artists found, 4 added" in result.output
    assert "{" not in result.output


def test_status_on_a_database_without_tables_says_to_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty.db").touch()
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("DATABASE_URL", url)

    result = runner.invoke(app, ["status", "--json"])

    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: cannot compute the health report from {url}: OperationalError: "
        "(sqlite3.OperationalError) no such table: "
    )
    assert result.stderr.endswith("; is it migrated? `mysetlist db upgrade`\n")
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""
