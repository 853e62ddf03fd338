"""Hourly mode: rescore what had activity since the last run, decay the rest, nothing else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from models.trending import recalculate_trending
from tests.trending.scenario import (
    ACTIVITY,
    ARTISTS,
    HISTORY,
    NOW,
    SHOWS,
    WATERMARKS,
    add_events,
    artist,
    events,
    rows,
    scores,
    seed,
    trending_settings,
)
from tests.trending.test_scores import EXPECTED_ARTISTS, EXPECTED_SHOWS

SETTINGS = trending_settings()
LATER = NOW + timedelta(hours=72)  # one activity half-life after the daily run


async def test_a_quiet_period_only_halves_the_activity_after_one_half_life(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    before_artists = {r[0]: r for r in await rows(engine, ARTISTS)}

    result = await recalculate_trending(engine, mode="hourly", now=LATER, settings=SETTINGS)

    assert result.counts() == {
        "artists_scored": 0,
        "shows_scored": 0,
        "artists_decayed": 3,  # 1, 2, 5; artist 7 has activity, but its score stays 18
        "shows_decayed": 2,  # shows 1 and 4
        "history_rows": 0,
    }
    assert (result.full, result.since) == (False, NOW)
    assert await scores(engine, ARTISTS) == {
        # 30*0.8 + 15*(0.1/0.12) + 15*(2.5/7.5) + 10*(1/2) + 10*(10/30 + 5/15 + 2.5/7.5)
        1: 56.5,
        # (10*(10/30) + 10*(0.25/1.25)) / 55 * 100: the upcoming sum is kept from the daily run
        2: 9.7,
        3: 17.65,  # no activity: untouched
        4: 17.65,
        5: 22.19,  # 30*0.2 + 15*(0.35/0.37) + 10*(1.25/6.25)
        6: 14.12,
        7: 18.0,  # net follows -1 -> -0.5, still 0
    }
    assert await scores(engine, SHOWS) == {
        1: 5.0,  # now in the past: only its votes, 15*(5/15)
        2: 0.0,
        3: 7.81,  # no activity: untouched
        4: 3.0,  # 15*(1.25/6.25)
    }
    after_artists = {r[0]: r for r in await rows(engine, ARTISTS)}
    for untouched in (3, 4, 6, 7):
        assert after_artists[untouched] == before_artists[untouched]
    async with engine.connect() as conn:
        sums = (
            await conn.execute(
                select(
                    ARTISTS.c.trending_views,
                    ARTISTS.c.trending_follows,
                    ARTISTS.c.trending_votes,
                    ARTISTS.c.trending_attendance,
                    ARTISTS.c.trending_updated_at,
                ).where(ARTISTS.c.id == 1)
            )
        ).one()
    assert tuple(sums) == (10.0, 2.5, 5.0, 2.5, LATER)
    history = await rows(engine, HISTORY)
    assert (len(history), {r[2] for r in history}) == (10, {NOW.date()})  # the daily's rows only


async def test_a_quiet_hour_without_any_activity_changes_nothing(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(ARTISTS.insert(), [artist(1, popularity=70, followers=None)])
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    before = await rows(engine, ARTISTS)

    result = await recalculate_trending(
        engine, mode="hourly", now=NOW + timedelta(hours=1), settings=SETTINGS
    )

    assert result.counts() == dict.fromkeys(result.counts(), 0)
    assert await rows(engine, ARTISTS) == before
    assert await rows(engine, WATERMARKS) == [("activity", NOW + timedelta(hours=1), "hourly")]


async def test_hourly_rescores_active_entities_exactly_as_daily_would(engine: AsyncEngine) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    at = NOW + timedelta(hours=6)  # same UTC day: days-to-show and growth unchanged
    await add_events(
        engine,
        [
            *events("view", 7, artist_id=3, at=NOW + timedelta(hours=1)),
            *events("vote_up", 4, artist_id=2, show_id=3, at=NOW + timedelta(hours=2)),
            *events("unfollow", 1, artist_id=1, at=at),
        ],
    )

    hourly = await recalculate_trending(engine, mode="hourly", now=at, settings=SETTINGS)
    hourly_artists = await scores(engine, ARTISTS)
    hourly_shows = await scores(engine, SHOWS)
    daily = await recalculate_trending(engine, mode="daily", now=at, settings=SETTINGS)

    assert (hourly.artists_scored, hourly.shows_scored) == (3, 1)  # artists 1, 2, 3; show 3
    # artist 5 and shows 1, 4; artist 7's score (18) does not move, so its row is left alone
    assert (hourly.artists_decayed, hourly.shows_decayed) == (1, 2)
    assert daily.full is True
    assert await scores(engine, ARTISTS) == hourly_artists
    assert await scores(engine, SHOWS) == hourly_shows
    v = 7 * 2 ** (-5 / 72)  # 7 views, 5 hours old
    assert hourly_artists[3] == 20.59 == round((15 + 10 * v / (v + 20)) / 85 * 100, 2)
    q = 4 * 2 ** (-4 / 72)  # 4 votes, 4 hours old
    assert hourly_shows[3] == 13.02 == round((25 * 0.25 + 15 * q / (q + 10)) / 80 * 100, 2)
    assert hourly_artists[4] == EXPECTED_ARTISTS[4]


async def test_a_row_whose_rounded_score_does_not_move_is_left_alone_and_decays_exactly_later(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(ARTISTS.insert(), [artist(1, popularity=None, followers=None)])
    await add_events(engine, events("view", 1, artist_id=1, at=NOW - 2 * (LATER - NOW)))
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    before = await rows(engine, ARTISTS)

    an_hour = await recalculate_trending(
        engine, mode="hourly", now=NOW + timedelta(hours=1), settings=SETTINGS
    )
    assert an_hour.artists_decayed == 0  # 10 * v / (v + 20) / 55 * 100: 0.2245 -> 0.2223, 0.22
    assert await rows(engine, ARTISTS) == before

    half_life = await recalculate_trending(engine, mode="hourly", now=LATER, settings=SETTINGS)
    assert half_life.artists_decayed == 1
    async with engine.connect() as conn:
        views, updated_at = (
            await conn.execute(select(ARTISTS.c.trending_views, ARTISTS.c.trending_updated_at))
        ).one()
    # 0.25 at NOW, halved from NOW (where the row was left), not from the skipped hour
    assert (views, updated_at) == (0.125, LATER)
    assert await scores(engine, ARTISTS) == {1: 0.11}  # 10 * v / (v + 20) / 55 * 100 = 0.1129


async def test_an_event_recorded_late_is_counted_by_the_next_daily(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(ARTISTS.insert(), [artist(1, popularity=None, followers=None)])
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    # occurred before the watermark, arrived after it
    await add_events(engine, events("view", 20, artist_id=1, at=NOW))

    await recalculate_trending(
        engine, mode="hourly", now=NOW + timedelta(hours=1), settings=SETTINGS
    )
    assert await scores(engine, ARTISTS) == {1: 0.0}
    await recalculate_trending(
        engine, mode="daily", now=NOW + timedelta(hours=72), settings=SETTINGS
    )
    assert await scores(engine, ARTISTS) == {1: 6.06}  # 10 * (10/30) / 55 * 100


async def test_the_first_hourly_run_scores_everything_without_history(
    engine: AsyncEngine,
) -> None:
    await seed(engine)

    result = await recalculate_trending(engine, mode="hourly", now=NOW, settings=SETTINGS)

    assert (result.full, result.since, result.artists_scored, result.shows_scored) == (
        True,
        None,
        7,
        4,
    )
    assert await scores(engine, ARTISTS) == EXPECTED_ARTISTS
    assert await scores(engine, SHOWS) == EXPECTED_SHOWS
    assert await rows(engine, HISTORY) == []
    assert await rows(engine, WATERMARKS) == [("activity", NOW, "hourly")]


async def test_hourly_at_an_instant_before_the_last_run_is_refused(engine: AsyncEngine) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    before = await rows(engine, ARTISTS)

    with pytest.raises(ValueError, match=r"is before the last trending run \(2025-06-01T12:00"):
        await recalculate_trending(
            engine, mode="hourly", now=NOW - timedelta(minutes=1), settings=SETTINGS
        )

    assert await rows(engine, ARTISTS) == before


async def test_hourly_activity_without_a_show_rescores_the_artist_only(engine: AsyncEngine) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    async with engine.begin() as conn:
        await conn.execute(
            ACTIVITY.insert(),
            [
                {
                    "user_id": "u",
                    "kind": "view",
                    "artist_id": 4,
                    "show_id": None,
                    "occurred_at": NOW + timedelta(minutes=5),
                    "received_at": NOW + timedelta(minutes=5),
                }
            ],
        )

    result = await recalculate_trending(
        engine, mode="hourly", now=NOW + timedelta(hours=1), settings=SETTINGS
    )

    # a NULL show_id never reaches the show scope (no NULL in an IN list, no empty IN)
    assert (result.artists_scored, result.shows_scored) == (1, 0)
