"""Issue 12 defect: follower snapshots were taken daily for every artist, but followers are read
from Spotify for only ``limit`` artists a day; a value not read again was copied into the next
snapshots, so growth alternated between 0 and jumps and was measured over the wrong interval.
Now a snapshot records followers only when they were read since the artist's previous one, with
the instant they were read, and growth is measured between real reads over the real interval."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from models.artists import ArtistCandidate
from models.trending import recalculate_trending
from tasks.store import Writer, finish_master_sync, import_artists
from tests.trending.scenario import ARTIST_TRENDS, SNAPSHOTS, trending_settings

DAY1 = date(2025, 6, 1)


def _at(day: int, hour: int = 6) -> datetime:
    return datetime(2025, 6, day, hour, 0, tzinfo=UTC)


def _read(followers: int) -> ArtistCandidate:
    return ArtistCandidate(name="Artist", spotify_id="sp1", popularity=50, followers=followers)


async def _snapshots(engine: AsyncEngine) -> list[tuple[date, int | None, datetime | None]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(SNAPSHOTS.c.day, SNAPSHOTS.c.followers, SNAPSHOTS.c.followers_read_at).order_by(
                SNAPSHOTS.c.day
            )
        )
        return [tuple(row) for row in rows]


async def test_snapshots_record_real_reads_and_growth_spans_the_real_interval(
    engine: AsyncEngine,
) -> None:
    writer = Writer(engine)
    # Followers read on day 1 at 06:00 and on day 9 at 18:00; a snapshot every day after that.
    reads = {1: (_at(1), 1000), 9: (_at(9, 18), 1800)}
    for day in range(1, 11):
        if day in reads:
            when, followers = reads[day]
            await import_artists(writer, [_read(followers)], create=day == 1, now=when)
        await finish_master_sync(writer, today=date(2025, 6, day), snapshot=True)

    snapshots = await _snapshots(engine)
    assert len(snapshots) == 10
    with_followers = [(day, followers, read) for day, followers, read in snapshots if followers]
    assert with_followers == [(DAY1, 1000, _at(1)), (date(2025, 6, 9), 1800, _at(9, 18))]
    # days 2-8 and 10 read nothing: no copy of an earlier read
    assert [followers for _, followers, _ in snapshots] == [1000, *[None] * 7, 1800, None]

    await recalculate_trending(engine, mode="full", now=_at(10, 7), settings=trending_settings())
    async with engine.connect() as conn:
        growth = (await conn.execute(select(ARTIST_TRENDS.c.growth))).scalar_one()
    # +800 over 8.5 days between the reads, per 7 days, against 1,000 followers
    assert growth == 800 * 7 / (1000 * 8.5)


async def test_a_second_snapshot_the_same_day_keeps_the_read_it_recorded(
    engine: AsyncEngine,
) -> None:
    writer = Writer(engine)
    await import_artists(writer, [_read(1000)], create=True, now=_at(1))
    await finish_master_sync(writer, today=DAY1, snapshot=True)
    await finish_master_sync(writer, today=DAY1, snapshot=True)  # a second run that day
    await finish_master_sync(writer, today=date(2025, 6, 2), snapshot=True)
    assert await _snapshots(engine) == [
        (DAY1, 1000, _at(1)),
        (date(2025, 6, 2), None, None),
    ]
