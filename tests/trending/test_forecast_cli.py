"""mysetlist forecast (SQLite; the query runs on both databases in test_forecast_api.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli.main
from cli.main import app
from models.db import make_engine
from models.migrate import upgrade
from models.trending import recalculate_trending
from models.trending.forecast import recalculate_forecast
from tests.trending.scenario import NOW, seed, trending_settings
from tests.trending.test_forecast import ARTIST_1

runner = CliRunner()


@pytest.fixture
def scored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'forecast.db'}"

    async def build() -> None:
        await upgrade(url)
        engine = make_engine(url)
        try:
            await seed(engine)
            await recalculate_trending(engine, mode="daily", now=NOW, settings=trending_settings())
            await recalculate_forecast(engine, now=NOW, settings=trending_settings())
        finally:
            await engine.dispose()

    asyncio.run(build())
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "120")
    # The score "now" is computed when read: at the run's instant, not the wall clock's.
    monkeypatch.setattr(cli.main, "now", lambda: NOW)


def test_forecast_table_and_json(scored: None) -> None:
    shown = runner.invoke(app, ["forecast", "1"])
    as_json = runner.invoke(app, ["forecast", "1", "--json"])

    assert shown.exit_code == 0, shown.output
    assert "Trending forecast of Artist 1 (#1), made 2025-06-01; score now 64.00" in shown.output
    lines = [line.split("│")[1:-1] for line in shown.output.splitlines() if "│" in line]
    assert [cells[2].strip() for cells in lines] == [f"{s:.2f}" for s in ARTIST_1]
    payload = json.loads(as_json.output)
    assert (payload["made_on"], payload["score"]) == ("2025-06-01", 64.0)
    assert [d["score"] for d in payload["days"]] == ARTIST_1


def test_forecast_of_an_unknown_artist(scored: None) -> None:
    result = runner.invoke(app, ["forecast", "99"])

    assert result.exit_code != 0
    assert "no artist with id 99" in result.output
