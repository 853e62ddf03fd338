"""Revision 0012 (issue 15) drops the stored trending ``score``, adds the stored inputs and the
ranking key, indexes the change feed's columns and clears the event mark, so the first run
after it is a full recomputation: the scores read after it are the scores stored before it."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, inspect, text

from models.db import make_engine
from models.migrate import current_revision, downgrade, upgrade
from models.trending import recalculate_trending
from models.types import UTCDateTime
from tests.models.conftest import sql_rows
from tests.trending.scenario import (
    ARTIST_TRENDS,
    NOW,
    SHOW_TRENDS,
    WATERMARKS,
    scores,
    seed,
    trending_settings,
)
from tests.trending.test_scores import EXPECTED_ARTISTS, EXPECTED_SHOWS

NEW_ARTIST_COLUMNS = {"popularity", "growth_day", "upcoming_until"}
NEW_SHOW_COLUMNS = {"artist_id", "popularity", "cancelled", "ahead_date", "bound"}
FEED_INDEXES = {
    "shows": "ix_shows_updated",
    "artists": "ix_artists_updated",
    "artist_snapshots": "ix_artist_snapshots_captured",
    "trending_shows": "ix_trending_shows_rank",
}


async def _fill_at_0011(url: str) -> None:
    """The scenario's catalogue and events, and the trending rows and event mark a daily run
    at NOW left at 0011: the stored scores are the hand-computed ones (``test_scores.py``),
    the scores main's recalculation stored for this scenario."""
    await upgrade(url, "0011")
    engine = make_engine(url)
    try:
        await seed(engine)
        async with engine.begin() as conn:
            for artist_id, score in EXPECTED_ARTISTS.items():
                await conn.execute(
                    text(
                        "INSERT INTO trending_artists (artist_id, score, views, as_of)"
                        " VALUES (:id, :score, 1.5, :at)"
                    ).bindparams(bindparam("at", type_=UTCDateTime)),
                    {"id": artist_id, "score": score, "at": NOW},
                )
            for show_id, score in EXPECTED_SHOWS.items():
                await conn.execute(
                    text(
                        "INSERT INTO trending_shows (show_id, score, views, as_of)"
                        " VALUES (:id, :score, 2.5, :at)"
                    ).bindparams(bindparam("at", type_=UTCDateTime)),
                    {"id": show_id, "score": score, "at": NOW},
                )
            newest = await conn.scalar(text("SELECT max(id) FROM user_activity"))
            await conn.execute(
                insert(WATERMARKS).values(
                    name="trending", computed_at=NOW, mode="daily", event_id=newest
                )
            )
    finally:
        await engine.dispose()


async def _schema(url: str, table: str) -> tuple[set[str], set[str]]:
    """``table``'s column names and index names."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: (
                    {c["name"] for c in inspect(sync).get_columns(table)},
                    {str(i["name"]) for i in inspect(sync).get_indexes(table)},
                )
            )
    finally:
        await engine.dispose()


async def test_0012_keeps_the_rows_and_the_next_run_reads_the_scores_stored_before(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await _fill_at_0011(url)
    assert "score" in (await _schema(url, "trending_artists"))[0]

    await upgrade(url, "0012")

    assert await current_revision(url) == "0012"
    artist_columns, _ = await _schema(url, "trending_artists")
    show_columns, _ = await _schema(url, "trending_shows")
    assert "score" not in artist_columns | show_columns
    assert artist_columns >= NEW_ARTIST_COLUMNS
    assert show_columns >= NEW_SHOW_COLUMNS
    for table, index in FEED_INDEXES.items():
        assert index in (await _schema(url, table))[1], table
    # Rows kept with their sums; the event mark cleared: the next run recomputes everything.
    assert await sql_rows(
        url, "SELECT artist_id, views FROM trending_artists WHERE artist_id = 1"
    ) == [(1, 1.5)]
    assert await sql_rows(
        url, "SELECT show_id, views, bound FROM trending_shows WHERE show_id = 1"
    ) == [(1, 2.5, 0.0)]
    assert await sql_rows(url, "SELECT event_id FROM trending_watermarks") == [(None,)]

    # The code runs on the latest schema: the later revisions keep what 0012 left.
    await upgrade(url)
    engine = make_engine(url)
    try:
        run = await recalculate_trending(
            engine, mode="daily", now=NOW, settings=trending_settings()
        )
        assert run.full is True
        assert await scores(engine, ARTIST_TRENDS) == EXPECTED_ARTISTS
        assert await scores(engine, SHOW_TRENDS) == EXPECTED_SHOWS
    finally:
        await engine.dispose()


async def test_downgrading_0012_restores_the_score_column_and_clears_the_mark(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await _fill_at_0011(url)
    await upgrade(url, "0012")

    await downgrade(url, "0011")

    assert await current_revision(url) == "0011"
    artist_columns, _ = await _schema(url, "trending_artists")
    show_columns, show_indexes = await _schema(url, "trending_shows")
    assert "score" in artist_columns
    assert "score" in show_columns
    assert not (NEW_ARTIST_COLUMNS & artist_columns)
    assert not (NEW_SHOW_COLUMNS & show_columns)
    assert "ix_trending_shows_rank" not in show_indexes
    for table in ("shows", "artists", "artist_snapshots"):
        assert FEED_INDEXES[table] not in (await _schema(url, table))[1]
    # The rows are kept, score 0 until the next run (which recomputes: the mark is cleared).
    assert await sql_rows(url, "SELECT artist_id, score, views FROM trending_artists") == [
        (artist_id, 0.0, 1.5) for artist_id in sorted(EXPECTED_ARTISTS)
    ]
    assert await sql_rows(url, "SELECT event_id FROM trending_watermarks") == [(None,)]
