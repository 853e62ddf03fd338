"""A full recomputation over existing state rewrites only the rows whose inputs it finds wrong.

The rows it keeps give the scores it would have written (their sums aged to now within
``SAME_SUM``); the rows it rewrites are the repairs: events deleted by hand, corrupted inputs, a
ranking bound too low, a missing row. Both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from models.trending import forget_artist_activity, recalculate_trending
from tests.trending.scenario import (
    ACTIVITY,
    ARTIST_TRENDS,
    NOW,
    SHOW_TRENDS,
    WATERMARKS,
    rows,
    scores,
    seed,
    trending_settings,
)

SETTINGS = trending_settings()
LATER = NOW + timedelta(hours=72)


async def _as_of(engine: AsyncEngine, table: object, key: str) -> dict[int, datetime | None]:
    async with engine.connect() as conn:
        t = table.c  # type: ignore[attr-defined]
        result = await conn.execute(select(t[key], t.as_of).order_by(t[key]))
        return {int(r[0]): r[1] for r in result}


async def _scratch_scores(engine: AsyncEngine, at: datetime) -> tuple[dict[int, float], ...]:
    """Every score after a full recomputation at ``at`` with no trending state at all."""
    async with engine.begin() as conn:
        for table in (ARTIST_TRENDS, SHOW_TRENDS, WATERMARKS):
            await conn.execute(delete(table))
    await recalculate_trending(engine, mode="full", now=at, settings=SETTINGS)
    return await scores(engine, ARTIST_TRENDS), await scores(engine, SHOW_TRENDS)


async def test_a_full_run_over_correct_state_rewrites_no_row(engine: AsyncEngine) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    artists_before, shows_before = (
        await rows(engine, ARTIST_TRENDS),
        await rows(engine, SHOW_TRENDS),
    )

    full = await recalculate_trending(engine, mode="full", now=LATER, settings=SETTINGS)

    assert full.full is True
    assert full.counts() == {
        "artists_added": 0,
        "shows_added": 0,
        "artists_scored": 1,  # artist 1: its only show ahead passed (upcoming, nearest show)
        "shows_scored": 0,
        "history_rows": 10,
    }
    after = await rows(engine, ARTIST_TRENDS)
    assert [r for r in after if r[0] != 1] == [r for r in artists_before if r[0] != 1]
    assert await rows(engine, SHOW_TRENDS) == shows_before  # as of NOW, aged when read
    kept = (await scores(engine, ARTIST_TRENDS), await scores(engine, SHOW_TRENDS))
    assert kept == await _scratch_scores(engine, LATER)


async def test_a_full_run_rewrites_exactly_the_rows_whose_inputs_are_wrong(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    async with engine.begin() as conn:
        # Events deleted by hand: show 4's attendance (so artist 5's too).
        await conn.execute(delete(ACTIVITY).where(ACTIVITY.c.show_id == 4))
        # Corrupted inputs: artist 3's popularity, show 1's ranking bound (too low to rank it).
        await conn.execute(
            update(ARTIST_TRENDS).where(ARTIST_TRENDS.c.artist_id == 3).values(popularity=99)
        )
        await conn.execute(update(SHOW_TRENDS).where(SHOW_TRENDS.c.show_id == 1).values(bound=0))
        # A missing row: artist 6's.
        await conn.execute(delete(ARTIST_TRENDS).where(ARTIST_TRENDS.c.artist_id == 6))

    full = await recalculate_trending(engine, mode="full", now=NOW, settings=SETTINGS)

    assert full.counts() == {
        "artists_added": 1,  # 6
        "shows_added": 0,
        "artists_scored": 3,  # 3, 5 and 6
        "shows_scored": 2,  # 1 and 4
        "history_rows": 9,  # show 4 scores 0 now: unranked
    }
    assert await _as_of(engine, ARTIST_TRENDS, "artist_id") == {k: NOW for k in range(1, 8)}
    repaired = (await scores(engine, ARTIST_TRENDS), await scores(engine, SHOW_TRENDS))
    assert repaired == await _scratch_scores(engine, NOW)
    assert repaired[1][4] == 0.0  # show 4 lost its only activity (completed: nothing else)


async def test_a_full_run_after_the_sums_moved_past_the_tolerance_rewrites_them(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    c = ARTIST_TRENDS.c
    async with engine.begin() as conn:  # 1e-9 relative: more than float noise, kept no more
        await conn.execute(
            update(ARTIST_TRENDS).where(c.artist_id == 2).values(views=c.views * (1 + 1e-9))
        )
        await conn.execute(
            update(ARTIST_TRENDS).where(c.artist_id == 1).values(views=c.views * (1 + 1e-14))
        )

    full = await recalculate_trending(engine, mode="full", now=NOW, settings=SETTINGS)

    assert (full.artists_scored, full.shows_scored) == (1, 0)  # 2 only: 1 is within SAME_SUM
    assert (await _as_of(engine, ARTIST_TRENDS, "artist_id"))[2] == NOW


async def test_a_full_run_rewrites_a_row_marked_for_a_recount_whose_inputs_did_not_change(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    before = await rows(engine, ARTIST_TRENDS)
    async with engine.begin() as conn:
        await forget_artist_activity(conn, artist_ids=[3])

    full = await recalculate_trending(engine, mode="full", now=NOW, settings=SETTINGS)

    assert (full.artists_scored, full.shows_scored) == (1, 0)  # 3 (it headlines no show)
    assert await rows(engine, ARTIST_TRENDS) == before  # as of NOW again, the same inputs
