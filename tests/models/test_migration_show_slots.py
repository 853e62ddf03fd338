"""Revision 0009 merges duplicate shows (same artist, date and venue) and keeps every link."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from models.db import make_engine
from models.migrate import _config, upgrade
from models.types import UTCDateTime
from tests.models.conftest import sql_rows

AT = datetime(2026, 3, 10, 11, 30, tzinfo=UTC)
FILL = [
    "INSERT INTO artists (id, name, normalized_name, slug, sync_failures, trending_views,"
    " trending_follows, trending_votes, trending_attendance, trending_upcoming, created_at,"
    " updated_at) VALUES (1, 'A', 'a', 'a', 0, 0, 0, 0, 0, 0, :at, :at),"
    " (2, 'B', 'b', 'b', 0, 0, 0, 0, 0, 0, :at, :at)",
    # Venues 3 and 4: one venue stored once from each source; 5 and 6 the same name in two
    # states (two venues).
    "INSERT INTO venues (id, ticketmaster_id, setlistfm_id, name, normalized_name, city,"
    " state_code, country_code, latitude, longitude, city_latitude, city_longitude, created_at,"
    " updated_at) VALUES (1, 'TV', NULL, 'V', 'v', NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    " :at, :at), (2, NULL, 'SV', 'W', 'w', NULL, NULL, NULL, NULL, NULL, NULL, NULL, :at, :at),"
    " (3, 'T3', NULL, 'Hall', 'hall', 'Austin', 'TX', 'US', 30.27, -97.74, NULL, NULL, :at, :at),"
    " (4, NULL, 'S4', 'Hall', 'hall', 'austin', 'TX', 'US', NULL, NULL, 30.26, -97.75, :at, :at),"
    " (5, 'T5', NULL, 'Arena', 'arena', 'Portland', 'OR', 'US', NULL, NULL, NULL, NULL, :at, :at),"
    " (6, NULL, 'S6', 'Arena', 'arena', 'Portland', 'ME', 'US', NULL, NULL, 43.6, -70.3, :at, :at)",
    # Shows 1 and 2: one slot twice (Ticketmaster's and setlist.fm's); 3: another artist's.
    "INSERT INTO shows (id, ticketmaster_id, setlistfm_id, artist_id, venue_id, local_date,"
    " status, trending_views, trending_follows, trending_votes, trending_attendance,"
    " created_at, updated_at) VALUES"
    " (1, 'E1', NULL, 1, 1, '2026-03-01', 'upcoming', 0, 0, 0, 0, :at, :at),"
    " (2, NULL, 'S1', 1, 1, '2026-03-01', 'completed', 0, 0, 0, 0, :at, :at),"
    " (3, 'E3', NULL, 2, 2, '2026-03-01', 'upcoming', 0, 0, 0, 0, :at, :at),"
    # 4 and 5: one show at venue 3 and 4 (one venue): one slot once the venues are one.
    " (4, 'E4', NULL, 2, 3, '2026-03-05', 'upcoming', 0, 0, 0, 0, :at, :at),"
    " (5, NULL, 'S5', 2, 4, '2026-03-05', 'completed', 0, 0, 0, 0, :at, :at)",
    "INSERT INTO show_support_acts (show_id, artist_id, position) VALUES (2, 2, 1), (3, 1, 1)",
    "INSERT INTO setlists (id, setlistfm_id, version_id, artist_id, show_id, event_date,"
    " created_at, updated_at) VALUES (1, 'S1', 'v', 1, 2, '2026-03-01', :at, :at)",
    "INSERT INTO user_activity (id, user_id, kind, artist_id, show_id, occurred_at, received_at)"
    " VALUES (1, 'u', 'view', 1, 2, :at, :at), (2, 'u', 'view', 2, 3, :at, :at)",
    "INSERT INTO trending_shows (show_id, score, views, follows, votes, attendance, as_of)"
    " VALUES (1, 5, 1, 0, 0, 0, :at), (2, 7, 1, 0, 0, 0, :at), (3, 9, 1, 0, 0, 0, :at)",
]


async def test_0009_merges_duplicate_shows_and_keeps_every_link(empty_database_url: str) -> None:
    url = empty_database_url
    await upgrade(url, "0005")
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for sql in FILL:
                statement = text(sql)
                if ":at" in sql:
                    statement = statement.bindparams(bindparam("at", type_=UTCDateTime))
                await conn.execute(statement, {"at": AT} if ":at" in sql else {})
    finally:
        await engine.dispose()

    await upgrade(url, "0009")

    assert await sql_rows(
        url, "SELECT id, ticketmaster_id, setlistfm_id, status, venue_id FROM shows ORDER BY id"
    ) == [
        (1, "E1", "S1", "upcoming", 1),
        (3, "E3", None, "upcoming", 2),
        (4, "E4", "S5", "upcoming", 3),
    ]
    assert await sql_rows(
        url,
        "SELECT id, ticketmaster_id, setlistfm_id, latitude, city_latitude FROM venues ORDER BY id",
    ) == [
        (1, "TV", None, None, None),
        (2, None, "SV", None, None),
        (3, "T3", "S4", 30.27, 30.26),
        (5, "T5", None, None, None),
        (6, None, "S6", None, 43.6),
    ]
    assert await sql_rows(url, "SELECT id, show_id FROM setlists") == [(1, 1)]
    assert await sql_rows(url, "SELECT id, show_id FROM user_activity ORDER BY id") == [
        (1, 1),
        (2, 3),
    ]
    assert await sql_rows(
        url, "SELECT show_id, artist_id, position FROM show_support_acts ORDER BY show_id"
    ) == [(1, 2, 1), (3, 1, 1)]
    trending = await sql_rows(url, "SELECT show_id, score, as_of IS NULL FROM trending_shows")
    assert sorted(trending) == [(1, 5.0, True), (3, 9.0, False)]


async def test_0009_downgrades_delisted_to_upcoming_and_keeps_every_link(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await upgrade(url, "0005")
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for sql in FILL:
                statement = text(sql)
                if ":at" in sql:
                    statement = statement.bindparams(bindparam("at", type_=UTCDateTime))
                await conn.execute(statement, {"at": AT} if ":at" in sql else {})
    finally:
        await engine.dispose()
    await upgrade(url, "0009")
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE shows SET status = 'delisted' WHERE id = 3"))

        def downgrade(connection: Connection) -> None:
            config = _config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0008")

        async with engine.begin() as conn:
            await conn.run_sync(downgrade)
    finally:
        await engine.dispose()

    assert await sql_rows(url, "SELECT id, status FROM shows ORDER BY id") == [
        (1, "upcoming"),
        (3, "upcoming"),
        (4, "upcoming"),
    ]
    assert await sql_rows(url, "SELECT id, show_id FROM user_activity ORDER BY id") == [
        (1, 1),
        (2, 3),
    ]
    assert await sql_rows(
        url, "SELECT show_id, artist_id FROM show_support_acts ORDER BY show_id"
    ) == [
        (1, 2),
        (3, 1),
    ]
    assert await sql_rows(url, "SELECT id, show_id FROM setlists") == [(1, 1)]
