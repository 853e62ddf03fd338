"""mysetlist trending and mysetlist similar (SQLite; the queries run on both databases in
test_geo_trending.py, test_similarity.py and test_insights_api.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from cli.main import app
from models.db import make_engine
from models.insights import recalculate_insights
from models.migrate import upgrade
from settings import Settings
from tests.insights.test_geo_trending import build_scored_world
from tests.insights.world import NOW

runner = CliRunner()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'insights.db'}"

    async def build() -> None:
        await upgrade(url)
        engine = make_engine(url)
        try:
            await build_scored_world(engine)
            settings = Settings(_env_file=None, cron_secret=SecretStr("x" * 32))
            await recalculate_insights(engine, now=NOW, settings=settings)
        finally:
            await engine.dispose()

    asyncio.run(build())
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "120")


def test_trending_of_a_market(world: None) -> None:
    result = runner.invoke(app, ["trending", "--market", "3", "--limit", "2"])

    assert result.exit_code == 0, result.output
    assert "Trending artists, market 3 (Chicagoland & Northern IL) on 2026-03-10" in result.output
    lines = [line.split() for line in result.output.splitlines() if "│" in line]
    assert [line[1::2][:3] for line in lines] == [["1", "One", "1"], ["2", "Two", "2"]]


def test_trending_json_of_a_city(world: None) -> None:
    result = runner.invoke(
        app, ["trending", "--city", "US/IL/Rosemont", "--kind", "show", "--json"]
    )

    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert (payload["scope"], payload["id"], payload["day"]) == (
        "city",
        "us/il/rosemont",
        "2026-03-10",
    )
    # Show 1 (artist 1, popularity 80, in 14 days, 20 views): 16 + 12.5 + 7.5 = 36.0
    # (tests/insights/test_geo_trending.build_scored_world).
    assert [(i["id"], i["score"]) for i in payload["items"]] == [(1, 36.0)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["trending", "--market", "3", "--city", "US/IL/Chicago"],
            "give --market or --city, not both",
        ),
        (["trending", "--city", "Chicago"], "a city id is country/state/city"),
        (["trending", "--kind", "venue"], "--kind is artist or show, got 'venue'"),
    ],
)
def test_bad_trending_arguments(world: None, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)

    assert result.exit_code == 2
    assert message in result.output


def test_similar_artists(world: None) -> None:
    result = runner.invoke(app, ["similar", "1", "--json"])
    table = runner.invoke(app, ["similar", "1"])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [(s["id"], s["score"]) for s in payload["similar"]] == [
        (2, 31.67),
        (3, 14.17),
        (4, 6.67),
    ]
    assert "Artists similar to One (#1)" in table.output


def test_similar_of_an_unknown_artist_fails(world: None) -> None:
    result = runner.invoke(app, ["similar", "999"])

    assert result.exit_code == 1
    assert "no artist with id 999" in result.output
