"""Issue 15's new pieces on both databases: the change feed of incremental runs, the exact top-K
ranking of ``models.trending.scores.ranked`` and the upcoming-shows sum growing until the
nearest show passes. Every incremental result is compared with a full recomputation at the
same instant, row for row."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from models.trending import recalculate_trending
from models.trending.formula import Clock
from models.trending.scores import artist_scores, ranked, show_scores
from tests.trending.scenario import (
    ACTIVITY,
    ARTIST_TRENDS,
    ARTISTS,
    NOW,
    SHOW_TRENDS,
    SHOWS,
    SNAPSHOTS,
    TODAY,
    artist,
    scores,
    seed,
    show,
    snapshot,
    trending_settings,
)
from tests.trending.test_scores import EXPECTED_ARTISTS, EXPECTED_SHOWS

SETTINGS = trending_settings()
DAY = timedelta(days=1)


async def _read_at(engine: AsyncEngine, at: datetime) -> tuple[dict[int, float], ...]:
    """Every artist's and show's score read at ``at`` from the state as it is (no run)."""
    clock = Clock.at(at, SETTINGS)
    found: list[dict[int, float]] = []
    async with engine.connect() as conn:
        for subquery in (artist_scores(clock), show_scores(clock)):
            result = await conn.execute(select(subquery.c.id, subquery.c.score))
            found.append({int(r[0]): float(r[1]) for r in result.all()})
    return tuple(found)


async def _incremental_then_full(
    engine: AsyncEngine, at: datetime
) -> tuple[tuple[dict[int, float], ...], tuple[dict[int, float], ...], Any]:
    """An incremental daily run at ``at``, its scores, then a full recomputation's at ``at``."""
    run = await recalculate_trending(engine, mode="daily", now=at, settings=SETTINGS)
    assert run.full is False
    incremental = await scores(engine, ARTIST_TRENDS), await scores(engine, SHOW_TRENDS)
    full_run = await recalculate_trending(engine, mode="full", now=at, settings=SETTINGS)
    assert full_run.full is True
    full = await scores(engine, ARTIST_TRENDS), await scores(engine, SHOW_TRENDS)
    return incremental, full, run


async def _edit(engine: AsyncEngine, table: Any, row_id: int, **values: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(table).where(table.c.id == row_id).values(**values))


# --- The change feed --------------------------------------------------------------------------


