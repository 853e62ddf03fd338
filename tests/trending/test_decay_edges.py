"""The decay is safe at any age: ancient events weigh exactly 0 and never stop a run.

PostgreSQL raised "value out of range: underflow" on ``power(2, -age / 72 h)`` for an event
older than about 8.8 years (an ``occurred_at`` of 0 is stored as 1970-01-01), and on the
proximity of a show centuries ahead; every daily run then failed. A weight is now exactly 0
beyond ``MIN_EXPONENT`` half-lives, and exactly ``2 ** MIN_EXPONENT`` at it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from models.trending import recalculate_trending
from models.trending.formula import Clock
from models.trending.sql import MIN_EXPONENT
from models.types import MIN_INSTANT
from tests.trending.scenario import (
    ACTIVITY,
    ARTIST_TRENDS,
    ARTISTS,
    NOW,
    SHOW_TRENDS,
    SHOWS,
    add_events,
    artist,
    events,
    scores,
    show,
    trending_settings,
)

SETTINGS = trending_settings()
HALF_LIFE = timedelta(hours=72)
AT_THE_EDGE = NOW - HALF_LIFE * -MIN_EXPONENT  # exactly 1,000 half-lives old
EDGES = [
    NOW,  # weight 1
    NOW - HALF_LIFE,  # 0.5
    AT_THE_EDGE,  # 2 ** -1000, the smallest weight counted
    AT_THE_EDGE - timedelta(seconds=1),  # 0
    datetime(1970, 1, 1, tzinfo=UTC),  # what an integer 0 is stored as
    MIN_INSTANT,  # 0001-01-02, the oldest instant both databases store alike
]


async def _weights(engine: AsyncEngine) -> list[float]:
    clock = Clock.at(NOW, SETTINGS)
    async with engine.connect() as conn:
        result = await conn.execute(
            select(clock.decay_since(ACTIVITY.c.occurred_at)).order_by(ACTIVITY.c.id)
        )
        return [float(value) for value in result.scalars()]


async def test_an_events_weight_is_exactly_0_beyond_1000_half_lives(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(ARTISTS.insert(), [artist(1, popularity=None, followers=None)])
    await add_events(engine, [e for at in EDGES for e in events("view", 1, artist_id=1, at=at)])

    assert await _weights(engine) == [1.0, 0.5, 2.0**-1000, 0.0, 0.0, 0.0]


async def test_ancient_events_and_a_show_centuries_ahead_never_stop_a_run(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(ARTISTS.insert(), [artist(1, popularity=50, followers=None)])
        await conn.execute(
            SHOWS.insert(),
            [
                show(1, artist_id=1, local_date=date(9999, 12, 30), status="upcoming"),
                show(2, artist_id=1, local_date=date(1, 1, 2), status="completed"),
            ],
        )
    ancient = [at for at in EDGES if at < NOW - HALF_LIFE]
    await add_events(
        engine,
        [
            *(e for at in ancient for e in events("view", 3, artist_id=1, show_id=1, at=at)),
            *(e for at in ancient for e in events("attendance", 2, artist_id=1, show_id=2, at=at)),
            *events("follow", 4, artist_id=1, at=datetime(9999, 12, 30, tzinfo=UTC)),
        ],
    )

    daily = await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    hourly = await recalculate_trending(
        engine, mode="hourly", now=NOW + timedelta(hours=1), settings=SETTINGS
    )
    full = await recalculate_trending(
        engine, mode="full", now=NOW + timedelta(hours=2), settings=SETTINGS
    )

    assert (daily.full, hourly.full, full.full) == (True, False, True)
    # Ancient events weigh (about) nothing: the artist keeps only its popularity, 30*0.5 / 85;
    # the show 8,000 years ahead has a proximity of 0, and the one of year 1 is past.
    assert await scores(engine, ARTIST_TRENDS) == {1: 17.65}
    assert await scores(engine, SHOW_TRENDS) == {1: 10.0, 2: 0.0}  # 20*0.5 / 100 * 100
    async with engine.connect() as conn:
        sums = (await conn.execute(select(ARTIST_TRENDS.c.views, ARTIST_TRENDS.c.follows))).one()
    assert tuple(sums) == (0.0, 0.0)  # 2 ** -1000 is negligible; the year-9999 follows wait


async def test_stored_sums_untouched_for_centuries_decay_to_0(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(ARTISTS.insert(), [artist(1, popularity=None, followers=None)])
    await add_events(engine, events("view", 20, artist_id=1))
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    async with engine.begin() as conn:  # as if the row had last been rebased in year 1
        await conn.execute(update(ARTIST_TRENDS).values(as_of=MIN_INSTANT))

    result = await recalculate_trending(
        engine, mode="hourly", now=NOW + timedelta(hours=1), settings=SETTINGS
    )

    assert result.artists_scored == 0  # no input changed: the score decays when read
    assert await scores(engine, ARTIST_TRENDS) == {1: 0.0}


@pytest.mark.parametrize("half_life_hours", [1.0, 72.0])
async def test_the_edge_follows_the_half_life(engine: AsyncEngine, half_life_hours: float) -> None:
    settings = trending_settings().model_copy(
        update={"trending_activity_half_life_hours": half_life_hours}
    )
    edge = NOW - timedelta(hours=half_life_hours) * -MIN_EXPONENT
    async with engine.begin() as conn:
        await conn.execute(ARTISTS.insert(), [artist(1, popularity=None, followers=None)])
    await add_events(
        engine,
        [
            *events("view", 1, artist_id=1, at=edge),
            *events("view", 1, artist_id=1, at=edge - timedelta(seconds=1)),
        ],
    )
    clock = Clock.at(NOW, settings)
    async with engine.connect() as conn:
        weights = (
            await conn.execute(
                select(clock.decay_since(ACTIVITY.c.occurred_at)).order_by(ACTIVITY.c.id)
            )
        ).scalars()
        assert [float(w) for w in weights] == [2.0**-1000, 0.0]
