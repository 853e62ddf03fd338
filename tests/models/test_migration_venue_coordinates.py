"""Revision 0005 moves a setlist.fm-only venue's city coordinates out of the venue's own."""

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
VENUES = "SELECT id, latitude, longitude, city_latitude, city_longitude FROM venues ORDER BY id"


async def test_0005_moves_setlistfm_city_coordinates_and_back(empty_database_url: str) -> None:
    url = empty_database_url
    await upgrade(url, "0004")
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO venues (id, ticketmaster_id, setlistfm_id, name, normalized_name,"
                    " latitude, longitude, created_at, updated_at) VALUES"
                    " (1, NULL, 's1', 'A', 'a', 40.5, -74.5, :at, :at),"
                    " (2, 'T2', 's2', 'B', 'b', 41.5, -73.5, :at, :at),"
                    " (3, 'T3', NULL, 'C', 'c', 42.5, -72.5, :at, :at),"
                    " (4, NULL, 's4', 'D', 'd', NULL, NULL, :at, :at)"
                ).bindparams(bindparam("at", type_=UTCDateTime)),
                {"at": AT},
            )
    finally:
        await engine.dispose()

    await upgrade(url, "0005")
    assert await sql_rows(url, VENUES) == [
        (1, None, None, 40.5, -74.5),  # setlist.fm only: the city's, moved
        (2, 41.5, -73.5, None, None),  # Ticketmaster's own, kept
        (3, 42.5, -72.5, None, None),
        (4, None, None, None, None),
    ]

    def downgrade(conn: Connection) -> None:
        config = _config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0004")

    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(downgrade)
    finally:
        await engine.dispose()
    assert await sql_rows(url, "SELECT id, latitude, longitude FROM venues ORDER BY id") == [
        (1, 40.5, -74.5),
        (2, 41.5, -73.5),
        (3, 42.5, -72.5),
        (4, None, None),
    ]