async def test_a_show_cancelled_and_a_show_moved_are_picked_up_by_the_next_incremental_run(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    at = NOW + DAY
    # No event between the runs: only the feed (shows.updated_at) names these shows.
    await _edit(engine, SHOWS, 3, status="cancelled", updated_at=at - timedelta(hours=2))
    await _edit(engine, SHOWS, 1, local_date=date(2025, 6, 9), updated_at=at - timedelta(hours=2))

    incremental, full, run = await _incremental_then_full(engine, at)

    assert incremental == full
    # Show 3 cancelled scores 0; its headliner (artist 2) has no show ahead left: views only,
    # 10*(20*2**(-1/3)/(20*2**(-1/3)+20)) / 55 * 100 = 8.045 -> 8.05.
    assert (incremental[1][3], incremental[0][2]) == (0.0, 8.05)
    # Show 1 moved to 2025-06-09, 7 days after 2025-06-02: proximity 2**-0.5 (was past).
    assert incremental[1][1] == full[1][1] > 0.0
    assert (run.shows_scored, run.artists_scored) == (2, 2)


async def test_an_edit_committed_just_before_the_previous_run_is_not_missed(
    engine: AsyncEngine,
) -> None:
    """An edit stamped before the previous run but committed after it (a long sync
    transaction) is within the feed's overlap (``FEED_OVERLAP``, 1 h)."""
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    await _edit(engine, SHOWS, 3, status="cancelled", updated_at=NOW - timedelta(minutes=30))

    incremental, full, _ = await _incremental_then_full(engine, NOW + DAY)

    assert incremental == full
    assert incremental[1][3] == 0.0


async def test_a_popularity_change_is_picked_up_by_the_next_incremental_run(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    at = NOW + timedelta(hours=6)
    await _edit(engine, ARTISTS, 3, popularity=90, updated_at=at - timedelta(hours=1))

    incremental, full, _ = await _incremental_then_full(engine, at)

    assert incremental == full
    # 30*0.9 / 85 * 100 = 31.76 (was 17.65, tied with artist 4, which keeps 17.65).
    assert (incremental[0][3], incremental[0][4]) == (31.76, EXPECTED_ARTISTS[4])


async def test_a_new_snapshot_and_a_snapshot_ageing_out_of_the_growth_window(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    # Artist 1's latest snapshot (2025-06-01) is older than 7 days on 2025-06-09: its growth
    # leaves both sums. Artist 3 (no events: only the feed names it) gets snapshots of 5000
    # (2025-05-31) and 5500 followers (2025-06-08, captured between the runs): its growth
    # becomes measurable.
    at = NOW + 8 * DAY
    async with engine.begin() as conn:
        await conn.execute(
            insert(SNAPSHOTS),
            [
                {**snapshot(3, date(2025, 5, 31), 5000), "captured_at": NOW - DAY},
                {**snapshot(3, date(2025, 6, 8), 5500), "captured_at": at - timedelta(hours=3)},
            ],
        )
    read_before = await _read_at(engine, at)

    incremental, full, _ = await _incremental_then_full(engine, at)

    assert incremental == full
    # Artist 1 read at ``at`` from the first run's row (no run since) already drops growth.
    assert read_before[0][1] == incremental[0][1]
    # Artist 3: growth (5500 - 5000) / 5000 = 0.1 over 8 days, * 7/8 = 0.0875 a week:
    # 30*0.5 + 15*(0.0875/0.1075) = 27.209 -> 27.21 (was 17.65 without growth).
    assert (EXPECTED_ARTISTS[3], incremental[0][3]) == (17.65, 27.21)


# --- The upcoming-shows sum across its nearest show passing -----------------------------------


async def test_the_upcoming_sum_grows_until_the_nearest_show_passes_then_is_recounted(
    engine: AsyncEngine,
) -> None:
    """Artist 8: shows on 2025-06-03 and 2025-06-10. Its stored sum (as of 2025-06-01) grows by
    2**(days/14) while 2025-06-03 is ahead; from 2025-06-04 it is recounted from its shows.
    Read at each day without a run, it equals a full recomputation that day."""
    await seed(engine)
    async with engine.begin() as conn:
        await conn.execute(insert(ARTISTS), [artist(8, popularity=None, followers=None)])
        await conn.execute(
            insert(SHOWS),
            [
                show(10, artist_id=8, local_date=date(2025, 6, 3), status="upcoming"),
                show(11, artist_id=8, local_date=date(2025, 6, 10), status="upcoming"),
            ],
        )
        # The seed's views dated 2025-06-06 happen after the run: a read between runs cannot
        # see them (the next run counts them); a full run on day 9 does.
        await conn.execute(delete(ACTIVITY).where(ACTIVITY.c.occurred_at > NOW))
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    days = (1, 2, 3, 9, 10)
    read = {d: await _read_at(engine, NOW + d * DAY) for d in days}

    for d in days:
        await recalculate_trending(engine, mode="full", now=NOW + d * DAY, settings=SETTINGS)
        assert read[d] == (await scores(engine, ARTIST_TRENDS), await scores(engine, SHOW_TRENDS))
    # By hand, artist 8 (out of 55 points: upcoming 10): 2025-06-03 (day 2), both ahead:
    # u = 1 + 2**(-7/14) = 1.7071, 10*u/(u+1) / 55 * 100 = 11.465 -> 11.47; 2025-06-04
    # (day 3), one left: u = 2**(-6/14) = 0.7430, 7.750 -> 7.75; 2025-06-11: none left, 0.
    assert [read[d][0][8] for d in (2, 3, 10)] == [11.47, 7.75, 0.0]


# --- Exact top-K --------------------------------------------------------------------------------


async def _many_shows(engine: AsyncEngine) -> None:
    """The seed plus artists 20-23 (popularity 30, 50, 70, 90) with 60 shows spread over the
    next 41 days (scores across every threshold of the ranking), 4 duplicates of shows
    200-203 (same headliner and date: ties) and 3 past shows (score 0)."""
    await seed(engine)
    artists = [artist(20 + i, popularity=30 + 20 * i, followers=None) for i in range(4)]
    # venue NULL: several shows of one artist on one date are allowed.
    rows = [
        show(
            200 + i, artist_id=20 + i % 4, local_date=TODAY + (i * 7 % 41) * DAY, status="upcoming"
        )
        for i in range(60)
    ]
    rows += [
        show(300 + i, artist_id=20 + i, local_date=TODAY + (i * 7 % 41) * DAY, status="upcoming")
        for i in range(4)
    ]
    rows += [
        show(320 + i, artist_id=23, local_date=TODAY - 3 * DAY, status="upcoming") for i in range(3)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(ARTISTS), artists)
        await conn.execute(insert(SHOWS), rows)


async def _brute_force(engine: AsyncEngine, at: datetime, kind: str) -> list[tuple[int, float]]:
    """Every positive score at ``at``, best first, ties by id: what ``ranked`` must give."""
    read = await _read_at(engine, at)
    found = read[0] if kind == "artist" else read[1]
    return sorted(((i, s) for i, s in found.items() if s > 0), key=lambda p: (-p[1], p[0]))


async def test_ranked_is_the_exact_top_k_with_ties_by_id_for_every_k(engine: AsyncEngine) -> None:
    await _many_shows(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)

    for at in (NOW, NOW + timedelta(hours=30), NOW + 6 * DAY):
        for kind in ("show", "artist"):
            expected = await _brute_force(engine, at, kind)
            scores_seen = [s for _, s in expected]
            assert len(set(scores_seen)) < len(scores_seen)  # ties exist
            async with engine.connect() as conn:
                # Every small K, then every 5th, and past the number of positive scores.
                n = len(expected)
                for k in sorted({*range(1, 16), *range(16, n, 5), n - 1, n, n + 1, n + 2}):
                    got = await ranked(conn, Clock.at(at, SETTINGS), kind, k)
                    assert [(b.id, b.score) for b in got] == expected[:k], (at, kind, k)


async def test_a_k_larger_than_the_positive_scores_gives_only_the_positive_ones(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)

    async with engine.connect() as conn:
        shows = await ranked(conn, Clock.at(NOW, SETTINGS), "show", 50)
        nothing = await ranked(conn, Clock.at(NOW, SETTINGS), "show", 0)

    # Show 2 (cancelled) scores 0: not ranked.
    assert [(b.id, b.score) for b in shows] == [
        (1, EXPECTED_SHOWS[1]),
        (3, EXPECTED_SHOWS[3]),
        (4, EXPECTED_SHOWS[4]),
    ]
    assert nothing == []


async def test_an_artists_ranking_bound_covers_its_growth_going_stale(engine: AsyncEngine) -> None:
    """Falling followers score 0 of growth's 15 points; once the latest snapshot is over 7 days
    old, growth drops out of the score and its weight out of the denominator, so the score
    rises without a run: the stored bound is the larger of the two."""
    async with engine.begin() as conn:
        await conn.execute(insert(ARTISTS), [artist(1, popularity=80, followers=10_000)])
        await conn.execute(
            insert(SNAPSHOTS),
            [snapshot(1, TODAY - 8 * DAY, 20_000), snapshot(1, TODAY - DAY, 10_000)],
        )
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    async with engine.connect() as conn:
        row = (await conn.execute(select(ARTIST_TRENDS.c.growth, ARTIST_TRENDS.c.bound))).one()
    # 100 * 30 * 0.8 / (30 + 15 + 55) = 24.0 with growth; / (30 + 55) = 28.235... without.
    assert row.growth < 0
    assert abs(row.bound - 2400 / 85) < 1e-9
    now, stale = await _read_at(engine, NOW), await _read_at(engine, NOW + 8 * DAY)
    assert (now[0][1], stale[0][1]) == (24.0, 28.24)
    async with engine.connect() as conn:
        best = await ranked(conn, Clock.at(NOW + 8 * DAY, SETTINGS), "artist", 1, start=28.0)
    assert [(b.id, b.score) for b in best] == [(1, 28.24)]
