"""Revision 0006 drops the old ``artists.trending_*`` / ``shows.trending_*`` columns and keeps
every catalogue and trending row (SQLite drops the columns in place: no rebuild, no cascade)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import bindparam, inspect, text

from models.db import make_engine
from models.migrate import current_revision, downgrade, upgrade
from models.types import UTCDateTime
from tests.models.conftest import sql_rows

AT = datetime(2026, 3, 10, 11, 30, tzinfo=UTC)
_TRENDING_ROWS = (
    "SELECT artist_id, score, views FROM trending_artists",
    "SELECT show_id, score, views FROM trending_shows",
)


async def _fill_at_0005(url: str) -> None:
    await upgrade(url, "0005")
    engine = make_engine(url)
    at = {"at": AT}
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO artists (id, name, normalized_name, slug, sync_failures,"
                    " trending_score, trending_views, trending_follows, trending_votes,"
                    " trending_attendance, trending_upcoming, created_at, updated_at)"
                    " VALUES (1, 'A', 'a', 'a', 0, 12.5, 1, 0, 0, 0, 0, :at, :at)"
                ).bindparams(bindparam("at", type_=UTCDateTime)),
                at,
            )
            await conn.execute(
                text(
                    "INSERT INTO shows (id, artist_id, local_date, status, trending_score,"
                    " trending_views, trending_follows, trending_votes, trending_attendance,"
                    " created_at, updated_at)"
                    " VALUES (7, 1, :day, 'upcoming', 3.5, 2, 0, 0, 0, :at, :at)"
                ).bindparams(bindparam("at", type_=UTCDateTime)),
                {**at, "day": date(2026, 4, 1)},
            )
            await conn.execute(
                text("INSERT INTO trending_artists (artist_id, score, views) VALUES (1, 40.5, 3)")
            )
            await conn.execute(
                text("INSERT INTO trending_shows (show_id, score, views) VALUES (7, 20.25, 4)")
            )
    finally:
        await engine.dispose()


async def _columns(url: str, table: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns(table)}
            )
    finally:
        await engine.dispose()


async def test_0006_drops_the_old_columns_and_keeps_every_row(empty_database_url: str) -> None:
    url = empty_database_url
    await _fill_at_0005(url)
    assert "trending_score" in await _columns(url, "artists")

    await upgrade(url, "0006")

    assert await current_revision(url) == "0006"
    for table in ("artists", "shows"):
        assert not {c for c in await _columns(url, table) if c.startswith("trending")}
    assert await sql_rows(url, "SELECT id, name FROM artists") == [(1, "A")]
    assert await sql_rows(url, "SELECT id, artist_id FROM shows") == [(7, 1)]
    assert await sql_rows(url, _TRENDING_ROWS[0]) == [(1, 40.5, 3.0)]
    assert await sql_rows(url, _TRENDING_ROWS[1]) == [(7, 20.25, 4.0)]


async def test_downgrading_0006_adds_the_columns_back_empty(empty_database_url: str) -> None:
    url = empty_database_url
    await _fill_at_0005(url)
    await upgrade(url, "0006")

    await downgrade(url, "0005")

    assert await current_revision(url) == "0005"
    assert await sql_rows(
        url, "SELECT id, trending_score, trending_views, trending_growth FROM artists"
    ) == [(1, None, 0.0, None)]
    assert await sql_rows(url, "SELECT id, trending_score, trending_attendance FROM shows") == [
        (7, None, 0.0)
    ]
    assert await sql_rows(url, _TRENDING_ROWS[1]) == [(7, 20.25, 4.0)]
