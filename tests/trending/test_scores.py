"""Trending scores on a hand-computed fixture, identical on SQLite and PostgreSQL.

Artist score = 100 * sum(w c) / sum(w) over present components, weights (points) popularity 30,
Spotify growth 15, app followers 15, upcoming shows 10, views 10, votes 10, attendance 10;
saturation x / (x + k) with k: growth 0.02, followers 5, upcoming 1, views 20, votes 10,
attendance 5. Show weights: popularity 20, proximity 25, followers 10, views 15, votes 15,
attendance 15.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from models.trending import RankedEntity, recalculate_trending
from tests.trending.scenario import (
    ARTIST_TRENDS,
    ARTISTS,
    HISTORY,
    NOW,
    SHOW_TRENDS,
    SHOWS,
    SNAPSHOTS,
    WATERMARKS,
    add_events,
    artist,
    events,
    rows,
    scores,
    seed,
    snapshot,
    trending_settings,
)

SETTINGS = trending_settings()

# Hand-computed, daily at NOW (see scenario.seed):
EXPECTED_ARTISTS = {
    # 30*0.8 + 15*(0.1/0.12) + 15*(5/10) + 10*(1/2) + 10*(20/40) + 10*(10/20) + 10*(5/10) = 64
    1: 64.0,
    # no popularity, no growth: (10*(20/40) + 10*(0.25/1.25)) / 55 * 100 = 7/55*100
    2: 12.73,
    # 30*0.5 / 85 * 100 (growth absent, no activity)
    3: 17.65,
    4: 17.65,
    # 30*0.2 + 15*(0.35/0.37) + 10*(2.5/7.5): growth (600-100)/max(100,1000) * 7/10 = 0.35
    5: 23.52,
    # 30*0.4 / 85 * 100: newest snapshot 12 days old, so no growth; the future view is ignored
    6: 14.12,
    # 30*0.6 + 15*0 (growth -10 %) + 15*0 (net follows -1) = 18
    7: 18.0,
}
EXPECTED_SHOWS = {
    1: 48.5,  # today: 20*0.8 + 25*1 + 15*(10/20)
    2: 0.0,  # cancelled
    3: 7.81,  # 28 days ahead, no headliner popularity: 25*0.25 / 80 * 100
    4: 5.0,  # past: popularity and proximity count 0; 15*(2.5/7.5)
}


async def test_daily_scores_match_the_hand_computed_values(engine: AsyncEngine) -> None:
    await seed(engine)

    result = await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)

    assert await scores(engine, ARTIST_TRENDS) == EXPECTED_ARTISTS
    assert await scores(engine, SHOW_TRENDS) == EXPECTED_SHOWS
    assert result.counts() == {
        "artists_added": 7,
        "shows_added": 4,
        "artists_scored": 7,
        "shows_scored": 4,
        "history_rows": 10,
    }
    assert result.full is True  # the first run recomputes from every event
    assert result.since is None


async def test_stored_inputs_are_the_decayed_sums_growth_and_upcoming(engine: AsyncEngine) -> None:
    await seed(engine)

    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)

    c = ARTIST_TRENDS.c
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                select(
                    c.artist_id,
                    c.views,
                    c.follows,
                    c.votes,
                    c.attendance,
                    c.growth,
                    c.upcoming,
                    c.as_of,
                ).order_by(c.artist_id)
            )
        ).all()
    assert [tuple(r) for r in stored] == [
        # 10 views now + 20 views 72 h ago = 10 + 20 * 0.5
        (1, 20.0, 5.0, 10.0, 5.0, pytest.approx(0.1, abs=1e-12), 1.0, NOW),
        (2, 20.0, 0.0, 0.0, 0.0, None, 0.25, NOW),
        (3, 0.0, 0.0, 0.0, 0.0, None, 0.0, NOW),
        (4, 0.0, 0.0, 0.0, 0.0, None, 0.0, NOW),
        (5, 0.0, 0.0, 0.0, 2.5, pytest.approx(0.35, abs=1e-12), 0.0, NOW),
        (6, 0.0, 0.0, 0.0, 0.0, None, 0.0, NOW),
        (7, 0.0, -1.0, 0.0, 0.0, pytest.approx(-0.1, abs=1e-12), 0.0, NOW),
    ]


async def test_top_lists_rank_by_score_then_id_for_ties(engine: AsyncEngine) -> None:
    await seed(engine)

    result = await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS, top=5)

    assert result.top_artists == (
        RankedEntity(1, "Artist 1", 64.0),
        RankedEntity(5, "Artist 5", 23.52),
        RankedEntity(7, "Artist 7", 18.0),
        RankedEntity(3, "Artist 3", 17.65),
        RankedEntity(4, "Artist 4", 17.65),
    )
    assert result.top_shows == (
        RankedEntity(1, "Show 1", 48.5),
        RankedEntity(3, "Show 3", 7.81),
        RankedEntity(4, "Show 4", 5.0),
    )  # show 2 (cancelled) scores 0: ranked lists hold positive scores only


async def test_an_event_weighs_half_as_much_per_half_life(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(ARTISTS.insert(), [artist(1, popularity=None, followers=None)])
    await add_events(
        engine,
        [
            *events("view", 1, artist_id=1),
            *events("view", 1, artist_id=1, at=NOW - timedelta(hours=72)),
            *events("view", 1, artist_id=1, at=NOW - timedelta(hours=144)),
            *events("view", 1, artist_id=1, at=NOW - timedelta(hours=216)),
        ],
    )

    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)

    async with engine.connect() as conn:
        views = await conn.scalar(select(ARTIST_TRENDS.c.views))
    assert views == 1.875  # 1 + 1/2 + 1/4 + 1/8
    # 10 * 1.875 / 21.875 / 55 * 100
    assert (await scores(engine, ARTIST_TRENDS))[1] == 1.56


async def test_growth_is_absent_without_an_earlier_snapshot_and_weights_renormalise(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            ARTISTS.insert(),
            [artist(1, popularity=50, followers=10), artist(2, popularity=50, followers=10)],
        )
        await conn.execute(
            SNAPSHOTS.insert(),
            [
                snapshot(1, date(2025, 6, 1), 2000),
                snapshot(1, date(2025, 5, 30), 1000),  # only 2 days earlier
                snapshot(2, date(2025, 6, 1), 2000),
                snapshot(2, date(2025, 5, 25), None),  # 7 days earlier, but no followers
            ],
        )

    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)

    # 30 * 0.5 / 85 * 100 for both: the growth weight left the denominator
    assert await scores(engine, ARTIST_TRENDS) == {1: 17.65, 2: 17.65}


async def test_growth_uses_the_latest_snapshot_with_followers(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(ARTISTS.insert(), [artist(1, popularity=None, followers=None)])
        await conn.execute(
            SNAPSHOTS.insert(),
            [
                snapshot(1, date(2025, 6, 1), None),  # today's sync had no followers
                snapshot(1, date(2025, 5, 31), 3000),
                snapshot(1, date(2025, 5, 24), 2000),
            ],
        )

    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)

    async with engine.connect() as conn:
        growth = await conn.scalar(select(ARTIST_TRENDS.c.growth))
    assert growth == 0.5  # (3000 - 2000) / 2000 over exactly 7 days
    # 15 * (0.5 / 0.52) / 70 * 100
    assert (await scores(engine, ARTIST_TRENDS))[1] == 20.6


async def test_future_events_do_not_count_until_they_happen(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(ARTISTS.insert(), [artist(1, popularity=None, followers=None)])
    await add_events(engine, events("view", 20, artist_id=1, at=NOW + timedelta(seconds=1)))

    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    assert await scores(engine, ARTIST_TRENDS) == {1: 0.0}

    await recalculate_trending(
        engine, mode="daily", now=NOW + timedelta(seconds=1), settings=SETTINGS
    )
    assert await scores(engine, ARTIST_TRENDS) == {1: 9.09}  # 10 * 0.5 / 55 * 100


async def test_rerunning_daily_on_the_same_day_replaces_that_days_history(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    async with engine.begin() as conn:
        await conn.execute(
            SHOWS.update()
            .where(SHOWS.c.id == 1)
            .values(status="cancelled", updated_at=NOW + timedelta(minutes=30))
        )

    result = await recalculate_trending(
        engine, mode="daily", now=NOW + timedelta(hours=1), settings=SETTINGS
    )

    history = await rows(engine, HISTORY)
    assert result.history_rows == 9
    assert len(history) == 9
    assert ("show", 1) not in {(r[0], r[1]) for r in history}  # its score is now 0


async def test_dry_run_ranks_without_writing_anything(engine: AsyncEngine) -> None:
    await seed(engine)

    result = await recalculate_trending(
        engine, mode="daily", now=NOW, settings=SETTINGS, dry_run=True, top=1
    )

    assert result.dry_run is True
    assert result.top_artists == (RankedEntity(1, "Artist 1", 64.0),)
    assert result.top_shows == (RankedEntity(1, "Show 1", 48.5),)
    assert result.history_rows == 10
    assert await scores(engine, ARTIST_TRENDS) == {}
    assert await scores(engine, SHOW_TRENDS) == {}
    assert await rows(engine, HISTORY) == []
    assert await rows(engine, WATERMARKS) == []


async def test_an_empty_database_scores_nothing_in_either_mode(engine: AsyncEngine) -> None:
    daily = await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    hourly = await recalculate_trending(
        engine, mode="hourly", now=NOW + timedelta(hours=1), settings=SETTINGS
    )

    assert daily.counts() == dict.fromkeys(daily.counts(), 0)
    assert hourly.counts() == dict.fromkeys(hourly.counts(), 0)
    assert (daily.top_artists, hourly.top_shows) == ((), ())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "weekly", "now": NOW}, "unknown trending mode 'weekly'"),
        ({"mode": "daily", "now": NOW.replace(tzinfo=None)}, "now must be timezone-aware"),
        ({"mode": "daily", "now": NOW, "top": -1}, "top must be >= 0"),
    ],
)
async def test_bad_arguments_are_refused_before_any_work(
    engine: AsyncEngine, kwargs: dict[str, object], message: str
) -> None:
    await seed(engine)

    with pytest.raises(ValueError, match=message):
        await recalculate_trending(engine, settings=SETTINGS, **kwargs)  # type: ignore[arg-type]

    assert await scores(engine, ARTIST_TRENDS) == {}


async def test_running_daily_twice_at_the_same_instant_rewrites_no_score(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    tables = (ARTIST_TRENDS, SHOW_TRENDS, HISTORY)
    before = [await rows(engine, table) for table in tables]

    again = await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)

    assert (again.full, again.artists_scored, again.shows_scored) == (False, 0, 0)
    assert again.history_rows == 10  # the day's rows, replaced by equal ones
    assert [await rows(engine, table) for table in tables] == before


async def test_growth_of_an_artist_with_hundreds_of_millions_of_followers_does_not_overflow(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(ARTISTS.insert(), [artist(1, popularity=None, followers=None)])
        await conn.execute(
            SNAPSHOTS.insert(),
            [
                snapshot(1, date(2025, 6, 1), 210_000_000),
                snapshot(1, date(2025, 5, 18), 200_000_000),  # 14 days: 2.8e9 > 2 ** 31
            ],
        )

    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)

    async with engine.connect() as conn:
        growth = await conn.scalar(select(ARTIST_TRENDS.c.growth))
    assert growth == 0.025  # +10 M over 200 M in two weeks
    assert await scores(engine, ARTIST_TRENDS) == {1: 11.9}  # 15 * (0.025 / 0.045) / 70 * 100
