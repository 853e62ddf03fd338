"""Reconciling an artist's complete Ticketmaster listing against its stored shows (issue 12):
a show whose event was dropped or moved never becomes a phantom completion, and no artist has
two shows on one date at one venue."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from models.catalog import (
    Listing,
    SetlistRecord,
    ShowRecord,
    VenueRecord,
    complete_past_shows,
    past_shows_to_confirm,
    store_setlists,
    store_shows,
)
from models.tables import Show, ShowStatus
from tests.catalog.conftest import show_rows

TODAY = date(2026, 6, 1)
DAY = date(2026, 6, 12)
HALL = VenueRecord(
    name="Hall", ticketmaster_id="KovHall", city="Austin", state_code="TX", country_code="US"
)
CLUB = VenueRecord(
    name="Club", ticketmaster_id="KovClub", city="Austin", state_code="TX", country_code="US"
)


def _show(artist_id: int, tm_id: str, day: date = DAY, venue: VenueRecord = HALL) -> ShowRecord:
    return ShowRecord(
        ticketmaster_id=tm_id,
        artist_id=artist_id,
        local_date=day,
        status=ShowStatus.UPCOMING,
        venue=venue,
    )


def _listing(artist_id: int, *events: str, complete: bool = True) -> Listing:
    return Listing(
        artist_id=artist_id,
        event_ids=frozenset(events),
        first_day=TODAY,
        last_day=TODAY + timedelta(days=180),
        complete=complete,
    )


def _states(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(r["ticketmaster_id"], r["local_date"], r["status"]) for r in rows]


async def test_a_dropped_event_is_delisted_never_completed_and_comes_back(
    engine: AsyncEngine, artist_ids: list[int]
) -> None:
    alpha = artist_ids[0]
    async with engine.begin() as conn:
        await store_shows(conn, [_show(alpha, "E1"), _show(alpha, "E2", DAY + timedelta(1))])
        # Ticketmaster drops E2 from the artist's complete listing.
        await store_shows(conn, [_show(alpha, "E1")], listings=[_listing(alpha, "E1")])
        assert _states(await show_rows(conn)) == [
            ("E1", DAY, "upcoming"),
            ("E2", DAY + timedelta(1), "delisted"),
        ]
        # Its date passes: it is not completed (the phantom completion), and neither is E1
        # before Ticketmaster confirms it (it has no setlist): both wait for a lookup.
        later = DAY + timedelta(days=5)
        assert await complete_past_shows(conn, today=later) == 0
        assert [e for _, e in await past_shows_to_confirm(conn, today=later, limit=10)] == ["E1"]
        assert _states(await show_rows(conn)) == [
            ("E1", DAY, "upcoming"),
            ("E2", DAY + timedelta(1), "delisted"),
        ]
    async with engine.begin() as conn:
        # Listed again (before its date): upcoming again, same row.
        await store_shows(
            conn,
            [_show(alpha, "E2", DAY + timedelta(1))],
            listings=[_listing(alpha, "E1", "E2")],
        )
        assert [r["status"] for r in await show_rows(conn)] == ["upcoming", "upcoming"]


async def test_a_partial_listing_delists_nothing(
    engine: AsyncEngine, artist_ids: list[int]
) -> None:
    alpha = artist_ids[0]
    async with engine.begin() as conn:
        await store_shows(conn, [_show(alpha, "E1"), _show(alpha, "E2", DAY + timedelta(1))])
        await store_shows(
            conn, [_show(alpha, "E1")], listings=[_listing(alpha, "E1", complete=False)]
        )
        assert [r["status"] for r in await show_rows(conn)] == ["upcoming", "upcoming"]


async def test_only_the_listed_artist_and_window_are_reconciled(
    engine: AsyncEngine, artist_ids: list[int]
) -> None:
    alpha, beta = artist_ids
    far = TODAY + timedelta(days=200)
    async with engine.begin() as conn:
        await store_shows(
            conn,
            [
                _show(alpha, "E1"),
                _show(alpha, "FAR", far),  # beyond the listing's window
                _show(alpha, "TODAY", TODAY),  # its first day: a time zone away from the edge
                _show(beta, "B1"),  # another artist
            ],
        )
        await store_shows(conn, [], listings=[_listing(alpha)])
        assert sorted(_states(await show_rows(conn))) == [
            ("B1", DAY, "upcoming"),
            ("E1", DAY, "delisted"),
            ("FAR", far, "upcoming"),
            ("TODAY", TODAY, "upcoming"),
        ]


async def test_a_moved_event_updates_its_show(engine: AsyncEngine, artist_ids: list[int]) -> None:
    alpha = artist_ids[0]
    async with engine.begin() as conn:
        await store_shows(conn, [_show(alpha, "E1")])
        moved = _show(alpha, "E1", DAY + timedelta(days=3), CLUB)
        await store_shows(conn, [moved], listings=[_listing(alpha, "E1")])
        rows = await show_rows(conn)
    assert _states(rows) == [("E1", DAY + timedelta(days=3), "upcoming")]


async def test_an_event_relisted_under_a_new_id_takes_over_its_show(
    engine: AsyncEngine, artist_ids: list[int]
) -> None:
    alpha = artist_ids[0]
    async with engine.begin() as conn:
        await store_shows(conn, [_show(alpha, "OLD")])
        show_id = (await show_rows(conn))[0]["id"]
        await store_shows(conn, [_show(alpha, "NEW", DAY, CLUB)], listings=[_listing(alpha, "NEW")])
        rows = await show_rows(conn)
    assert [(r["id"], r["ticketmaster_id"], r["status"]) for r in rows] == [
        (show_id, "NEW", "upcoming")
    ]


async def test_two_events_in_one_slot_are_one_show(
    engine: AsyncEngine, artist_ids: list[int]
) -> None:
    """An early and a late show (two events, one artist, date and venue) are one show."""
    alpha = artist_ids[0]
    async with engine.begin() as conn:
        counts = await _store_twice(conn, [_show(alpha, "EARLY"), _show(alpha, "LATE")])
        rows = await show_rows(conn)
    assert _states(rows) == [("EARLY", DAY, "upcoming")]
    assert counts == 2


async def _store_twice(conn, records):  # type: ignore[no-untyped-def]
    from models.catalog import StoreCounts

    counts = StoreCounts()
    await store_shows(conn, records, counts=counts)
    await store_shows(conn, records[::-1], counts=counts)
    return counts.values["events_folded"]


async def test_a_setlist_in_a_taken_slot_joins_its_show(
    engine: AsyncEngine, artist_ids: list[int]
) -> None:
    alpha = artist_ids[0]
    venue = VenueRecord(
        name="Hall", setlistfm_id="s1", city="Austin", state_code="TX", country_code="US"
    )
    setlists = [
        SetlistRecord(setlistfm_id=sfm, version_id="v", event_date=DAY, venue=venue)
        for sfm in ("A1", "A2")
    ]
    async with engine.begin() as conn:
        await store_setlists(conn, alpha, setlists[:1], today=TODAY)
        await store_setlists(conn, alpha, setlists[1:], today=TODAY)
        rows = await show_rows(conn)
    assert [(r["setlistfm_id"], r["local_date"]) for r in rows] == [("A1", DAY)]


async def test_the_database_refuses_a_second_show_in_a_slot(
    engine: AsyncEngine, artist_ids: list[int]
) -> None:
    alpha = artist_ids[0]
    async with engine.begin() as conn:
        await store_shows(conn, [_show(alpha, "E1")])
        venue_id = (await show_rows(conn))[0]["venue_id"]
    table = Show.__table__  # type: ignore[attr-defined]
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(
                insert(table).values(artist_id=alpha, local_date=DAY, venue_id=venue_id)
            )
