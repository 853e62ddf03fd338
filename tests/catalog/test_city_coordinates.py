"""setlist.fm knows a venue's city, not the venue: its coordinates are the city centre's and are
kept apart from the venue's own (issue 12: 23 of 147 setlist.fm venues were 1-6 km off)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine

from clients.setlistfm import SfmSetlist
from models.catalog import store_setlists
from tasks.mapping import setlist_record
from tests.catalog.conftest import venue_rows

CITY_LAT, CITY_LONG = 40.7142691, -74.0059729

SETLIST = {
    "id": "63de4613",
    "versionId": "7be1aaa0",
    "eventDate": "05-08-2025",
    "artist": {"mbid": "a74b1b7f-71a5-4011-9441-d0b5e4122711", "name": "Alpha"},
    "venue": {
        "id": "6bd6ca6e",
        "name": "Madison Square Garden",
        "city": {
            "id": "5128581",
            "name": "New York",
            "stateCode": "NY",
            "coords": {"lat": CITY_LAT, "long": CITY_LONG},
            "country": {"code": "US", "name": "United States"},
        },
    },
    "sets": {"set": []},
}


async def test_a_setlistfm_venue_stores_its_city_coordinates_apart(
    engine: AsyncEngine, artist_ids: list[int]
) -> None:
    record = setlist_record(SfmSetlist.model_validate(SETLIST))
    async with engine.begin() as conn:
        await store_setlists(conn, artist_ids[0], [record], today=date(2025, 9, 1))
        rows = await venue_rows(conn)
    columns = ("setlistfm_id", "latitude", "longitude", "city_latitude", "city_longitude")
    assert [tuple(r.get(c) for c in columns) for r in rows] == [
        ("6bd6ca6e", None, None, CITY_LAT, CITY_LONG)
    ]
