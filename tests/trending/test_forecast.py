"""The forecast: the formula evaluated at the next 7 days' run instants on what is known now."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

import models.trending.forecast
from models.trending import recalculate_trending
from models.trending.forecast import FORECAST, recalculate_forecast
from tests.trending.scenario import ARTIST_TRENDS as STATE
from tests.trending.scenario import ARTISTS, NOW, TODAY, rows, scores, seed, trending_settings

SETTINGS = trending_settings()


async def _forecast(engine: AsyncEngine, made_on: date) -> dict[tuple[int, int], float]:
    f = FORECAST
    async with engine.connect() as conn:
        result = await conn.execute(
            select(f.c.artist_id, f.c.horizon, f.c.day, f.c.score).where(f.c.made_on == made_on)
        )
        found = {}
        for artist_id, horizon, day, score in result:
            assert day == made_on + timedelta(days=horizon)
            found[(int(artist_id), int(horizon))] = float(score)
    return found


async def test_with_no_news_the_forecast_is_the_score_each_later_day_gives(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    assert await recalculate_forecast(engine, now=NOW, settings=SETTINGS) == 7 * 7
    forecast = await _forecast(engine, TODAY)
    today = await scores(engine, STATE)

    differing = {}
    for horizon in range(1, 8):
        await recalculate_trending(
            engine, mode="daily", now=NOW + timedelta(days=horizon), settings=SETTINGS
        )
        for artist_id, score in (await scores(engine, STATE)).items():
            if forecast[(artist_id, horizon)] != score:
                differing[(artist_id, horizon)] = (forecast[(artist_id, horizon)], score)

    # What the forecast cannot know: 3 views of artist 6 dated in 5 days (counted once they
    # happen). Artist 5's latest follower snapshot ageing past 7 days is known now: the score
    # expression drops its growth on day 7, as the run of that day does.
    assert differing == EXPECTED_MISSES
    # Not "tomorrow = today": the decay and the shows nearing move the scores.
    assert [forecast[(1, h)] for h in range(1, 8)] == ARTIST_1
    assert [forecast[(2, h)] for h in range(1, 8)] == ARTIST_2
    assert today[1] not in ARTIST_1
    assert today[2] not in ARTIST_2


EXPECTED_MISSES = {
    (6, 5): (14.12, 15.65),
    (6, 6): (14.12, 15.37),
    (6, 7): (14.12, 15.13),
}
# Artist 1: today's show leaves the upcoming sum tomorrow, and its activity decays; artist 2: its
# views decay faster than its show, 28 days ahead, nears.
ARTIST_1 = [56.41, 53.89, 51.5, 49.28, 47.28, 45.5, 43.95]
ARTIST_2 = [11.83, 10.96, 10.15, 9.41, 8.77, 8.21, 7.76]


async def test_today_s_forecast_replaces_it_forecasts_expire_and_hourly_runs_write_none(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models.trending.forecast, "FORECAST_KEEP_DAYS", 2)
    await seed(engine)
    for day in range(3):
        await recalculate_trending(
            engine, mode="daily", now=NOW + timedelta(days=day), settings=SETTINGS
        )
        await recalculate_forecast(engine, now=NOW + timedelta(days=day), settings=SETTINGS)
        await recalculate_trending(
            engine, mode="hourly", now=NOW + timedelta(days=day, hours=1), settings=SETTINGS
        )
    at = NOW + timedelta(days=2, hours=2)
    await recalculate_trending(engine, mode="daily", now=at, settings=SETTINGS)
    assert await recalculate_forecast(engine, now=at, settings=SETTINGS) == 49

    kept = await rows(engine, FORECAST)
    assert sorted({r[1] for r in kept}) == [date(2025, 6, 2), date(2025, 6, 3)]
    assert len(kept) == 2 * 49
    # A deleted artist takes its forecasts along.
    async with engine.begin() as conn:
        await conn.execute(delete(ARTISTS).where(ARTISTS.c.id == 7))
    assert {r[0] for r in await rows(engine, FORECAST)} == {1, 2, 3, 4, 5, 6}
