"""Several days of random activity: every incremental run equals a full recomputation.

A seeded world (artists, shows, snapshots) lives through six days: events arrive between runs
(most in the window, some late, some dated in the future, a few decades old), shows are
cancelled, postponed and added, artists appear, popularity moves, followers are snapshotted, two
artists merge. After every hourly and daily run, a full recomputation from the raw events at the
same instant finds every row's inputs equal to the run's (it rewrites none); after every daily
run, the scores and the ranking of every artist and show equal those of a full recomputation
from scratch (all trending state deleted, rolled back), row for row; at the end, too, committed.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from models.artists import merge_artists
from models.trending import TrendingMode, TrendingResult, recalculate_trending
from models.trending.formula import Clock
from models.trending.scores import artist_scores, ranked
from tests.trending.scenario import (
    ACTIVITY,
    ARTIST_TRENDS,
    ARTISTS,
    SHOW_TRENDS,
    SHOWS,
    SNAPSHOTS,
    WATERMARKS,
    artist,
    scores,
    show,
    trending_settings,
)

SETTINGS = trending_settings()
START = datetime(2025, 6, 1, 7, 0, tzinfo=UTC)
DAYS = 6
ALL = 1000  # a ranking longer than the catalogue: every row
DAY = timedelta(days=1)
KINDS = ("view", "view", "view", "follow", "unfollow", "vote_up", "vote_down", "attendance")


class World:
    """The random catalogue and activity, written straight into the database."""

    def __init__(self, engine: AsyncEngine, seed: int) -> None:
        self.engine = engine
        self.rng = random.Random(seed)
        self.artists: list[int] = []
        self.shows: dict[int, int] = {}  # show id -> headliner
        self.events = 0

    async def build(self) -> None:
        rng = self.rng
        async with self.engine.begin() as conn:
            for artist_id in range(1, 13):
                await self._add_artist(conn, artist_id)
            for show_id in range(1, 31):
                await self._add_show(conn, show_id, START.date())
            rows = [
                {
                    "artist_id": a,
                    "day": START.date() - timedelta(days=d),
                    "followers": rng.choice([None, rng.randrange(500, 50_000)]),
                    "popularity": None,
                }
                for a in self.artists
                for d in range(1, 15)
                if rng.random() < 0.7
            ]
            await conn.execute(insert(SNAPSHOTS), rows)

    async def _add_artist(self, conn: Any, artist_id: int) -> None:
        popularity = self.rng.choice([None, self.rng.randrange(0, 101)])
        await conn.execute(
            insert(ARTISTS), [artist(artist_id, popularity=popularity, followers=None)]
        )
        self.artists.append(artist_id)

    async def _add_show(self, conn: Any, show_id: int, today: date) -> None:
        rng = self.rng
        headliner = rng.choice(self.artists)
        day = today + timedelta(days=rng.randrange(-20, 60))
        status = "completed" if day < today else rng.choice(["upcoming"] * 6 + ["postponed"])
        await conn.execute(
            insert(SHOWS), [show(show_id, artist_id=headliner, local_date=day, status=status)]
        )
        self.shows[show_id] = headliner

    async def activity(self, start: datetime, end: datetime) -> None:
        """Events posted between two runs at ``start`` and ``end``."""
        rng = self.rng
        rows = []
        for _ in range(rng.randrange(10, 40)):
            roll = rng.random()
            if roll < 0.7:
                at = start + (end - start) * rng.random()
            elif roll < 0.85:  # late: occurred before the previous run
                at = start - timedelta(hours=72) * rng.random()
            elif roll < 0.95:  # dated after the next run
                at = end + timedelta(hours=8) * rng.random()
            else:  # decades old
                at = rng.choice(
                    [datetime(1970, 1, 1, tzinfo=UTC), datetime(1999, 5, 1, tzinfo=UTC)]
                )
            kind = rng.choice(KINDS)
            show_id = rng.choice(list(self.shows)) if rng.random() < 0.5 else None
            artist_id = self.shows[show_id] if show_id else rng.choice(self.artists)
            self.events += 1
            rows.append(
                {
                    "user_id": f"u{self.events}",
                    "kind": kind,
                    "artist_id": artist_id,
                    "show_id": show_id,
                    "occurred_at": at.replace(microsecond=0),
                    "received_at": end,
                }
            )
        async with self.engine.begin() as conn:
            await conn.execute(insert(ACTIVITY), rows)

    async def catalogue_changes(self, at: datetime) -> None:
        """A day of sync: a cancellation, a postponement, a moved date, a new show and artist,
        new figures; each edit stamped ``updated_at`` (``captured_at``) = ``at``, as the sync
        stamps them."""
        rng = self.rng
        today = at.date()
        async with self.engine.begin() as conn:
            for status in ("cancelled", "postponed"):
                target = rng.choice(list(self.shows))
                await conn.execute(
                    update(SHOWS).where(SHOWS.c.id == target).values(status=status, updated_at=at)
                )
            target = rng.choice(list(self.shows))
            await conn.execute(
                update(SHOWS)
                .where(SHOWS.c.id == target)
                .values(local_date=today + timedelta(days=rng.randrange(0, 30)), updated_at=at)
            )
            await self._add_artist(conn, max(self.artists) + 1)
            await self._add_show(conn, max(self.shows) + 1, today)
            moved = rng.choice(self.artists)
            await conn.execute(
                update(ARTISTS)
                .where(ARTISTS.c.id == moved)
                .values(popularity=rng.randrange(0, 101), updated_at=at)
            )
            snapshots = [
                {
                    "artist_id": a,
                    "day": today,
                    "followers": rng.randrange(500, 50_000),
                    "popularity": None,
                    "captured_at": at,
                }
                for a in self.artists
                if rng.random() < 0.5
            ]
            await conn.execute(insert(SNAPSHOTS), snapshots)

    async def merge(self, *, now: datetime) -> None:
        survivor, loser = self.artists[0], self.artists[1]
        async with self.engine.begin() as conn:
            await merge_artists(conn, survivor_id=survivor, loser_id=loser, now=now)
        self.artists.remove(loser)
        self.shows = {s: survivor if a == loser else a for s, a in self.shows.items()}


async def _from_scratch(engine: AsyncEngine, at: datetime) -> TrendingResult:
    """A full recomputation at ``at`` with no trending state at all (rolled back), the state
    put back afterwards as it was."""
    tables = (ARTIST_TRENDS, SHOW_TRENDS, WATERMARKS)
    async with engine.begin() as conn:
        saved = [[dict(r) for r in (await conn.execute(select(t))).mappings()] for t in tables]
        for table in tables:
            await conn.execute(delete(table))
    try:
        return await recalculate_trending(
            engine, mode="full", now=at, settings=SETTINGS, dry_run=True, top=ALL
        )
    finally:
        async with engine.begin() as conn:
            for table, rows in zip(tables, saved, strict=True):
                if rows:
                    await conn.execute(insert(table), rows)


async def _assert_equals_full(engine: AsyncEngine, run: TrendingResult) -> None:
    """A full recomputation over the run's state finds every row's inputs equal to the
    recomputed ones (within ``SAME_SUM``): it rewrites none, and ranks as the run did."""
    over_state = await recalculate_trending(
        engine, mode="full", now=run.now, settings=SETTINGS, dry_run=True, top=ALL
    )
    assert (over_state.artists_scored, over_state.shows_scored) == (0, 0)
    assert (over_state.top_artists, over_state.top_shows) == (run.top_artists, run.top_shows)


async def _assert_equals_scratch(engine: AsyncEngine, run: TrendingResult) -> None:
    """The run's ranking and every row's score equal a full recomputation's from scratch
    (rolled back): a row missing from the full ranking scores 0 there."""
    full = await _from_scratch(engine, run.now)
    assert full.full is True
    assert run.top_artists == full.top_artists
    assert run.top_shows == full.top_shows
    artists, shows = await scores(engine, ARTIST_TRENDS), await scores(engine, SHOW_TRENDS)
    async with engine.connect() as conn:
        artist_ids = set((await conn.execute(select(ARTISTS.c.id))).scalars())
        show_ids = set((await conn.execute(select(SHOWS.c.id))).scalars())
    assert (set(artists), set(shows)) == (artist_ids, show_ids)  # every row scored
    assert (full.artists_scored, full.shows_scored) == (len(artist_ids), len(show_ids))
    full_artists = {r.id: r.score for r in full.top_artists}
    full_shows = {r.id: r.score for r in full.top_shows}
    assert artists == {key: full_artists.get(key, 0.0) for key in artist_ids}
    assert shows == {key: full_shows.get(key, 0.0) for key in show_ids}


async def _assert_bounds_hold(engine: AsyncEngine, at: datetime) -> None:
    """Every artist row has a ranking bound, and no score read from now on without another run
    (an hour, a day, nine days: growth gone stale, a month: shows passed, activity decayed)
    exceeds it; the top K of ``ranked``, which scores only the rows whose bound reaches its
    threshold, is the top K of every score."""
    async with engine.connect() as conn:
        bounds = dict(
            (await conn.execute(select(ARTIST_TRENDS.c.artist_id, ARTIST_TRENDS.c.bound))).all()
        )
        assert None not in bounds.values()
        for later in (timedelta(0), timedelta(hours=1), DAY, 9 * DAY, 30 * DAY):
            clock = Clock.at(at + later, SETTINGS)
            read = artist_scores(clock)
            found = dict((await conn.execute(select(read.c.id, read.c.score))).all())
            over = {i: (s, bounds[i]) for i, s in found.items() if s > bounds[i] + 0.005}
            assert over == {}, (later, over)
            best = sorted(((i, s) for i, s in found.items() if s > 0), key=lambda p: (-p[1], p[0]))
            for k in (1, 3, 5, len(best) // 2):
                got = await ranked(conn, clock, "artist", k, start=best[k - 1][1] + 1.0)
                assert [(r.id, r.score) for r in got] == best[:k], (later, k)


@pytest.mark.parametrize("seed", [15])
async def test_incremental_runs_over_random_days_equal_full_recomputations_row_for_row(
    engine: AsyncEngine, seed: int
) -> None:
    world = World(engine, seed)
    await world.build()
    first = await recalculate_trending(engine, mode="daily", now=START, settings=SETTINGS, top=ALL)
    assert first.full is True
    previous = START
    incremental_runs = 0
    for day in range(1, DAYS + 1):
        daily_at = START + timedelta(days=day)
        hours = sorted(previous + timedelta(hours=h) for h in world.rng.sample(range(1, 24), 2))
        for at in [*hours, daily_at]:
            await world.activity(previous, at)
            if at == daily_at:
                await world.catalogue_changes(at)
            if day == 3 and at == daily_at:
                await world.merge(now=at)
            mode: TrendingMode = "daily" if at == daily_at else "hourly"
            run = await recalculate_trending(engine, mode=mode, now=at, settings=SETTINGS, top=ALL)
            assert run.full is False
            incremental_runs += 1
            await _assert_equals_full(engine, run)
            await _assert_bounds_hold(engine, at)
            if mode == "daily":
                await _assert_equals_scratch(engine, run)
            previous = at
    assert incremental_runs == 3 * DAYS
    # The world really moved: every kind of change happened, and most rows were rescored.
    last_scores = (await scores(engine, ARTIST_TRENDS), await scores(engine, SHOW_TRENDS))
    assert (len(last_scores[0]), len(last_scores[1])) == (12 + DAYS - 1, 30 + DAYS)
    assert len({r.score for r in run.top_shows}) > 10
    async with engine.connect() as conn:
        future = await conn.scalar(select(func.count()).where(ACTIVITY.c.occurred_at > previous))
    assert (future or 0) > 0  # some events still wait for their time

    # From scratch: no state at all, one full run at the last instant.
    last = (await scores(engine, ARTIST_TRENDS), await scores(engine, SHOW_TRENDS))
    async with engine.begin() as conn:
        for table in (ARTIST_TRENDS, SHOW_TRENDS, WATERMARKS):
            await conn.execute(delete(table))
    scratch = await recalculate_trending(
        engine, mode="full", now=previous, settings=SETTINGS, top=ALL
    )
    assert (scratch.top_artists, scratch.top_shows) == (run.top_artists, run.top_shows)
    assert (await scores(engine, ARTIST_TRENDS), await scores(engine, SHOW_TRENDS)) == last
