"""History keeps each day's top scores of each kind, for a bounded number of days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import models.trending.writes
from models.trending import recalculate_trending
from tests.trending.scenario import HISTORY, NOW, rows, seed, trending_settings

SETTINGS = trending_settings()


async def test_a_day_keeps_the_top_positive_scores_of_each_kind_ties_by_id(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models.trending.writes, "HISTORY_TOP", 4)
    await seed(engine)

    result = await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)

    day = NOW.date()
    assert result.history_rows == 7
    assert sorted(await rows(engine, HISTORY), key=lambda r: (r[0], -r[3], r[1])) == [
        ("artist", 1, day, 64.0),
        ("artist", 5, day, 23.52),
        ("artist", 7, day, 18.0),
        ("artist", 3, day, 17.65),  # ties with artist 4: the lower id
        ("show", 1, day, 48.5),
        ("show", 3, day, 7.81),
        ("show", 4, day, 5.0),  # show 2 is cancelled: 0 is not kept
    ]


async def test_days_older_than_the_retention_are_dropped_and_hourly_runs_keep_none(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models.trending.writes, "HISTORY_TOP", 1)
    monkeypatch.setattr(models.trending.writes, "HISTORY_DAYS", 3)
    await seed(engine)

    for day in range(4):
        await recalculate_trending(
            engine, mode="daily", now=NOW + timedelta(days=day), settings=SETTINGS
        )
        await recalculate_trending(
            engine, mode="hourly", now=NOW + timedelta(days=day, hours=1), settings=SETTINGS
        )

    history = await rows(engine, HISTORY)
    assert sorted({r[2] for r in history}) == [date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4)]
    assert [(r[0], r[1]) for r in history if r[2] == date(2025, 6, 4)] == [
        ("artist", 1),
        ("show", 3),  # the show of artist 2, 25 days ahead, now tops the shows
    ]
    assert len(history) == 6
