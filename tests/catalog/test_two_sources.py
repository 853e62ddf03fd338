"""A venue or a show first seen from one source is matched when the other brings it, in both
directions; two different venues are never merged (issue 12)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from models.catalog import SetlistRecord, ShowRecord, VenueRecord, store_setlists, store_shows
from models.tables import ShowStatus
from tests.catalog.conftest import show_rows, venue_rows

DAY = date(2026, 6, 12)
TODAY = date(2026, 6, 1)

# Madison Square Garden as each source knows it: Ticketmaster has the venue's own position,
# setlist.fm only the centre of New York (4.4 km away).
TM_MSG = VenueRecord(
    name="Madison Square Garden",
    ticketmaster_id="KovZpZA7AAEA",
    city="New York",
    state_code="NY",
    country_code="US",
    postal_code="10001",
    latitude=40.750504,
    longitude=-73.993439,
)
SFM_MSG = VenueRecord(
    name="Madison Square Garden",
    setlistfm_id="6bd6ca6e",
    city="New York",
    state_code="NY",
    country_code="US",
    city_latitude=40.7142691,
    city_longitude=-74.0059729,
)


def _show(artist_id: int, venue: VenueRecord | None, tm_id: str = "G5vYZ9") -> ShowRecord:
    return ShowRecord(
        ticketmaster_id=tm_id,
        artist_id=artist_id,
        local_date=DAY,
        status=ShowStatus.UPCOMING,
        venue=venue,
        name="Alpha at MSG",
    )


def _setlist(venue: VenueRecord | None, sfm_id: str = "63de4613") -> SetlistRecord:
    return SetlistRecord(setlistfm_id=sfm_id, version_id="v1", event_date=DAY, venue=venue)


VENUE_COLUMNS = ("ticketmaster_id", "setlistfm_id", "latitude", "longitude", "city_latitude")


def _venues(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(row[c] for c in VENUE_COLUMNS) for row in rows]


BOTH = ("KovZpZA7AAEA", "6bd6ca6e", 40.750504, -73.993439, 40.7142691)


@pytest.mark.parametrize("first", ["ticketmaster", "setlistfm"])
async def test_a_venue_and_its_show_are_one_row_whichever_source_came_first(
    engine: AsyncEngine, artist_ids: list[int], first: str
) -> None:
    alpha = artist_ids[0]
    async with engine.begin() as conn:
        if first == "ticketmaster":
            await store_shows(conn, [_show(alpha, TM_MSG)])
            await store_setlists(conn, alpha, [_setlist(SFM_MSG)], today=TODAY)
        else:
            await store_setlists(conn, alpha, [_setlist(SFM_MSG)], today=TODAY)
            await store_shows(conn, [_show(alpha, TM_MSG)])
        venues = await venue_rows(conn)
        shows = await show_rows(conn)
    assert _venues(venues) == [BOTH]
    assert [(s["ticketmaster_id"], s["setlistfm_id"], s["venue_id"]) for s in shows] == [
        ("G5vYZ9", "63de4613", venues[0]["id"])
    ]


async def test_matching_twice_changes_nothing(engine: AsyncEngine, artist_ids: list[int]) -> None:
    alpha = artist_ids[0]
    async with engine.begin() as conn:
        await store_setlists(conn, alpha, [_setlist(SFM_MSG)], today=TODAY)
        await store_shows(conn, [_show(alpha, TM_MSG)])
        before = (await venue_rows(conn), await show_rows(conn))
        await store_shows(conn, [_show(alpha, TM_MSG)])
        await store_setlists(conn, alpha, [_setlist(SFM_MSG, "63de4613")], today=TODAY)
        assert (await venue_rows(conn), await show_rows(conn)) == before


def _other(**changes: Any) -> VenueRecord:
    fields = {**SFM_MSG.__dict__, **changes}
    return VenueRecord(**fields)


@pytest.mark.parametrize(
    "setlistfm_venue",
    [
        _other(city="Newark"),  # another city
        _other(state_code="NJ"),  # New York, but another state's
        _other(country_code="GB"),  # another country
        _other(country_code=None),  # a country unknown: not enough to tell
        _other(city=None),
        _other(city_latitude=34.05, city_longitude=-118.24),  # a city 3,900 km away
        _other(name="Madison Square Garden Theater"),
    ],
    ids=["city", "state", "country", "no-country", "no-city", "far", "name"],
)
async def test_two_different_venues_are_never_merged(
    engine: AsyncEngine, artist_ids: list[int], setlistfm_venue: VenueRecord
) -> None:
    alpha = artist_ids[0]
    async with engine.begin() as conn:
        await store_setlists(conn, alpha, [_setlist(setlistfm_venue)], today=TODAY)
        await store_shows(conn, [_show(alpha, TM_MSG)])
        venues = await venue_rows(conn)
    assert [(v["ticketmaster_id"], v["setlistfm_id"]) for v in venues] == [
        (None, "6bd6ca6e"),
        ("KovZpZA7AAEA", None),
    ]


async def test_two_stored_candidates_are_ambiguous_and_neither_is_linked(
    engine: AsyncEngine, artist_ids: list[int]
) -> None:
    alpha = artist_ids[0]
    twin = _other(setlistfm_id="7bd6ca6f")
    async with engine.begin() as conn:
        await store_setlists(
            conn, alpha, [_setlist(SFM_MSG), _setlist(twin, "73de4614")], today=TODAY
        )
        await store_shows(conn, [_show(alpha, TM_MSG)])
        venues = await venue_rows(conn)
    assert sorted((v["ticketmaster_id"] or "", v["setlistfm_id"] or "") for v in venues) == [
        ("", "6bd6ca6e"),
        ("", "7bd6ca6f"),
        ("KovZpZA7AAEA", ""),
    ]


async def test_of_two_shows_that_day_the_one_at_the_same_venue_is_matched(
    engine: AsyncEngine, artist_ids: list[int]
) -> None:
    alpha = artist_ids[0]
    elsewhere = _other(setlistfm_id="1234abcd", name="Irving Plaza")
    async with engine.begin() as conn:
        await store_setlists(
            conn, alpha, [_setlist(elsewhere, "13de4613"), _setlist(SFM_MSG)], today=TODAY
        )
        await store_shows(conn, [_show(alpha, TM_MSG)])
        shows = await show_rows(conn)
    assert sorted((s["ticketmaster_id"] or "", s["setlistfm_id"] or "") for s in shows) == [
        ("", "13de4613"),
        ("G5vYZ9", "63de4613"),
    ]


async def test_another_artists_show_is_never_matched(
    engine: AsyncEngine, artist_ids: list[int]
) -> None:
    alpha, beta = artist_ids
    async with engine.begin() as conn:
        await store_setlists(conn, beta, [_setlist(SFM_MSG)], today=TODAY)
        await store_shows(conn, [_show(alpha, TM_MSG)])
        shows = await show_rows(conn)
    assert sorted((s["artist_id"], s["ticketmaster_id"] or "") for s in shows) == [
        (alpha, "G5vYZ9"),
        (beta, ""),
    ]
