"""The ``calculate-trending`` flow: parameters checked first, one ledger row, a summary artifact."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from flows.calculate_trending import CalculateTrendingParams, calculate_trending
from models.trending.forecast import FORECAST
from settings import get_settings
from tests.trending.scenario import ARTIST_TRENDS, HISTORY, NOW, SHOW_TRENDS, rows, scores, seed
from tests.trending.test_scores import EXPECTED_ARTISTS, EXPECTED_SHOWS

pytestmark = pytest.mark.prefect
RUNS = SQLModel.metadata.tables["sync_runs"]

DAILY_COUNTS = {
    "artists_added": 7,
    "shows_added": 4,
    "artists_scored": 7,
    "shows_scored": 4,
    "history_rows": 10,
    "forecast_rows": 49,  # 7 artists x 7 days
    # The insights after a daily run: the scenario's venues have no market or city, its
    # artists no shared show, venue, cover or genre (tests/insights covers them).
    "geo_market_artists": 0,
    "geo_market_shows": 0,
    "geo_city_artists": 0,
    "geo_city_shows": 0,
    "similar_artists": 0,
}


@pytest.fixture
async def flow_db(
    prefect_harness: str,
    engine: AsyncEngine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncEngine:
    """The seeded fixture database, which the flow reaches through ``DATABASE_URL``."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TRENDING_ACTIVITY_HALF_LIFE_HOURS", "72")
    monkeypatch.setenv("TRENDING_SHOW_HALF_LIFE_DAYS", "14")
    get_settings.cache_clear()
    await seed(engine)
    return engine


async def _ledger(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(select(RUNS).order_by(RUNS.c.id))
        return [dict(r._mapping) for r in result]


async def _artifact(key: str) -> str:
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert found, f"no artifact {key}"
    return str(found[0].data)


async def test_daily_flow_scores_and_records_one_successful_ledger_row(
    flow_db: AsyncEngine,
) -> None:
    counts = await calculate_trending(mode="daily", as_of=NOW)

    assert counts == DAILY_COUNTS
    assert await scores(flow_db, ARTIST_TRENDS) == EXPECTED_ARTISTS
    assert await scores(flow_db, SHOW_TRENDS) == EXPECTED_SHOWS
    [run] = await _ledger(flow_db)
    assert (run["job"], run["mode"], run["status"], run["dry_run"]) == (
        "calculate-trending",
        "daily",
        "success",
        False,
    )
    assert {key: run["counts"][key] for key in DAILY_COUNTS} == DAILY_COUNTS
    assert run["parameters"] == {"mode": "daily", "dry_run": False, "as_of": "2025-06-01T12:00:00Z"}
    assert run["finished_at"] is not None
    summary = await _artifact("calculate-trending-summary")
    assert (
        "Trending (daily) as of 2025-06-01T12:00:00+00:00: activity recomputed from every event."
        in summary
    )
    assert (
        "Rewritten: 7 artists and 4 shows (7 artists and 4 shows scored for the first time)"
        in summary
    )
    assert "1. Artist 1 (#1) — 64.00" in summary
    assert "1. Show 1 (#1) — 48.50" in summary
    table = json.loads(await _artifact("calculate-trending-changes"))
    assert len(table) == 10  # 7 artists, 3 shows (the cancelled show 2 scores 0: not ranked)
    assert table[1] == {"kind": "artist", "rank": 2, "id": 5, "name": "Artist 5", "score": 23.52}
    assert table[7] == {"kind": "show", "rank": 1, "id": 1, "name": "Show 1", "score": 48.5}


async def test_dry_run_flow_ranks_but_writes_only_its_ledger_row(flow_db: AsyncEngine) -> None:
    counts = await calculate_trending(mode="daily", dry_run=True, as_of=NOW)

    # The forecast step reads the committed state (this run's was rolled back): skipped, and
    # the summary says so; no forecast_rows count.
    assert counts == {k: v for k, v in DAILY_COUNTS.items() if k != "forecast_rows"}
    assert await scores(flow_db, ARTIST_TRENDS) == {}
    assert await rows(flow_db, HISTORY) == []
    [run] = await _ledger(flow_db)
    assert (run["status"], run["dry_run"]) == ("success", True)
    summary = await _artifact("calculate-trending-summary")
    assert "Dry run: computed and ranked, then rolled back; nothing was written." in summary
    assert (
        "Forecast: skipped (dry run: it reads the committed state, and this run's was rolled "
        "back)." in summary
    )
    async with flow_db.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(FORECAST)) == 0


async def test_hourly_then_full_flows_agree_and_record_one_row_each(
    flow_db: AsyncEngine,
) -> None:
    await calculate_trending(mode="daily", as_of=NOW)

    hourly = await calculate_trending(mode="hourly", as_of=NOW + timedelta(hours=72))
    after_hourly = (await scores(flow_db, ARTIST_TRENDS), await scores(flow_db, SHOW_TRENDS))
    full = await calculate_trending(mode="full", as_of=NOW + timedelta(hours=72))

    # only artist 1's inputs change (its show passed); decay moves the scores when read
    assert hourly == {
        "artists_added": 0,
        "shows_added": 0,
        "artists_scored": 1,
        "shows_scored": 0,
        "history_rows": 0,
    }
    # a full run recomputes every row and rewrites none (the hourly run left them right)
    assert (full["artists_scored"], full["shows_scored"], full["history_rows"]) == (0, 0, 10)
    assert (await scores(flow_db, ARTIST_TRENDS), await scores(flow_db, SHOW_TRENDS)) == (
        after_hourly
    )
    assert [(r["mode"], r["status"]) for r in await _ledger(flow_db)] == [
        ("daily", "success"),
        ("hourly", "success"),
        ("full", "success"),
    ]
    summary = await _artifact("calculate-trending-summary")
    assert "activity recomputed from every event" in summary


async def test_unknown_mode_is_refused_before_any_work(flow_db: AsyncEngine) -> None:
    with pytest.raises(Exception, match="hourly") as caught:
        await calculate_trending(mode="weekly")  # type: ignore[call-overload]

    assert "'daily' or 'full'" in str(caught.value)
    assert await _ledger(flow_db) == []
    assert await scores(flow_db, ARTIST_TRENDS) == {}


def test_parameters_refuse_unknown_modes_naive_instants_and_extra_fields() -> None:
    with pytest.raises(ValueError, match="Input should be 'hourly', 'daily' or 'full'"):
        CalculateTrendingParams(mode="weekly")
    with pytest.raises(ValueError, match="timezone"):
        CalculateTrendingParams(as_of=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        CalculateTrendingParams.model_validate({"mode": "daily", "limit": 5})


async def test_a_failing_recalculation_ends_its_ledger_row_failed(flow_db: AsyncEngine) -> None:
    await calculate_trending(mode="daily", as_of=NOW)

    with pytest.raises(ValueError, match="is before the last trending run"):
        await calculate_trending(mode="hourly", as_of=NOW - timedelta(hours=1))

    daily, hourly = await _ledger(flow_db)
    assert (daily["status"], hourly["status"]) == ("success", "failed")
    assert hourly["error_summary"].startswith("ValueError: now 2025-06-01T11:00:00+00:00 is before")
    assert await scores(flow_db, ARTIST_TRENDS) == EXPECTED_ARTISTS
